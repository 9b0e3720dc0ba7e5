//! Customer balances and currencies (issue 7): what each role may do — for members and for API
//! keys — cell by cell over real HTTP, each write checked afterwards as the founder sees it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::TestApp;
use crate::support::{Caller, Team, ROLES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CurrenciesList,
    CurrencyActivate,
    CustomersList,
    CustomerRead,
    CustomersExport,
    LedgerRead,
    BalanceCredit,
    BalanceDebit,
}

const Y: bool = true;
const N: bool = false;

/// Written out by hand (not derived from `Role::can`): reads like payments, the export for
/// analysts and up, balance and currency changes for admins and owners only.
#[rustfmt::skip]
const PERMISSIONS: &[(Op, [bool; 5])] = &[
    //                        owner admin developer analyst viewer
    (Op::CurrenciesList,    [Y,    Y,    Y,        Y,      Y]),
    (Op::CurrencyActivate,  [Y,    Y,    N,        N,      N]),
    (Op::CustomersList,     [Y,    Y,    Y,        Y,      Y]),
    (Op::CustomerRead,      [Y,    Y,    Y,        Y,      Y]),
    (Op::CustomersExport,   [Y,    Y,    Y,        Y,      N]),
    (Op::LedgerRead,        [Y,    Y,    Y,        Y,      Y]),
    (Op::BalanceCredit,     [Y,    Y,    N,        N,      N]),
    (Op::BalanceDebit,      [Y,    Y,    N,        N,      N]),
];

/// Currencies for the activation cells: each cell activates one nobody touched before.
const FRESH_CURRENCIES: [&str; 10] = ["aud", "cad", "chf", "dkk", "eur", "gbp", "jpy", "nok", "sek", "sgd"];

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

async fn new_customer(app: &TestApp, team: &Team) -> String {
    let id = format!("cst_{}", tag());
    app.execute(&format!(
        "INSERT INTO customers (id, tenant_id, stripe_customer_id, email, name, created_at, updated_at) VALUES ('{id}', '{}', 'cus_{}', 'c@example.com', 'C', 1000, 1000)",
        team.tenant,
        tag()
    ))
    .await;
    id
}

/// A POST with an `Idempotency-Key` (balance transactions require one).
async fn post_keyed(app: &TestApp, caller: &Caller, path: &str, body: Value) -> (StatusCode, Value) {
    let key = uuid::Uuid::new_v4().to_string();
    let mut headers: Vec<(&str, &str)> = vec![("Idempotency-Key", key.as_str())];
    if let Some(t) = caller.tenant.as_deref() {
        headers.push(("X-Tenant-Id", t));
    }
    app.call_with(Method::POST, path, Some(&caller.bearer), Some(body), &headers).await
}

async fn balance_of(app: &TestApp, team: &Team, customer: &str) -> Value {
    let (_, detail) = team.founder().get(app, &format!("/api/v1/customers/{customer}")).await;
    detail["balances"].clone()
}

/// Performs `op` as `caller`; returns the answer and whether it took effect (writes) or returned
/// the data asked for (reads).
async fn attempt(app: &TestApp, team: &Team, caller: &Caller, op: Op, cell: usize) -> (StatusCode, Value, bool) {
    match op {
        Op::CurrenciesList => {
            let (s, b) = caller.get(app, "/api/v1/currencies").await;
            let ok = b["data"].as_array().is_some_and(|d| d.iter().any(|c| c["currency"] == "usd" && c["enabled"] == true));
            (s, b, ok)
        }
        Op::CurrencyActivate => {
            let currency = FRESH_CURRENCIES[cell % FRESH_CURRENCIES.len()];
            let (s, b) = caller.post(app, "/api/v1/currencies", json!({ "currency": currency, "enabled": true })).await;
            let (_, now) = team.founder().get(app, "/api/v1/currencies?enabled=true").await;
            let ok = now["data"].as_array().is_some_and(|d| d.iter().any(|c| c["currency"] == currency));
            (s, b, ok)
        }
        Op::CustomersList => {
            let id = new_customer(app, team).await;
            let (s, b) = caller.get(app, "/api/v1/customers?limit=100").await;
            let ok = b["data"].as_array().is_some_and(|d| d.iter().any(|c| c["id"] == id.as_str()));
            (s, b, ok)
        }
        Op::CustomerRead => {
            let id = new_customer(app, team).await;
            let (s, b) = caller.get(app, &format!("/api/v1/customers/{id}")).await;
            let ok = b["id"] == id.as_str() && b["subscriptions"].is_array();
            (s, b, ok)
        }
        Op::CustomersExport => {
            let id = new_customer(app, team).await;
            let mut req = app.client.get(app.url("/api/v1/customers/export.csv")).bearer_auth(&caller.bearer);
            if let Some(t) = caller.tenant.as_deref() {
                req = req.header("X-Tenant-Id", t);
            }
            let res = req.send().await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text.clone()));
            (status, body, text.contains(&id))
        }
        Op::LedgerRead => {
            let id = new_customer(app, team).await;
            let (s, _) = post_keyed(
                app,
                &team.founder(),
                &format!("/api/v1/customers/{id}/balance-transactions"),
                json!({ "type": "credit", "amount": 100, "currency": "usd", "reason": "seed" }),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED);
            let (s, b) = caller.get(app, &format!("/api/v1/customers/{id}/balance-transactions")).await;
            let ok = b["data"][0]["reason"] == "seed";
            (s, b, ok)
        }
        Op::BalanceCredit => {
            let id = new_customer(app, team).await;
            let (s, b) = post_keyed(
                app,
                caller,
                &format!("/api/v1/customers/{id}/balance-transactions"),
                json!({ "type": "credit", "amount": 300, "currency": "usd", "reason": "cell" }),
            )
            .await;
            let ok = balance_of(app, team, &id).await == json!([{ "currency": "usd", "amount": 300 }]);
            (s, b, ok)
        }
        Op::BalanceDebit => {
            let id = new_customer(app, team).await;
            let (s, _) = post_keyed(
                app,
                &team.founder(),
                &format!("/api/v1/customers/{id}/balance-transactions"),
                json!({ "type": "credit", "amount": 500, "currency": "usd", "reason": "seed" }),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED);
            let (s, b) = post_keyed(
                app,
                caller,
                &format!("/api/v1/customers/{id}/balance-transactions"),
                json!({ "type": "debit", "amount": 100, "currency": "usd", "reason": "cell" }),
            )
            .await;
            let ok = balance_of(app, team, &id).await == json!([{ "currency": "usd", "amount": 400 }]);
            (s, b, ok)
        }
    }
}

async fn check(app: &TestApp, team: &Team, callers: &[Caller; 5]) {
    let mut wrong = Vec::new();
    let mut cell = 0;
    for (op, allowed_per_role) in PERMISSIONS {
        for (i, caller) in callers.iter().enumerate() {
            cell += 1;
            let allowed = allowed_per_role[i];
            let (status, body, took_effect) = attempt(app, team, caller, *op, cell).await;
            let success = if matches!(op, Op::BalanceCredit | Op::BalanceDebit) { StatusCode::CREATED } else { StatusCode::OK };
            let problem = if allowed {
                if status != success {
                    Some(format!("expected {success} but got {status}: {body}"))
                } else if !took_effect {
                    Some(format!("answered {status} but the change/data is not there: {body}"))
                } else {
                    None
                }
            } else if status != StatusCode::FORBIDDEN || body["error"]["code"] != "insufficient_role" {
                Some(format!("expected 403 insufficient_role but got {status}: {body}"))
            } else if matches!(op, Op::CurrencyActivate | Op::BalanceCredit | Op::BalanceDebit) && took_effect {
                Some("refused with 403, yet the change happened".into())
            } else {
                None
            };
            if let Some(problem) = problem {
                let should = if allowed { "allowed" } else { "denied" };
                wrong.push(format!("{:<16} {:?} (should be {should}): {problem}", caller.label, op));
            }
        }
    }
    assert_eq!(cell, PERMISSIONS.len() * ROLES.len());
    assert!(wrong.is_empty(), "{} of {cell} cells disagree with the table:\n{}", wrong.len(), wrong.join("\n"));
}

both_backends! {
    async fn each_member_role_may_change_balances_and_currencies_exactly_as_the_table_says(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let callers = team.member_per_role(&app).await;
        check(&app, &team, &callers).await;
    }
}

both_backends! {
    async fn each_api_key_role_may_change_balances_and_currencies_exactly_as_the_table_says(app: TestApp) {
        let team = Team::found(&app, "founder").await;
        let callers = team.key_per_role(&app).await;
        check(&app, &team, &callers).await;
    }
}
