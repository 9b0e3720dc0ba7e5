//! Customer balances and currencies (issue 7): the currencies a tenant accepts, the customer
//! list and detail, and the append-only balance ledger — race-free under parallel debits.
//!
//! Customers, subscriptions, invoices and payments are written by the billing webhooks and the
//! ledger; here they are inserted into the test's own database, as those components would.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{error_code, unique_email, TestApp, TestUser};

fn uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A customer mirrored from Stripe into `tenant`, created at `created_ms`; returns its `cst_` id.
async fn customer(app: &TestApp, tenant: &str, email: &str, name: &str, created_ms: i64) -> String {
    let id = format!("cst_{}", uid());
    app.execute(&format!(
        "INSERT INTO customers (id, tenant_id, stripe_customer_id, email, name, country, currency, created_at, updated_at)
         VALUES ('{id}', '{tenant}', 'cus_{}', '{email}', '{name}', 'DE', 'eur', {created_ms}, {created_ms})",
        uid()
    ))
    .await;
    id
}

async fn balance_tx(app: &TestApp, user: &TestUser, customer: &str, body: Value) -> (StatusCode, Value) {
    let key = uuid::Uuid::new_v4().to_string();
    app.call_with(
        Method::POST,
        &format!("/api/v1/customers/{customer}/balance-transactions"),
        Some(&user.token),
        Some(body),
        &[("Idempotency-Key", key.as_str())],
    )
    .await
}

async fn event_types(app: &TestApp, token: &str) -> Vec<String> {
    let (status, events) = app.get("/api/v1/events?limit=100", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{events}");
    events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

fn enabled_codes(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().filter(|c| c["enabled"] == true).map(|c| c["currency"].as_str().unwrap().to_owned()).collect()
}

both_backends! {
    async fn a_new_tenant_accepts_its_default_currency_only_until_it_activates_another(app: TestApp) {
        let owner = app.user(&unique_email("currencies")).await;
        let (status, list) = app.get("/api/v1/currencies", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["object"], "list");
        assert!(list["data"].as_array().unwrap().len() > 100, "every supported currency is listed");
        assert_eq!(enabled_codes(&list), vec!["usd"]);
        let usd = list["data"].as_array().unwrap().iter().find(|c| c["currency"] == "usd").unwrap();
        assert_eq!((usd["is_default"].clone(), usd["minor_unit_exponent"].clone()), (json!(true), json!(2)));

        let (status, eur) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "EUR", "enabled": true })).await;
        assert_eq!(status, StatusCode::OK, "{eur}");
        assert_eq!((eur["currency"].clone(), eur["enabled"].clone(), eur["is_default"].clone()), (json!("eur"), json!(true), json!(false)));
        assert!(eur["updated_at"].is_string());
        let (_, enabled) = app.get("/api/v1/currencies?enabled=true", Some(&owner.token)).await;
        assert_eq!(enabled["data"].as_array().unwrap().iter().map(|c| c["currency"].as_str().unwrap()).collect::<Vec<_>>(), vec!["eur", "usd"]);

        // Activating again changes nothing and publishes nothing more.
        let (status, _) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "eur", "enabled": true })).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "eur", "enabled": false })).await;
        assert_eq!(status, StatusCode::OK);
        let types = event_types(&app, &owner.token).await;
        assert_eq!(types.iter().filter(|t| *t == "currency.activated").count(), 1, "{types:?}");
        assert_eq!(types.iter().filter(|t| *t == "currency.deactivated").count(), 1, "{types:?}");

        // The default cannot be switched off; made-up and malformed codes are refused by name.
        let (status, body) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "usd", "enabled": false })).await;
        assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "currency_is_default");
        let (status, body) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "xyz", "enabled": true })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "currency_unsupported");
        let (status, body) = app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "dollars", "enabled": true })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "currency_invalid");
        let (_, list) = app.get("/api/v1/currencies", Some(&owner.token)).await;
        assert_eq!(enabled_codes(&list), vec!["usd"]);

        // Changing the default currency in settings moves the implicit choice with it.
        let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&owner.token), Some(json!({ "default_currency": "gbp" }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (_, list) = app.get("/api/v1/currencies", Some(&owner.token)).await;
        assert_eq!(enabled_codes(&list), vec!["gbp"]);
    }
}

both_backends! {
    async fn amounts_in_a_deactivated_currency_are_refused_with_a_clear_error(app: TestApp) {
        let owner = app.user(&unique_email("disabled-currency")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann", 1_000).await;

        // Balance transactions.
        let credit = json!({ "type": "credit", "amount": 500, "currency": "eur", "reason": "goodwill" });
        let (status, body) = balance_tx(&app, &owner, &ann, credit.clone()).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "currency_disabled");
        assert_eq!(body["error"]["param"], "currency");
        assert!(body["error"]["message"].as_str().unwrap().contains("EUR is not enabled"), "{body}");

        // Products and checkout sessions.
        let (status, body) = app.post("/api/v1/products", Some(&owner.token), json!({ "name": "Ticket", "unit_amount": 4000, "currency": "eur" })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "currency_disabled");
        let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&owner.token), Some(json!({ "stripe_secret_key": "sk_test_balances_0123456789" }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let checkout = json!({ "amount": 2500, "currency": "eur", "success_url": "https://shop.example/ok", "cancel_url": "https://shop.example/no" });
        let (status, body) = app.call_with(Method::POST, "/api/v1/checkout-sessions", Some(&owner.token), Some(checkout), &[("Idempotency-Key", "checkout-eur-1")]).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "currency_disabled");

        // Activated, it is accepted; deactivated again, refused again — the ledger keeps what was.
        app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "eur", "enabled": true })).await;
        let (status, body) = balance_tx(&app, &owner, &ann, credit.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, product) = app.post("/api/v1/products", Some(&owner.token), json!({ "name": "Ticket", "unit_amount": 4000, "currency": "eur" })).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        app.post("/api/v1/currencies", Some(&owner.token), json!({ "currency": "eur", "enabled": false })).await;
        let (status, body) = balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 100, "currency": "eur", "reason": "order" })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "currency_disabled");
        let (_, detail) = app.get(&format!("/api/v1/customers/{ann}"), Some(&owner.token)).await;
        assert_eq!(detail["balances"], json!([{ "currency": "eur", "amount": 500 }]));
    }
}

both_backends! {
    async fn credits_and_debits_form_an_append_only_ledger_with_actor_reason_and_running_balance(app: TestApp) {
        let owner = app.user(&unique_email("ledger")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann", 1_000).await;

        let (status, credit) = balance_tx(&app, &owner, &ann, json!({ "type": "credit", "amount": 1500, "currency": "usd", "reason": "Refund as credit" })).await;
        assert_eq!(status, StatusCode::CREATED, "{credit}");
        assert_eq!(credit["object"], "customer_balance_transaction");
        assert!(credit["id"].as_str().unwrap().starts_with("cbt_"));
        assert_eq!((credit["type"].clone(), credit["amount"].clone(), credit["balance_after"].clone()), (json!("credit"), json!(1500), json!(1500)));
        assert_eq!((credit["actor"].clone(), credit["actor_type"].clone()), (json!(owner.id), json!("user")));
        assert_eq!(credit["reason"], "Refund as credit");

        let (status, debit) = balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 400, "currency": "usd", "reason": "Applied to order 42" })).await;
        assert_eq!(status, StatusCode::CREATED, "{debit}");
        assert_eq!((debit["balance_after"].clone(), debit["sequence"].clone()), (json!(1100), json!(2)));
        assert_eq!(credit["sequence"], 1);

        // More than the balance: refused, nothing written.
        let (status, body) = balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 1101, "currency": "usd", "reason": "too much" })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "balance_insufficient");
        assert!(body["error"]["message"].as_str().unwrap().contains("11.00 USD"), "{body}");
        // Exactly the balance: allowed, down to zero.
        let (status, body) = balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 1100, "currency": "usd", "reason": "all of it" })).await;
        assert_eq!((status, body["balance_after"].clone()), (StatusCode::CREATED, json!(0)), "{body}");

        let (status, ledger) = app.get(&format!("/api/v1/customers/{ann}/balance-transactions"), Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{ledger}");
        let entries = ledger["data"].as_array().unwrap();
        assert_eq!(entries.iter().map(|e| e["balance_after"].as_i64().unwrap()).collect::<Vec<_>>(), vec![0, 1100, 1500], "newest first");
        let (status, page) = app.get(&format!("/api/v1/customers/{ann}/balance-transactions?limit=1&starting_after={}", entries[0]["id"].as_str().unwrap()), Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!((page["data"][0]["id"].clone(), page["has_more"].clone()), (entries[1]["id"].clone(), json!(true)));

        let types = event_types(&app, &owner.token).await;
        assert_eq!(types.iter().filter(|t| *t == "balance.credited").count(), 1, "{types:?}");
        assert_eq!(types.iter().filter(|t| *t == "balance.debited").count(), 2, "{types:?}");

        // With negative balances allowed, a debit may go below zero.
        let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&owner.token), Some(json!({ "allow_negative_balances": true }))).await;
        assert_eq!((status, body["allow_negative_balances"].clone()), (StatusCode::OK, json!(true)), "{body}");
        let (status, body) = balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 250, "currency": "usd", "reason": "on account" })).await;
        assert_eq!((status, body["balance_after"].clone()), (StatusCode::CREATED, json!(-250)), "{body}");

        // Bad requests name their parameter.
        for (body, code) in [
            (json!({ "type": "gift", "amount": 1, "currency": "usd", "reason": "x" }), "type_invalid"),
            (json!({ "type": "credit", "amount": 0, "currency": "usd", "reason": "x" }), "amount_invalid"),
            (json!({ "type": "credit", "amount": 1, "currency": "usd", "reason": " " }), "reason_invalid"),
            (json!({ "type": "credit", "amount": 1, "currency": "xyz", "reason": "x" }), "currency_unsupported"),
        ] {
            let (status, answer) = balance_tx(&app, &owner, &ann, body.clone()).await;
            assert_eq!(error_code(status, &answer, StatusCode::BAD_REQUEST), code, "{body}");
        }
        let (status, body) = app.post(&format!("/api/v1/customers/{ann}/balance-transactions"), Some(&owner.token), json!({ "type": "credit", "amount": 1, "currency": "usd", "reason": "x" })).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "idempotency_key_missing");
    }
}

both_backends! {
    async fn a_repeated_idempotency_key_credits_once(app: TestApp) {
        let owner = app.user(&unique_email("idem-balance")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann", 1_000).await;
        let path = format!("/api/v1/customers/{ann}/balance-transactions");
        let body = json!({ "type": "credit", "amount": 700, "currency": "usd", "reason": "promo" });
        let (status, first) = app.call_with(Method::POST, &path, Some(&owner.token), Some(body.clone()), &[("Idempotency-Key", "credit-once")]).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        let (status, again) = app.call_with(Method::POST, &path, Some(&owner.token), Some(body), &[("Idempotency-Key", "credit-once")]).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(first["id"], again["id"]);
        let (_, ledger) = app.get(&path, Some(&owner.token)).await;
        assert_eq!(ledger["data"].as_array().unwrap().len(), 1, "{ledger}");
    }
}

both_backends! {
    async fn concurrent_debits_never_overdraw_and_the_balance_equals_the_sum_of_its_ledger(app: TestApp) {
        let owner = app.user(&unique_email("race")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann", 1_000).await;
        let (status, body) = balance_tx(&app, &owner, &ann, json!({ "type": "credit", "amount": 1000, "currency": "usd", "reason": "opening credit" })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        // 24 debits of 1.00 race for 10.00 (plus four credits of 0.50 landing in between).
        let debits = (0..24).map(|i| balance_tx(&app, &owner, &ann, json!({ "type": "debit", "amount": 100, "currency": "usd", "reason": format!("debit {i}") })));
        let credits = (0..4).map(|i| balance_tx(&app, &owner, &ann, json!({ "type": "credit", "amount": 50, "currency": "usd", "reason": format!("credit {i}") })));
        let (debits, credits) = tokio::join!(futures_util::future::join_all(debits), futures_util::future::join_all(credits));
        for (status, body) in &credits {
            assert_eq!(*status, StatusCode::CREATED, "{body}");
        }
        let mut accepted = 0;
        for (status, body) in &debits {
            match *status {
                StatusCode::CREATED => accepted += 1,
                other => assert_eq!(error_code(other, body, StatusCode::UNPROCESSABLE_ENTITY), "balance_insufficient"),
            }
        }
        // 10.00 covers ten debits of 1.00 whatever happens; the credits may cover two more,
        // depending on when they land. Never more than the money there was.
        assert!((10..=12).contains(&accepted), "accepted {accepted}: {debits:?}");
        let expected = 1000 + 4 * 50 - 100 * accepted;

        let (_, detail) = app.get(&format!("/api/v1/customers/{ann}"), Some(&owner.token)).await;
        assert_eq!(detail["balances"], json!([{ "currency": "usd", "amount": expected }]), "{detail}");
        let (_, ledger) = app.get(&format!("/api/v1/customers/{ann}/balance-transactions?limit=100"), Some(&owner.token)).await;
        let entries = ledger["data"].as_array().unwrap();
        assert_eq!(entries.len() as i64, 1 + 4 + accepted);
        let sum: i64 = entries.iter().map(|e| if e["type"] == "credit" { e["amount"].as_i64().unwrap() } else { -e["amount"].as_i64().unwrap() }).sum();
        assert_eq!(sum, expected, "the balance equals the sum of its ledger");
        assert!(entries.iter().all(|e| e["balance_after"].as_i64().unwrap() >= 0), "never below zero: {ledger}");
        // Replayed in sequence order, each entry's running balance follows from the one before.
        let mut in_order: Vec<&Value> = entries.iter().collect();
        in_order.sort_by_key(|e| e["sequence"].as_i64().unwrap());
        assert_eq!(in_order.iter().map(|e| e["sequence"].as_i64().unwrap()).collect::<Vec<_>>(), (1..=entries.len() as i64).collect::<Vec<_>>());
        let mut running = 0;
        for e in in_order {
            running += if e["type"] == "credit" { e["amount"].as_i64().unwrap() } else { -e["amount"].as_i64().unwrap() };
            assert_eq!(e["balance_after"].as_i64().unwrap(), running, "{e}");
        }
        // And at rest: the stored balance row equals the ledger's sum.
        let at_rest = app
            .query_strings(&format!(
                "SELECT CAST((SELECT balance FROM customer_balances WHERE customer_id = '{ann}') - (SELECT SUM(CASE WHEN type = 'credit' THEN amount ELSE -amount END) FROM customer_balance_transactions WHERE customer_id = '{ann}') AS TEXT)"
            ))
            .await;
        assert_eq!(at_rest, vec!["0".to_owned()]);
    }
}

both_backends! {
    async fn customers_are_listed_newest_first_searchable_and_exported_without_stripe_ids(app: TestApp) {
        let owner = app.user(&unique_email("customers")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann Lee", 1_000).await;
        let bea = customer(&app, &owner.tenant, "Bea@Shop.example", "Bea, \"B\" Stone", 2_000).await;
        let cid = customer(&app, &owner.tenant, "cid@example.com", "Cid", 3_000).await;
        balance_tx(&app, &owner, &bea, json!({ "type": "credit", "amount": 250, "currency": "usd", "reason": "welcome" })).await;

        let (status, list) = app.get("/api/v1/customers", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let ids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![cid.as_str(), bea.as_str(), ann.as_str()]);
        assert_eq!(list["data"][1]["balances"], json!([{ "currency": "usd", "amount": 250 }]));
        assert_eq!(list["data"][1]["object"], "customer");

        let (_, page) = app.get(&format!("/api/v1/customers?limit=1&starting_after={cid}"), Some(&owner.token)).await;
        assert_eq!((page["data"][0]["id"].as_str().unwrap(), page["has_more"].clone()), (bea.as_str(), json!(true)));
        let (_, page) = app.get(&format!("/api/v1/customers?ending_before={ann}"), Some(&owner.token)).await;
        assert_eq!(page["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![cid.as_str(), bea.as_str()]);

        let (_, found) = app.get("/api/v1/customers?email=SHOP.EX", Some(&owner.token)).await;
        assert_eq!(found["data"].as_array().unwrap().len(), 1);
        assert_eq!(found["data"][0]["id"], bea.as_str());
        let (_, found) = app.get("/api/v1/customers?name=lee", Some(&owner.token)).await;
        assert_eq!(found["data"][0]["id"], ann.as_str());
        let (_, none) = app.get("/api/v1/customers?email=%25", Some(&owner.token)).await;
        assert_eq!(none["data"], json!([]), "a % is searched for, not a wildcard");
        let (status, body) = app.get("/api/v1/customers?limit=0", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid_integer");

        let res = app.client.get(app.url("/api/v1/customers/export.csv")).bearer_auth(&owner.token).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = res.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,created,email,name,country,currency,deleted,balances");
        assert_eq!(lines.len(), 4, "{csv}");
        assert!(lines[2].starts_with(&format!("{bea},")) && lines[2].contains("\"Bea, \"\"B\"\" Stone\"") && lines[2].ends_with(",usd 250"), "{csv}");
        assert!(!csv.contains("cus_"), "no Stripe ids in an export: {csv}");
    }
}

both_backends! {
    async fn a_customer_shows_their_subscriptions_invoices_payments_balance_and_activity(app: TestApp) {
        let owner = app.user(&unique_email("detail")).await;
        let t = owner.tenant.as_str();
        let ann = customer(&app, t, "Ann@Example.com", "Ann", 1_000).await;
        let other = customer(&app, t, "other@example.com", "Other", 1_500).await;
        app.execute(&format!(
            "INSERT INTO subscriptions (id, tenant_id, stripe_subscription_id, customer_id, status, plan_nickname, unit_amount, currency, billing_interval, quantity, current_period_end, cancel_at_period_end, created_at, updated_at)
             VALUES ('sbn_{}', '{t}', 'sub_{}', '{ann}', 'active', 'Pro', 2900, 'usd', 'month', 2, 1800000000, 1, 2000, 2000)", uid(), uid()
        )).await;
        app.execute(&format!(
            "INSERT INTO payments (id, tenant_id, stripe_payment_intent, amount, currency, customer_email, status, created_at, updated_at)
             VALUES ('pay_byemail{}', '{t}', 'pi_{}', 2900, 'usd', 'ann@example.com', 'succeeded', 3000, 3000)", uid(), uid()
        )).await;
        let invoiced = format!("pay_byinvoice{}", uid());
        app.execute(&format!(
            "INSERT INTO payments (id, tenant_id, stripe_payment_intent, amount, currency, customer_email, status, created_at, updated_at)
             VALUES ('{invoiced}', '{t}', 'pi_{}', 5800, 'usd', NULL, 'succeeded', 4000, 4000)", uid()
        )).await;
        app.execute(&format!(
            "INSERT INTO payments (id, tenant_id, stripe_payment_intent, amount, currency, customer_email, status, created_at, updated_at)
             VALUES ('pay_someoneelse{}', '{t}', 'pi_{}', 100, 'usd', 'other@example.com', 'succeeded', 5000, 5000)", uid(), uid()
        )).await;
        app.execute(&format!(
            "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, customer_id, number, status, currency, amount_due, amount_paid, amount_remaining, due_date, payment_id, created_at, updated_at)
             VALUES ('inv_{}', '{t}', 'in_{}', '{ann}', 'A-0001', 'paid', 'usd', 5800, 5800, 0, 1700000000, '{invoiced}', 4000, 4000)", uid(), uid()
        )).await;
        app.execute(&format!(
            "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, customer_id, number, status, currency, amount_due, amount_paid, amount_remaining, due_date, overdue_at, created_at, updated_at)
             VALUES ('inv_{}', '{t}', 'in_{}', '{ann}', 'A-0002', 'open', 'usd', 2900, 0, 2900, 1700000000, 1700000500000, 6000, 6000)", uid(), uid()
        )).await;
        balance_tx(&app, &owner, &ann, json!({ "type": "credit", "amount": 300, "currency": "usd", "reason": "sorry" })).await;

        let (status, detail) = app.get(&format!("/api/v1/customers/{ann}"), Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{detail}");
        assert_eq!((detail["object"].clone(), detail["id"].clone(), detail["email"].clone()), (json!("customer"), json!(ann), json!("Ann@Example.com")));
        assert_eq!(detail["balances"], json!([{ "currency": "usd", "amount": 300 }]));
        let subs = detail["subscriptions"].as_array().unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!((subs[0]["status"].clone(), subs[0]["quantity"].clone(), subs[0]["cancel_at_period_end"].clone()), (json!("active"), json!(2), json!(true)));
        assert_eq!(subs[0]["current_period_end"], "2027-01-15T08:00:00Z", "Stripe seconds read as a time");
        let invoices = detail["invoices"].as_array().unwrap();
        assert_eq!(invoices.iter().map(|i| (i["number"].as_str().unwrap(), i["overdue"].as_bool().unwrap())).collect::<Vec<_>>(), vec![("A-0002", true), ("A-0001", false)]);
        let payments: Vec<&str> = detail["payments"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        assert_eq!(payments.len(), 2, "by email (any case) and by invoice, not the other customer's: {payments:?}");
        assert_eq!(payments[0], invoiced.as_str());
        assert!(payments[1].starts_with("pay_byemail"));
        assert_eq!(detail["balance_transactions"][0]["reason"], "sorry");
        assert_eq!(detail["activity"], json!([]), "an owner reads the (empty) crm timeline");

        let (_, other_detail) = app.get(&format!("/api/v1/customers/{other}"), Some(&owner.token)).await;
        assert_eq!(other_detail["subscriptions"], json!([]));
        assert_eq!(other_detail["invoices"], json!([]));
        assert_eq!(other_detail["payments"].as_array().unwrap().len(), 1);
    }
}

both_backends! {
    async fn another_tenants_customers_are_not_found_and_its_currencies_are_its_own(app: TestApp) {
        let alice = app.user(&unique_email("alice")).await;
        let bob = app.user(&unique_email("bob")).await;
        let bobs = customer(&app, &bob.tenant, "bobs-customer@example.com", "Bobs customer", 1_000).await;
        let (status, _) = balance_tx(&app, &bob, &bobs, json!({ "type": "credit", "amount": 900, "currency": "usd", "reason": "bob's credit" })).await;
        assert_eq!(status, StatusCode::CREATED);
        let nowhere = "cst_doesnotexist0000";

        for id in [bobs.as_str(), nowhere] {
            let (status, body) = app.get(&format!("/api/v1/customers/{id}"), Some(&alice.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
            assert!(!body.to_string().contains("bobs-customer"), "{body}");
            let (status, body) = app.get(&format!("/api/v1/customers/{id}/balance-transactions"), Some(&alice.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
            let (status, body) = balance_tx(&app, &alice, id, json!({ "type": "debit", "amount": 900, "currency": "usd", "reason": "steal" })).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");
        }
        let (status, body) = app.get(&format!("/api/v1/customers?starting_after={bobs}"), Some(&alice.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "resource_missing");
        let (_, list) = app.get("/api/v1/customers", Some(&alice.token)).await;
        assert_eq!(list["data"], json!([]));
        let res = app.client.get(app.url("/api/v1/customers/export.csv")).bearer_auth(&alice.token).send().await.unwrap();
        assert!(!res.text().await.unwrap().contains(&bobs));

        // Bob's balance is untouched; Alice's currency choices do not reach Bob.
        let (_, detail) = app.get(&format!("/api/v1/customers/{bobs}"), Some(&bob.token)).await;
        assert_eq!(detail["balances"], json!([{ "currency": "usd", "amount": 900 }]));
        app.post("/api/v1/currencies", Some(&alice.token), json!({ "currency": "eur", "enabled": true })).await;
        let (_, bobs_currencies) = app.get("/api/v1/currencies", Some(&bob.token)).await;
        assert_eq!(enabled_codes(&bobs_currencies), vec!["usd"]);
    }
}

both_backends! {
    async fn the_dashboard_lists_customers_shows_one_with_its_ledger_and_records_a_credit(app: TestApp) {
        let owner = app.user(&unique_email("dashboard")).await;
        let ann = customer(&app, &owner.tenant, "ann@example.com", "Ann Lee", 1_000).await;
        balance_tx(&app, &owner, &ann, json!({ "type": "credit", "amount": 300, "currency": "usd", "reason": "first credit" })).await;

        let browser = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let login = <app::server_fns::account::Login as leptos::server_fn::ServerFn>::PATH;
        let res = browser.post(app.url(login)).header("origin", &app.base).header("accept", "text/html")
            .form(&[("email", owner.email.as_str()), ("password", crate::helpers::PASSWORD)]).send().await.unwrap();
        assert!(res.status().is_success() || res.status().is_redirection(), "login: {}", res.status());
        let page = |path: String| {
            let browser = browser.clone();
            let url = app.url(&path);
            async move {
                let res = browser.get(url).header("accept", "text/html").send().await.unwrap();
                assert_eq!(res.status(), StatusCode::OK, "{path}");
                res.text().await.unwrap()
            }
        };

        let list = page("/customers".into()).await;
        assert!(list.contains("billing-customers-table") && list.contains(&format!("href=\"/customers/{ann}\"")), "{list}");
        assert!(list.contains("3.00 USD"), "the balance in the list: {list}");
        let detail = page(format!("/customers/{ann}")).await;
        assert!(detail.contains("customer-ledger") && detail.contains("first credit") && detail.contains("balance-form"), "{detail}");
        let currencies = page("/currencies".into()).await;
        assert!(currencies.contains("data-currency=\"usd\"") && currencies.contains("currency-activate"), "{currencies}");

        // The credit form posts to its server function; the ledger shows the entry.
        let adjust = <app::server_fns::balances::AdjustBalance as leptos::server_fn::ServerFn>::PATH;
        let res = browser.post(app.url(adjust)).header("origin", &app.base).header("accept", "text/html")
            .form(&[("customer_id", ann.as_str()), ("kind", "credit"), ("amount", "2.50"), ("currency", "usd"), ("reason", "from the dashboard")])
            .send().await.unwrap();
        assert!(res.status().is_success() || res.status().is_redirection(), "adjust: {}", res.status());
        let (_, ledger) = app.get(&format!("/api/v1/customers/{ann}/balance-transactions"), Some(&owner.token)).await;
        assert_eq!((ledger["data"][0]["amount"].clone(), ledger["data"][0]["balance_after"].clone()), (json!(250), json!(550)), "{ledger}");
        assert_eq!(ledger["data"][0]["reason"], "from the dashboard");
    }
}

both_backends! {
    async fn a_customer_deleted_at_stripe_keeps_its_ledger_but_takes_no_new_entries(app: TestApp) {
        let owner = app.user(&unique_email("deleted")).await;
        let gone = customer(&app, &owner.tenant, "gone@example.com", "Gone", 1_000).await;
        let (status, _) = balance_tx(&app, &owner, &gone, json!({ "type": "credit", "amount": 100, "currency": "usd", "reason": "before" })).await;
        assert_eq!(status, StatusCode::CREATED);
        app.execute(&format!("UPDATE customers SET deleted = 1 WHERE id = '{gone}'")).await;
        let (status, body) = balance_tx(&app, &owner, &gone, json!({ "type": "debit", "amount": 100, "currency": "usd", "reason": "after" })).await;
        assert_eq!(error_code(status, &body, StatusCode::UNPROCESSABLE_ENTITY), "customer_deleted");
        let (_, detail) = app.get(&format!("/api/v1/customers/{gone}"), Some(&owner.token)).await;
        assert_eq!((detail["deleted"].clone(), detail["balances"].clone()), (json!(true), json!([{ "currency": "usd", "amount": 100 }])));
    }
}

both_backends! {
    async fn the_openapi_document_describes_customers_balances_and_currencies(app: TestApp) {
        let (status, doc) = app.get("/api/v1/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        for (path, methods) in [
            ("/api/v1/currencies", &["get", "post"][..]),
            ("/api/v1/customers", &["get"][..]),
            ("/api/v1/customers/export.csv", &["get"][..]),
            ("/api/v1/customers/{id}", &["get"][..]),
            ("/api/v1/customers/{id}/balance-transactions", &["get", "post"][..]),
        ] {
            for method in methods {
                assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
            }
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in ["CurrencyOut", "CurrencyIn", "CustomerOut", "CustomerDetailOut", "BalanceTransactionIn", "BalanceTransactionOut"] {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
    }
}
