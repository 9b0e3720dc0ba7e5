//! Tax rates: what each member role and each API key role may do, cell by cell over real HTTP,
//! checked by what actually changed (as the founder sees it afterwards). Its own small table so
//! the shared matrix stays untouched by this feature.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{Caller, Team};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    RatesList,
    RateCreate,
    RateUpdate,
    RateDeactivate,
    RateDelete,
    Calculate,
    ValidateNumber,
}

const Y: bool = true;
const N: bool = false;

/// Written out by hand: the specification, deliberately not derived from `Role::can`.
#[rustfmt::skip]
const TAX_PERMISSIONS: &[(Op, [bool; 5])] = &[
    //                     owner admin developer analyst viewer
    (Op::RatesList,       [Y,    Y,    Y,        Y,      N]),
    (Op::RateCreate,      [Y,    Y,    N,        N,      N]),
    (Op::RateUpdate,      [Y,    Y,    N,        N,      N]),
    (Op::RateDeactivate,  [Y,    Y,    N,        N,      N]),
    (Op::RateDelete,      [Y,    Y,    N,        N,      N]),
    (Op::Calculate,       [Y,    Y,    Y,        Y,      N]),
    (Op::ValidateNumber,  [Y,    Y,    Y,        Y,      N]),
];

async fn founders_rates(app: &TestApp, team: &Team) -> Vec<Value> {
    let (status, body) = team.founder().get(app, "/api/v1/tax-rates?limit=100").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().unwrap().clone()
}

/// A fresh rate in a country of its own (two letters from the tag), made by the founder.
async fn fresh_rate(app: &TestApp, team: &Team, n: usize) -> String {
    let country = format!("{}{}", (b'A' + (n / 26 % 26) as u8) as char, (b'A' + (n % 26) as u8) as char);
    let (status, rate) =
        team.founder().post(app, "/api/v1/tax-rates", json!({ "name": format!("target {n}"), "country": country, "percentage": "10" })).await;
    assert_eq!(status, StatusCode::CREATED, "{rate}");
    rate["id"].as_str().unwrap().to_owned()
}

/// Performs `op` as `caller`; `(status, body, took_effect)`.
async fn attempt(app: &TestApp, team: &Team, caller: &Caller, op: Op, n: usize) -> (StatusCode, Value, bool) {
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    match op {
        Op::RatesList => {
            let (s, b) = caller.get(app, "/api/v1/tax-rates").await;
            let ok = b["object"] == "list";
            (s, b, ok)
        }
        Op::RateCreate => {
            let name = format!("rate by {} {tag}", caller.label);
            let (s, b) = caller
                .post(app, "/api/v1/tax-rates", json!({ "name": name, "country": "DE", "region": format!("{}", n % 1000), "percentage": "19" }))
                .await;
            let ok = founders_rates(app, team).await.iter().any(|r| r["name"] == name.as_str());
            (s, b, ok)
        }
        Op::RateUpdate => {
            let id = fresh_rate(app, team, n).await;
            let (s, b) = caller.call(app, Method::PATCH, &format!("/api/v1/tax-rates/{id}"), Some(json!({ "percentage": "12.5" }))).await;
            let ok = founders_rates(app, team).await.iter().any(|r| r["id"] == id.as_str() && r["percentage"] == "12.5");
            (s, b, ok)
        }
        Op::RateDeactivate => {
            let id = fresh_rate(app, team, n).await;
            let (s, b) = caller.call(app, Method::PATCH, &format!("/api/v1/tax-rates/{id}"), Some(json!({ "active": false }))).await;
            let ok = founders_rates(app, team).await.iter().any(|r| r["id"] == id.as_str() && r["active"] == false);
            (s, b, ok)
        }
        Op::RateDelete => {
            let id = fresh_rate(app, team, n).await;
            let (s, b) = caller.delete(app, &format!("/api/v1/tax-rates/{id}")).await;
            let ok = !founders_rates(app, team).await.iter().any(|r| r["id"] == id.as_str());
            (s, b, ok)
        }
        Op::Calculate => {
            let (s, b) = caller.post(app, "/api/v1/tax/calculate", json!({ "amount": 1000, "currency": "eur", "country": "FR" })).await;
            let ok = b["object"] == "tax_calculation" && b["total"] == 1000;
            (s, b, ok)
        }
        Op::ValidateNumber => {
            let (s, b) = caller.post(app, "/api/v1/tax/validate-number", json!({ "number": "DE136695976" })).await;
            let ok = b["valid"] == true;
            (s, b, ok)
        }
    }
}

async fn check(app: &TestApp, team: &Team, callers: &[Caller; 5]) {
    let mut wrong = Vec::new();
    let mut n = 0;
    for (op, allowed_per_role) in TAX_PERMISSIONS {
        for (i, caller) in callers.iter().enumerate() {
            n += 1;
            let allowed = allowed_per_role[i];
            let (status, body, took_effect) = attempt(app, team, caller, *op, n).await;
            let success = if *op == Op::RateCreate { StatusCode::CREATED } else { StatusCode::OK };
            let problem = if allowed {
                if status != success {
                    Some(format!("expected {success} but got {status}: {body}"))
                } else if !took_effect {
                    Some(format!("answered {status} but nothing happened: {body}"))
                } else {
                    None
                }
            } else if status != StatusCode::FORBIDDEN || body["error"]["code"] != "insufficient_role" {
                Some(format!("expected 403 insufficient_role but got {status}: {body}"))
            } else if !matches!(op, Op::RatesList | Op::Calculate | Op::ValidateNumber) && took_effect {
                Some("refused with 403, yet the change happened".into())
            } else {
                None
            };
            if let Some(p) = problem {
                let should = if allowed { "allowed" } else { "denied" };
                wrong.push(format!("{:<16} {op:?} (should be {should}): {p}", caller.label));
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells disagree with the table:\n{}", wrong.len(), wrong.join("\n"));
}

both_backends! {
    async fn each_member_role_may_manage_tax_rates_exactly_as_the_table_says(app: TestApp) {
        let team = Team::found(&app, "tax-founder").await;
        let callers = team.member_per_role(&app).await;
        check(&app, &team, &callers).await;
    }
}

both_backends! {
    async fn each_api_key_role_may_manage_tax_rates_exactly_as_the_table_says(app: TestApp) {
        let team = Team::found(&app, "tax-founder").await;
        let callers = team.key_per_role(&app).await;
        check(&app, &team, &callers).await;
    }
}
