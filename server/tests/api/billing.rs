//! Recurring billing mirrored from Stripe, black-box: the fixture story (customer, saved card,
//! subscription, four invoices, the payment of the first) POSTed to `/webhook` as Stripe signs
//! it; the tables it fills; the same final state from any delivery order with duplicates; the
//! overdue job; and the subscriptions and invoices API (filters, cursors, CSV, other tenants).

use std::{sync::Arc, time::Duration};

use app::ssr::{
    bus::{Bus, Clock, ManualClock, Registry, SystemClock},
    config::{Config, Sources},
    db::Db,
    stripe::signature::header_for,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Column, Row};

use crate::{both_backends, helpers::*};

const SECRET: &str = "whsec_billing_test";
const ACCOUNT: &str = "acct_1FixtureBilling";

/// The story's first event (`customer.created`), Unix seconds.
const STORY_START: i64 = 1_700_100_000;

fn story() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/billing");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let mut event: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            event["account"] = Value::String(ACCOUNT.into());
            event
        })
        .collect()
}

fn event_of_type<'a>(events: &'a [Value], t: &str) -> &'a Value {
    events.iter().find(|e| e["type"] == t).unwrap_or_else(|| panic!("no {t} in the story"))
}

fn env(overdue_ms: &str) -> Vec<(&'static str, String)> {
    vec![("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET.to_owned()), ("PAYBUS_OVERDUE_INTERVAL_MS", overdue_ms.to_owned())]
}

/// A server whose overdue job is off: the tables hold exactly what the webhooks said.
async fn spawn(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(Spawn { backend, env: env("0") }).await
}

async fn deliver(app: &TestApp, event: &Value) -> (StatusCode, Value) {
    let body = serde_json::to_vec(event).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", header_for(SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn deliver_ok(app: &TestApp, event: &Value) {
    let (status, body) = deliver(app, event).await;
    assert_eq!(status, StatusCode::OK, "{}: {body}", event["id"]);
    assert!(matches!(body["status"].as_str(), Some("processed" | "duplicate")), "{} ({}): {body}", event["id"], event["type"]);
}

async fn merchant(app: &TestApp) -> TestUser {
    let owner = app.user(&unique_email("merchant")).await;
    app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('{ACCOUNT}', '{}', 0, 0)", owner.tenant)).await;
    owner
}

/// Every column of every row `sql` returns, as text (NULL as `∅`), whatever the backend.
async fn rows(app: &TestApp, sql: &str) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let found = sqlx::query(sql).fetch_all(&pool).await.unwrap();
    pool.close().await;
    found
        .iter()
        .map(|row| {
            (0..row.columns().len())
                .map(|i| {
                    let name = row.column(i).name().to_owned();
                    let value = match row.try_get::<Option<i64>, _>(i) {
                        Ok(v) => v.map(|v| v.to_string()),
                        Err(_) => row.try_get::<Option<String>, _>(i).unwrap_or_else(|e| panic!("{name}: {e}")),
                    };
                    format!("{name}={}", value.unwrap_or_else(|| "∅".into()))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    rows(app, sql).await.first().and_then(|r| r.rsplit('=').next()).unwrap().parse().unwrap()
}

/// The billing tables in full, except paybus's own random ids and our clock's timestamps; links
/// are shown as the Stripe ids they lead to, so two databases can be compared.
async fn billing_state(app: &TestApp) -> Vec<String> {
    let mut state = rows(
        app,
        "SELECT stripe_customer_id, connected_account, email, name, description, country, currency, deleted, stripe_created, status_rank,
             stripe_event_at, stripe_event_id
         FROM customers ORDER BY stripe_customer_id",
    )
    .await;
    state.extend(
        rows(
            app,
            "SELECT m.stripe_payment_method_id, c.stripe_customer_id AS customer, m.type, m.card_brand, m.card_last4, m.card_country, m.card_fingerprint,
                 m.attached, m.status_rank, m.stripe_event_at, m.stripe_event_id
             FROM payment_methods m LEFT JOIN customers c ON c.id = m.customer_id ORDER BY m.stripe_payment_method_id",
        )
        .await,
    );
    state.extend(
        rows(
            app,
            "SELECT s.stripe_subscription_id, c.stripe_customer_id AS customer, s.stripe_customer_id, s.status, s.status_rank, s.price_id, s.product_id,
                 s.plan_nickname, s.unit_amount, s.currency, s.billing_interval, s.quantity, s.current_period_start, s.current_period_end,
                 s.cancel_at_period_end, s.canceled_at, s.trial_end, s.paused, s.stripe_created, s.stripe_event_at, s.stripe_event_id
             FROM subscriptions s LEFT JOIN customers c ON c.id = s.customer_id ORDER BY s.stripe_subscription_id",
        )
        .await,
    );
    state.extend(
        rows(
            app,
            "SELECT i.stripe_invoice_id, c.stripe_customer_id AS customer, i.stripe_customer_id, i.stripe_subscription_id, i.number, i.status,
                 i.status_rank, i.currency, i.amount_due, i.amount_paid, i.amount_remaining, i.subtotal, i.tax, i.total, i.due_date,
                 i.hosted_invoice_url, i.stripe_payment_intent, i.stripe_charge, p.stripe_payment_intent AS paid_by, i.overdue_at,
                 i.attempt_count, i.stripe_created, i.stripe_event_at, i.stripe_event_id
             FROM invoices i LEFT JOIN customers c ON c.id = i.customer_id LEFT JOIN payments p ON p.id = i.payment_id
             ORDER BY i.stripe_invoice_id",
        )
        .await,
    );
    state.extend(
        rows(
            app,
            "SELECT i.stripe_invoice_id, t.position, t.name, t.percentage_e4, t.inclusive, t.taxable_amount, t.amount
             FROM invoice_tax_amounts t JOIN invoices i ON i.id = t.invoice_id ORDER BY i.stripe_invoice_id, t.position",
        )
        .await,
    );
    state
}

/// The billing domain events published so far, by type.
async fn billing_events(app: &TestApp) -> Vec<(String, Value)> {
    let found =
        rows(app, "SELECT id, type FROM events WHERE type LIKE 'customer.%' OR type LIKE 'subscription.%' OR type LIKE 'invoice.%' ORDER BY occurred_at, id")
            .await;
    let mut out = Vec::new();
    for row in found {
        let id = row.split(' ').next().unwrap().trim_start_matches("id=").to_owned();
        let t = row.rsplit("type=").next().unwrap().to_owned();
        let payload: String = app.query_strings(&format!("SELECT payload FROM events WHERE id = '{id}'")).await.remove(0);
        out.push((t, serde_json::from_str(&payload).unwrap()));
    }
    out
}

fn types_of(events: &[(String, Value)]) -> Vec<String> {
    events.iter().map(|(t, _)| t.clone()).collect()
}

/// A deterministic shuffle (xorshift), so a failing seed can be replayed.
fn shuffled(mut events: Vec<Value>, seed: u64) -> Vec<Value> {
    let mut x = seed.max(1);
    for i in (1..events.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        events.swap(i, (x % (i as u64 + 1)) as usize);
    }
    events
}

both_backends! {
    async fn each_billing_event_type_updates_the_right_table_and_publishes_once_per_transition(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = merchant(&app).await;
        // After each event: a query and the row it must give (checked while the story unfolds).
        let checks: &[(&str, &str, &str)] = &[
            ("customer.created", "SELECT email, name, deleted FROM customers", "email=jane@example.com name=Jane Doe deleted=0"),
            ("customer.updated", "SELECT name, country FROM customers", "name=Jane Q. Doe country=DE"),
            ("setup_intent.succeeded", "SELECT stripe_payment_method_id, attached, card_last4 FROM payment_methods", "stripe_payment_method_id=pm_FixtureBilling1 attached=1 card_last4=∅"),
            ("payment_method.attached", "SELECT type, card_brand, card_last4, card_country, attached FROM payment_methods", "type=card card_brand=visa card_last4=4242 card_country=US attached=1"),
            ("customer.subscription.created", "SELECT status, price_id, unit_amount, currency, billing_interval, quantity FROM subscriptions",
                "status=trialing price_id=price_FixtureMonthly unit_amount=2000 currency=eur billing_interval=month quantity=1"),
            ("customer.subscription.trial_will_end", "SELECT status, trial_end FROM subscriptions", "status=trialing trial_end=1700704830"),
            ("invoice.created", "SELECT status, number, amount_due FROM invoices", "status=draft number=∅ amount_due=2380"),
            ("invoice.finalized", "SELECT status, number, stripe_payment_intent FROM invoices", "status=open number=FIXB-0001 stripe_payment_intent=pi_3FixtureInvoice1"),
            ("invoice.payment_failed", "SELECT status, attempt_count, amount_remaining FROM invoices", "status=open attempt_count=1 amount_remaining=2380"),
            ("invoice.payment_succeeded", "SELECT status, amount_paid, amount_remaining, stripe_charge, payment_id FROM invoices",
                "status=paid amount_paid=2380 amount_remaining=0 stripe_charge=ch_3FixtureInvoice1 payment_id=∅"),
            ("invoice.paid", "SELECT status, tax, total FROM invoices", "status=paid tax=380 total=2380"),
            // The payment arrives after its invoice: the invoice now points at it.
            ("payment_intent.succeeded", "SELECT p.status, p.amount FROM invoices i JOIN payments p ON p.id = i.payment_id", "status=succeeded amount=2380"),
            ("customer.subscription.updated", "SELECT status, current_period_end FROM subscriptions", "status=active current_period_end=1703296830"),
            ("customer.subscription.paused", "SELECT status, paused FROM subscriptions", "status=paused paused=1"),
            ("customer.subscription.resumed", "SELECT status, paused FROM subscriptions", "status=active paused=0"),
            ("invoice.marked_uncollectible", "SELECT status FROM invoices WHERE stripe_invoice_id = 'in_FixtureBilling2'", "status=uncollectible"),
            ("invoice.voided", "SELECT status, amount_remaining FROM invoices WHERE stripe_invoice_id = 'in_FixtureBilling3'", "status=void amount_remaining=0"),
            ("customer.subscription.deleted", "SELECT status, cancel_at_period_end, canceled_at FROM subscriptions", "status=canceled cancel_at_period_end=1 canceled_at=1703296830"),
            ("payment_method.detached", "SELECT attached, customer_id FROM payment_methods", "attached=0 customer_id=∅"),
            ("customer.deleted", "SELECT deleted, name FROM customers", "deleted=1 name=Jane Q. Doe"),
        ];
        let mut seen: Vec<String> = Vec::new();
        for event in story() {
            deliver_ok(&app, &event).await;
            let t = event["type"].as_str().unwrap();
            // Several events of a type: the check applies to the first one of the story only.
            if let Some((_, sql, expected)) = checks.iter().find(|(ct, ..)| *ct == t) {
                if !seen.iter().any(|p| p == t) {
                    let found = rows(&app, sql).await;
                    assert!(found.iter().any(|r| r == expected), "after {} ({t}): {found:?}, expected {expected}", event["id"]);
                }
            }
            seen.push(t.to_owned());
        }
        let expected = [
            "customer.created", "customer.updated", "subscription.created", "subscription.activated", "invoice.created", "invoice.finalized",
            "invoice.payment_failed", "invoice.paid", "subscription.updated", "subscription.updated", "subscription.activated",
            "invoice.created", "invoice.finalized", "invoice.created", "invoice.finalized", "invoice.created", "invoice.finalized",
            "subscription.updated", "subscription.canceled", "customer.deleted",
        ];
        let mut got = types_of(&billing_events(&app).await);
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        // Events of one delivery share a millisecond; compare as multisets, then check the order
        // of the ones that are a delivery apart.
        got.sort();
        want.sort();
        assert_eq!(got, want);

        // The payloads carry our ids beside Stripe's, and the customer's email.
        let events = billing_events(&app).await;
        let (_, paid) = events.iter().find(|(t, _)| t == "invoice.paid").unwrap();
        assert!(paid["invoice_id"].as_str().unwrap().starts_with("inv_"), "{paid}");
        assert_eq!(paid["stripe_id"], "in_FixtureBilling1");
        assert!(paid["customer_id"].as_str().unwrap().starts_with("cst_"), "{paid}");
        assert_eq!(paid["customer_email"], "jane@example.com");
        assert_eq!((paid["amount_paid"].as_i64(), paid["currency"].as_str()), (Some(2380), Some("eur")));
        let (_, canceled) = events.iter().find(|(t, _)| t == "subscription.canceled").unwrap();
        assert_eq!((canceled["status"].as_str(), canceled["previous_status"].as_str()), (Some("canceled"), Some("active")));

        // Every billing event was audited as processed.
        let statuses = app.query_strings("SELECT status FROM webhook_events WHERE stripe_event_id LIKE 'evt_billing_%'").await;
        assert_eq!(statuses.len(), 27);
        assert!(statuses.iter().all(|s| s == "processed"), "{statuses:?}");

        // And the API shows the invoice with the payment that paid it.
        let (status, list) = app.get("/api/v1/invoices?status=paid", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let invoice = &list["data"][0];
        let (_, payments) = app.get("/api/v1/payments", Some(&owner.token)).await;
        assert_eq!(invoice["payment_id"], payments["data"][0]["id"], "{invoice}");
        assert_eq!(invoice["number"], "FIXB-0001");
    }
}

both_backends! {
    async fn a_shuffled_and_duplicated_delivery_converges_to_the_in_order_state(app: TestApp) {
        let Some(in_order) = spawn(app.backend).await else { return };
        merchant(&in_order).await;
        for event in story() {
            deliver_ok(&in_order, &event).await;
        }
        let expected = billing_state(&in_order).await;
        assert_eq!(expected.len(), 1 + 1 + 1 + 4 + 4, "one customer, one card, one subscription, four invoices, each with one tax amount: {expected:#?}");

        for seed in [7_u64, 1_234_567, 987_654_321] {
            let Some(shuffled_app) = spawn(app.backend).await else { return };
            merchant(&shuffled_app).await;
            let events = shuffled(story(), seed);
            for (i, event) in events.iter().enumerate() {
                deliver_ok(&shuffled_app, event).await;
                if i % 3 == 0 {
                    deliver_ok(&shuffled_app, event).await;
                }
            }
            assert_eq!(billing_state(&shuffled_app).await, expected, "seed {seed}");
            // Whatever the order: one creation per object, one payment and one cancellation.
            let published = types_of(&billing_events(&shuffled_app).await);
            let n = |t: &str| published.iter().filter(|p| *p == t).count();
            assert_eq!((n("subscription.created"), n("subscription.canceled"), n("invoice.created"), n("invoice.paid")), (1, 1, 4, 1), "seed {seed}: {published:?}");
            assert_eq!(n("customer.deleted"), 1, "seed {seed}: {published:?}");
            assert!(n("customer.created") <= 1, "seed {seed}: {published:?}");
        }

        // All at once, each twice, as Stripe's parallel deliveries do.
        let Some(concurrent) = spawn(app.backend).await else { return };
        merchant(&concurrent).await;
        let events = shuffled(story(), 42);
        let sends = events.iter().chain(events.iter()).map(|e| deliver(&concurrent, e));
        for (status, body) in futures_util::future::join_all(sends).await {
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        assert_eq!(billing_state(&concurrent).await, expected, "concurrent delivery");
    }
}

both_backends! {
    async fn the_overdue_job_publishes_exactly_one_invoice_overdue_per_invoice_and_payment_clears_the_badge(app: TestApp) {
        // The server's own job, every 50 ms, on a clock the test moves; the story's due dates
        // moved from 2023 to the weeks after today.
        let clock = ManualClock::starting_at(app::ssr::time_util::now_ms());
        let Some(app) = TestApp::spawn_with_clock(Spawn { backend: app.backend, env: env("50") }, Arc::new(clock.clone())).await else { return };
        let owner = merchant(&app).await;
        let shift = clock.now_ms() / 1000 - STORY_START;
        let story: Vec<Value> = story()
            .into_iter()
            .map(|mut e| {
                if let Some(due) = e["data"]["object"]["due_date"].as_i64() {
                    e["data"]["object"]["due_date"] = json!(due + shift);
                }
                e
            })
            .collect();
        // Up to the second invoice's finalization: open, due 14 days later.
        let upto = story.iter().position(|e| e["id"] == "evt_billing_017").unwrap();
        for event in &story[..=upto] {
            deliver_ok(&app, event).await;
        }
        let due: i64 = app.query_strings("SELECT CAST(due_date AS TEXT) FROM invoices WHERE stripe_invoice_id = 'in_FixtureBilling2'").await[0].parse().unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.overdue'").await, 0, "nothing is due yet");

        // One second past the due date: overdue, once, however many times the job runs.
        let now = clock.now_ms();
        clock.advance_ms((due + 1) * 1000 - now);
        let overdue = wait_for_overdue(&app, 1).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.overdue'").await, 1);
        assert_eq!(overdue[0]["stripe_id"], "in_FixtureBilling2");
        assert_eq!((overdue[0]["amount_remaining"].as_i64(), overdue[0]["status"].as_str()), (Some(2380), Some("open")));
        let (_, list) = app.get("/api/v1/invoices?status=overdue", Some(&owner.token)).await;
        let listed: Vec<&str> = list["data"].as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
        assert_eq!(listed, vec!["FIXB-0002"], "{list}");
        assert_eq!(list["data"][0]["overdue"], true);

        // Written off, then the rest of the story: the badge goes, nothing is published again.
        for event in &story[upto + 1..] {
            deliver_ok(&app, event).await;
        }
        let (_, list) = app.get("/api/v1/invoices?status=overdue", Some(&owner.token)).await;
        assert_eq!(list["data"], json!([]), "an uncollectible invoice is no longer overdue: {list}");
        let (_, list) = app.get("/api/v1/invoices?status=uncollectible", Some(&owner.token)).await;
        assert_eq!(list["data"][0]["overdue"], false, "{list}");

        // Past the fourth invoice's due date: it alone is marked (paid, void and written-off ones are not).
        let due4: i64 = app.query_strings("SELECT CAST(due_date AS TEXT) FROM invoices WHERE stripe_invoice_id = 'in_FixtureBilling4'").await[0].parse().unwrap();
        let now = clock.now_ms();
        clock.advance_ms((due4 + 60) * 1000 - now);
        let overdue = wait_for_overdue(&app, 2).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let ids: Vec<&str> = overdue.iter().map(|p| p["stripe_id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["in_FixtureBilling2", "in_FixtureBilling4"]);
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.overdue'").await, 2);

        // Paid late: the badge goes, the mark (and its one event) stays.
        let mut paid = story.iter().find(|e| e["id"] == "evt_billing_023").unwrap().clone();
        paid["id"] = json!("evt_billing_late_payment");
        paid["type"] = json!("invoice.paid");
        paid["created"] = json!(due4 + 3600);
        paid["data"]["object"]["status"] = json!("paid");
        paid["data"]["object"]["amount_paid"] = json!(2380);
        paid["data"]["object"]["amount_remaining"] = json!(0);
        deliver_ok(&app, &paid).await;
        let (_, list) = app.get("/api/v1/invoices?status=overdue", Some(&owner.token)).await;
        assert_eq!(list["data"], json!([]), "{list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.overdue'").await, 2);
    }
}

/// The payloads of `invoice.overdue` once there are `n` of them (ordered by Stripe id).
async fn wait_for_overdue(app: &TestApp, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found: Vec<Value> =
            app.query_strings("SELECT payload FROM events WHERE type = 'invoice.overdue'").await.iter().map(|p| serde_json::from_str(p).unwrap()).collect();
        if found.len() >= n {
            let mut found = found;
            found.sort_by(|a, b| a["stripe_id"].as_str().cmp(&b["stripe_id"].as_str()));
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} invoice.overdue events after 5 s");
}

both_backends! {
    async fn two_overdue_job_runners_racing_on_one_database_mark_and_publish_each_invoice_once(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = merchant(&app).await;
        const INVOICES: usize = 240;
        // Open invoices past due (as Stripe would have sent them), plus ones that must not be marked.
        let mut values = Vec::new();
        for i in 0..INVOICES {
            values.push(format!(
                "('inv_race{i:04}', '{t}', 'in_race{i:04}', 'open', 'eur', 1000, 0, 1000, {due}, 1, 1)",
                t = owner.tenant,
                due = STORY_START + i as i64
            ));
        }
        values.push(format!("('inv_racepaid', '{}', 'in_racepaid', 'paid', 'eur', 1000, 1000, 0, {STORY_START}, 1, 1)", owner.tenant));
        values.push(format!("('inv_racefuture', '{}', 'in_racefuture', 'open', 'eur', 1000, 0, 1000, 4102444800, 1, 1)", owner.tenant));
        values.push(format!("('inv_racenodue', '{}', 'in_racenodue', 'open', 'eur', 1000, 0, 1000, NULL, 1, 1)", owner.tenant));
        app.execute(&format!(
            "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, status, currency, amount_due, amount_paid, amount_remaining, due_date, created_at, updated_at) VALUES {}",
            values.join(", ")
        ))
        .await;

        // Two runners with their own connection pools, as two replicas would have.
        let runner = || async {
            let config = Config::from_sources(&Sources::from_pairs([("DATABASE_URL", app.database_url.as_str())])).unwrap();
            let db = Db::connect(&app.database_url, 4, Duration::from_secs(10)).await.unwrap();
            Bus::new(db, Registry::new(), Arc::new(SystemClock), config.bus)
        };
        let (a, b) = (runner().await, runner().await);
        let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        let (ra, rb) = tokio::join!(
            async { (app::ssr::billing::overdue::run_once(&a, now).await.unwrap(), app::ssr::billing::overdue::run_once(&a, now).await.unwrap()) },
            async { (app::ssr::billing::overdue::run_once(&b, now).await.unwrap(), app::ssr::billing::overdue::run_once(&b, now).await.unwrap()) },
        );
        let marked = ra.0 + ra.1 + rb.0 + rb.1;
        eprintln!("[overdue race] runner a marked {}, runner b marked {}", ra.0 + ra.1, rb.0 + rb.1);
        assert_eq!(marked as usize, INVOICES, "each invoice marked by exactly one runner");

        let per_invoice = app
            .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM events WHERE type = 'invoice.overdue' GROUP BY payload")
            .await;
        assert_eq!(per_invoice.len(), INVOICES, "one distinct event per invoice");
        assert!(per_invoice.iter().all(|n| n == "1"), "an invoice was published twice: {per_invoice:?}");
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM invoices WHERE overdue_at IS NOT NULL").await as usize, INVOICES);
        let untouched = app.query_strings("SELECT id FROM invoices WHERE overdue_at IS NULL ORDER BY id").await;
        assert_eq!(untouched, vec!["inv_racefuture", "inv_racenodue", "inv_racepaid"]);
        // Every event is the tenant's, so its listeners and endpoints receive it.
        assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n FROM events WHERE type = 'invoice.overdue' AND tenant_id = '{}'", owner.tenant)).await as usize, INVOICES);
    }
}

both_backends! {
    async fn subscriptions_and_invoices_list_with_filters_cursors_and_a_csv_without_stripe_ids(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let owner = merchant(&app).await;
        for event in story() {
            deliver_ok(&app, &event).await;
        }
        let token = Some(owner.token.as_str());

        let (status, subs) = app.get("/api/v1/subscriptions", token).await;
        assert_eq!(status, StatusCode::OK, "{subs}");
        assert_eq!(subs["object"], "list");
        let sub = &subs["data"][0];
        assert!(sub["id"].as_str().unwrap().starts_with("sbn_"), "{sub}");
        assert_eq!((sub["status"].as_str(), sub["unit_amount"].as_i64(), sub["interval"].as_str()), (Some("canceled"), Some(2000), Some("month")));
        assert_eq!(sub["customer_email"], "jane@example.com");
        assert_eq!(sub["current_period_end"], "2023-12-23T02:00:30Z");
        let (_, one) = app.get(&format!("/api/v1/subscriptions/{}", sub["id"].as_str().unwrap()), token).await;
        assert_eq!(&one, sub);
        let (_, none) = app.get("/api/v1/subscriptions?status=active", token).await;
        assert_eq!(none["data"], json!([]));
        let customer = sub["customer_id"].as_str().unwrap();
        let (_, mine) = app.get(&format!("/api/v1/subscriptions?customer={customer}"), token).await;
        assert_eq!(mine["data"].as_array().unwrap().len(), 1);

        // Stripe's own tax amounts are kept and make the invoice's tax breakdown.
        let (_, paid) = app.get("/api/v1/invoices?status=paid", token).await;
        let paid_id = paid["data"][0]["id"].as_str().expect("a paid invoice");
        let (status, tax) = app.get(&format!("/api/v1/invoices/{paid_id}/tax"), token).await;
        assert_eq!(status, StatusCode::OK, "{tax}");
        let line = &tax["lines"][0];
        assert_eq!((line["name"].as_str(), line["taxable_amount"].as_i64(), line["amount"].as_i64()), (Some("txr_FixtureVatDE"), Some(2000), Some(380)), "{tax}");
        assert!(line["percentage"].as_str().is_some_and(|p| p.starts_with("19")), "{tax}");
        assert_eq!((tax["subtotal"].as_i64(), tax["tax"].as_i64(), tax["lines"].as_array().map(Vec::len)), (Some(2000), Some(380), Some(1)));

        // Four invoices, two per page, newest first, both directions.
        let (_, first) = app.get("/api/v1/invoices?limit=2", token).await;
        assert_eq!((first["data"].as_array().unwrap().len(), first["has_more"].as_bool()), (2, Some(true)), "{first}");
        let last_id = first["data"][1]["id"].as_str().unwrap();
        let (_, second) = app.get(&format!("/api/v1/invoices?limit=2&starting_after={last_id}"), token).await;
        assert_eq!((second["data"].as_array().unwrap().len(), second["has_more"].as_bool()), (2, Some(false)), "{second}");
        let (_, back) = app.get(&format!("/api/v1/invoices?limit=2&ending_before={}", second["data"][0]["id"].as_str().unwrap()), token).await;
        assert_eq!(back["data"], first["data"]);
        let all: Vec<Value> = first["data"].as_array().unwrap().iter().chain(second["data"].as_array().unwrap()).cloned().collect();
        let mut numbers: Vec<&str> = all.iter().map(|i| i["number"].as_str().unwrap()).collect();
        numbers.sort();
        assert_eq!(numbers, vec!["FIXB-0001", "FIXB-0002", "FIXB-0003", "FIXB-0004"]);
        let sub_id = sub["id"].as_str().unwrap();
        let (_, of_sub) = app.get(&format!("/api/v1/invoices?subscription={sub_id}"), token).await;
        let of_sub: Vec<&str> = of_sub["data"].as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
        assert_eq!(of_sub, vec!["FIXB-0001"], "only the first invoice belongs to the subscription");
        for (filter, number) in [("open", "FIXB-0004"), ("void", "FIXB-0003"), ("uncollectible", "FIXB-0002"), ("paid", "FIXB-0001")] {
            let (_, l) = app.get(&format!("/api/v1/invoices?status={filter}"), token).await;
            let got: Vec<&str> = l["data"].as_array().unwrap().iter().map(|i| i["number"].as_str().unwrap()).collect();
            assert_eq!(got, vec![number], "status={filter}");
        }
        let paid = all.iter().find(|i| i["status"] == "paid").unwrap();
        assert_eq!(paid["subscription_id"], sub["id"]);
        assert_eq!(paid["overdue"], false);
        let (_, one) = app.get(&format!("/api/v1/invoices/{}", paid["id"].as_str().unwrap()), token).await;
        assert_eq!(&one, paid);

        // Client mistakes are 400s that name the parameter.
        let (status, body) = app.get("/api/v1/invoices?status=late", token).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid");
        assert_eq!(body["error"]["param"], "status");
        let (status, body) = app.get("/api/v1/subscriptions?limit=1000", token).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid_integer");
        let (status, body) = app.get("/api/v1/subscriptions?colour=red", token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

        // The exports: our ids and the money, never Stripe's ids or the hosted (bearer) link.
        for (path, header, rows_expected) in [("/api/v1/invoices/export.csv", "id,created,number,status,overdue", 4), ("/api/v1/subscriptions/export.csv", "id,created,status,customer_id", 1)] {
            let response = app.client.get(app.url(path)).bearer_auth(&owner.token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
            let csv = response.text().await.unwrap();
            let lines: Vec<&str> = csv.lines().collect();
            assert!(lines[0].starts_with(header), "{csv}");
            assert_eq!(lines.len(), 1 + rows_expected, "{csv}");
            for stripe in ["cus_", "sub_", "in_Fixture", "pi_", "ch_", "price_", "invoice.stripe.com"] {
                assert!(!csv.contains(stripe), "{path} leaks {stripe}: {csv}");
            }
        }
        // All of it is in the OpenAPI document.
        let (_, doc) = app.get("/api/v1/openapi.json", None).await;
        for path in ["/api/v1/subscriptions", "/api/v1/subscriptions/{id}", "/api/v1/subscriptions/export.csv", "/api/v1/invoices", "/api/v1/invoices/{id}", "/api/v1/invoices/export.csv"] {
            assert!(doc["paths"][path]["get"].is_object(), "{path} is not documented");
        }
        for schema in ["SubscriptionOut", "InvoiceOut"] {
            assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} is missing");
        }
        let response = app.client.get(app.url("/api/v1/invoices/export.csv?status=paid")).bearer_auth(&owner.token).send().await.unwrap();
        let csv = response.text().await.unwrap();
        assert!(csv.lines().nth(1).unwrap().contains(",FIXB-0001,paid,false,"), "{csv}");
    }
}

both_backends! {
    async fn another_tenants_subscriptions_and_invoices_are_not_found_from_mine(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        let bob = merchant(&app).await;
        for event in story() {
            deliver_ok(&app, &event).await;
        }
        let alice = app.user(&unique_email("alice")).await;
        let bob_token = Some(bob.token.as_str());
        let (_, subs) = app.get("/api/v1/subscriptions", bob_token).await;
        let (_, invoices) = app.get("/api/v1/invoices", bob_token).await;
        let sub_id = subs["data"][0]["id"].as_str().unwrap().to_owned();
        let invoice_id = invoices["data"][0]["id"].as_str().unwrap().to_owned();
        let customer_id = subs["data"][0]["customer_id"].as_str().unwrap().to_owned();

        let alice_token = Some(alice.token.as_str());
        for path in [format!("/api/v1/subscriptions/{sub_id}"), format!("/api/v1/invoices/{invoice_id}")] {
            let (status, body) = app.get(&path, alice_token).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing", "{path}");
            assert!(!body.to_string().contains("jane@example.com"), "{body}");
            // Exactly what an id that exists nowhere gets.
            let nowhere = path.replace(&sub_id, "sbn_doesnotexist0000").replace(&invoice_id, "inv_doesnotexist0000");
            let (status_nowhere, body_nowhere) = app.get(&nowhere, alice_token).await;
            assert_eq!((status, &body["error"]), (status_nowhere, &body_nowhere["error"]), "{path}");
        }
        // Lists, filters, cursors and exports of mine show none of Bob's.
        for path in ["/api/v1/subscriptions", "/api/v1/invoices", "/api/v1/invoices?status=paid"] {
            let (status, body) = app.get(path, alice_token).await;
            assert_eq!((status, &body["data"]), (StatusCode::OK, &json!([])), "{path}");
        }
        let (_, body) = app.get(&format!("/api/v1/subscriptions?customer={customer_id}"), alice_token).await;
        assert_eq!(body["data"], json!([]));
        let (_, body) = app.get(&format!("/api/v1/invoices?customer={customer_id}"), alice_token).await;
        assert_eq!(body["data"], json!([]));
        for (list, cursor) in [("subscriptions", &sub_id), ("invoices", &invoice_id)] {
            let (status, body) = app.get(&format!("/api/v1/{list}?starting_after={cursor}"), alice_token).await;
            assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "resource_missing", "{list}");
        }
        for path in ["/api/v1/invoices/export.csv", "/api/v1/subscriptions/export.csv"] {
            let csv = app.client.get(app.url(path)).bearer_auth(&alice.token).send().await.unwrap().text().await.unwrap();
            assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
        }
    }
}

both_backends! {
    async fn an_object_of_another_tenants_customer_is_refused_not_merged(app: TestApp) {
        let Some(app) = spawn(app.backend).await else { return };
        merchant(&app).await;
        let story = story();
        deliver_ok(&app, &story[0]).await;
        // Another tenant's connected account sends a subscription naming the same Stripe customer.
        let other = app.user(&unique_email("other")).await;
        app.execute(&format!("INSERT INTO stripe_accounts (account_id, tenant_id, created_at, updated_at) VALUES ('acct_1OtherTenant', '{}', 0, 0)", other.tenant)).await;
        let mut foreign = event_of_type(&story, "customer.subscription.created").clone();
        foreign["account"] = json!("acct_1OtherTenant");
        let (status, body) = deliver(&app, &foreign).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("unassigned")), "{body}");
        assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM subscriptions").await, 0);
        let (_, list) = app.get("/api/v1/subscriptions", Some(&other.token)).await;
        assert_eq!(list["data"], json!([]));
    }
}
