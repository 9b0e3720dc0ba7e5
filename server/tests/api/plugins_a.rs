//! The built-in plugins audit-log, email-notifications and chat-alerts, end to end: events made
//! by the real flows (signed Stripe webhooks, API calls), mail through a real SMTP conversation
//! with a sink in the test, chat messages to a local HTTP receiver, plugins switched and
//! configured through `PUT /api/v1/plugins/{name}`.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicU16, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use app::ssr::stripe::signature::header_for;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::helpers::*;

const SECRET: &str = "whsec_plugins_a";

// ---------------------------------------------------------------------------------------------
// An SMTP sink: greets, accepts every sender and recipient, keeps each message.

#[derive(Debug, Clone)]
struct Mail {
    rcpt: Vec<String>,
    headers: HashMap<String, String>,
    body: String,
}

impl Mail {
    fn subject(&self) -> &str {
        self.headers.get("subject").map(String::as_str).unwrap_or_default()
    }
}

#[derive(Clone, Default)]
struct SmtpSink {
    mail: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    async fn start() -> (SmtpSink, String) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let sink = SmtpSink::default();
        let kept = sink.mail.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
                    let mut rcpt = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 sink.test\r\n",
                            "MAIL" => {
                                rcpt.clear();
                                b"250 OK\r\n"
                            }
                            "RCPT" => {
                                let addr = line.split(':').nth(1).unwrap_or_default().trim().trim_start_matches('<').trim_end_matches('>').to_owned();
                                rcpt.push(addr);
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = write.write_all(b"354 end with .\r\n").await;
                                let mut data = Vec::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push(l.strip_prefix('.').map(str::to_owned).filter(|_| l.starts_with("..")).unwrap_or(l));
                                }
                                kept.lock().unwrap().push(parse_mail(rcpt.clone(), &data));
                                b"250 queued\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                return;
                            }
                            _ => b"250 OK\r\n",
                        };
                        if write.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (sink, url)
    }

    fn all(&self) -> Vec<Mail> {
        self.mail.lock().unwrap().clone()
    }

    fn to(&self, address: &str) -> Vec<Mail> {
        self.all().into_iter().filter(|m| m.rcpt.iter().any(|r| r == address)).collect()
    }
}

fn parse_mail(rcpt: Vec<String>, data: &[String]) -> Mail {
    let split = data.iter().position(|l| l.is_empty()).unwrap_or(data.len());
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut last: Option<String> = None;
    for line in &data[..split] {
        if line.starts_with([' ', '\t']) {
            if let Some(k) = &last {
                headers.get_mut(k).unwrap().push_str(line); // unfolding keeps the whitespace
            }
        } else if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            headers.insert(k.clone(), v.trim().to_owned());
            last = Some(k);
        }
    }
    let raw = data.get(split + 1..).unwrap_or_default().join("\n");
    let body = match headers.get("content-transfer-encoding").map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("quoted-printable") => decode_qp(&raw),
        Some("base64") => String::from_utf8(decode_base64(&raw)).unwrap(),
        _ => raw,
    };
    Mail { rcpt, headers, body }
}

fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())]).unwrap_or(""), 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn decode_base64(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        acc = (acc << 6) | ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A chat receiver: records each JSON body posted to /hook/{name}, answers with a chosen status.

#[derive(Clone)]
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<(String, Value, u16)>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got: Arc<Mutex<Vec<(String, Value, u16)>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(200));
        let (g, s) = (got.clone(), status.clone());
        let router = axum::Router::new().route(
            "/hook/{name}",
            axum::routing::post(move |axum::extract::Path(name): axum::extract::Path<String>, axum::Json(body): axum::Json<Value>| {
                let (g, s) = (g.clone(), s.clone());
                async move {
                    let code = s.load(Ordering::SeqCst);
                    g.lock().unwrap().push((name, body, code));
                    (axum::http::StatusCode::from_u16(code).unwrap(), "ok")
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { base, got, status }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.base)
    }

    /// Texts accepted (2xx) on `name`.
    fn texts(&self, name: &str) -> Vec<String> {
        self.got.lock().unwrap().iter().filter(|(n, _, c)| n == name && *c < 300).map(|(_, b, _)| b["text"].as_str().unwrap_or_default().to_owned()).collect()
    }

    fn attempts(&self, name: &str) -> Vec<u16> {
        self.got.lock().unwrap().iter().filter(|(n, _, _)| n == name).map(|(_, _, c)| *c).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The server, users and events.

async fn spawn(backend: Backend, smtp: &str, extra: Vec<(&'static str, String)>) -> Option<TestApp> {
    let mut env = vec![
        ("PAYBUS_MAIL_TRANSPORT", "smtp".to_owned()),
        ("PAYBUS_SMTP_URL", smtp.to_owned()),
        ("STRIPE_PLATFORM_WEBHOOK_SECRET", SECRET.to_owned()),
        ("PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS", "true".to_owned()),
        ("PAYBUS_WELCOME_EMAIL", "true".to_owned()),
        ("PAYBUS_BUS_BACKOFF_BASE_MS", "100".to_owned()),
        ("PAYBUS_BUS_BACKOFF_MAX_MS", "300".to_owned()),
        ("PAYBUS_BUS_POLL_MS", "100".to_owned()),
    ];
    env.extend(extra);
    TestApp::spawn_with(Spawn { backend, env }).await
}

/// Runs a scenario on SQLite and on Postgres, each with its own SMTP sink.
macro_rules! plugins_test {
    (async fn $name:ident($app:ident: TestApp, $sink:ident: SmtpSink) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: TestApp, $sink: SmtpSink) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (sink, url) = SmtpSink::start().await;
                run(spawn(Backend::Sqlite, &url, vec![]).await.unwrap(), sink).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let (sink, url) = SmtpSink::start().await;
                if let Some(app) = spawn(Backend::Postgres, &url, vec![]).await {
                    run(app, sink).await
                }
            }
        }
    };
}

/// Polls `check` until it holds (10 s at most).
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits until the listener has no delivery left to run (so "nothing arrived" means nothing).
async fn settled(app: &TestApp, listener: &str) {
    let sql = format!("SELECT CAST(COUNT(*) AS TEXT) FROM event_deliveries WHERE listener = '{listener}' AND status IN ('pending', 'running')");
    eventually(&format!("{listener} settles"), || async { app.query_strings(&sql).await == vec!["0".to_owned()] }).await;
}

/// Signs up, verifies with the code the sink received, logs in.
async fn user(app: &TestApp, sink: &SmtpSink, email: &str) -> TestUser {
    let signed_up = app.signup(email).await;
    let mut subject = String::new();
    eventually("the verification mail", || {
        let found = sink.to(email).into_iter().find(|m| m.subject().contains("verification code"));
        if let Some(m) = &found {
            subject = m.subject().to_owned();
        }
        async move { found.is_some() }
    })
    .await;
    let code = subject.rsplit(' ').next().unwrap().to_owned();
    let (status, body) = app.post("/api/v1/verify-email-code", None, json!({ "email": email, "code": code })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, tokens) = app.post("/api/v1/login", None, json!({ "email": email, "password": PASSWORD })).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    TestUser {
        id: signed_up["user"]["id"].as_str().unwrap().to_owned(),
        email: email.to_owned(),
        tenant: signed_up["tenant"]["id"].as_str().unwrap().to_owned(),
        token: tokens["access_token"].as_str().unwrap().to_owned(),
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
    }
}

async fn member(app: &TestApp, sink: &SmtpSink, owner: &TestUser, role: &str) -> TestUser {
    let email = unique_email(role);
    let (status, body) = app.post("/api/v1/invitations", Some(&owner.token), json!({ "email": email, "role": role })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut text = String::new();
    eventually("the invitation mail", || {
        let found = sink.to(&email).into_iter().find(|m| m.body.contains("token="));
        if let Some(m) = &found {
            text = m.body.clone();
        }
        async move { found.is_some() }
    })
    .await;
    let token = text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let user = user(app, sink, &email).await;
    let (status, body) = app.post("/api/v1/invitations/accept", Some(&user.token), json!({ "token": token })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

async fn configure(app: &TestApp, owner: &TestUser, plugin: &str, body: Value) -> Value {
    let (status, out) = app.call(Method::PUT, &format!("/api/v1/plugins/{plugin}"), Some(&owner.token), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    out
}

/// A Stripe event about `object`, signed, through `POST /webhook`.
async fn stripe(app: &TestApp, event_type: &str, object: Value) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = json!({
        "id": format!("evt_pa{}", &uuid::Uuid::new_v4().simple().to_string()[..16]),
        "object": "event", "type": event_type, "created": now, "api_version": "2025-03-31.basil", "livemode": false,
        "data": { "object": object },
    });
    let body = serde_json::to_vec(&event).unwrap();
    let response = app
        .client
        .post(app.url("/webhook"))
        .header("content-type", "application/json")
        .header("Stripe-Signature", header_for(SECRET, now, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap_or_default());
}

fn intent(tenant: &str, id: &str, amount: i64, currency: &str, email: &str) -> Value {
    json!({ "id": id, "object": "payment_intent", "amount": amount, "currency": currency, "created": 1_800_000_000,
        "metadata": { "paybus_tenant": tenant }, "receipt_email": email })
}

/// A payment whose money arrives: `payment.captured` and `payment.succeeded`.
async fn pay(app: &TestApp, tenant: &str, id: &str, amount: i64, currency: &str, email: &str) {
    let mut o = intent(tenant, id, amount, currency, email);
    o["status"] = json!("succeeded");
    o["amount_received"] = json!(amount);
    stripe(app, "payment_intent.succeeded", o).await;
}

async fn fail(app: &TestApp, tenant: &str, id: &str, amount: i64, email: &str) {
    let mut o = intent(tenant, id, amount, "usd", email);
    o["status"] = json!("requires_payment_method");
    o["amount_received"] = json!(0);
    o["last_payment_error"] = json!({ "type": "card_error", "code": "card_declined", "message": "Your card has insufficient funds." });
    stripe(app, "payment_intent.payment_failed", o).await;
}

async fn dispute(app: &TestApp, tenant: &str, id: &str, intent: &str, amount: i64) {
    stripe(
        app,
        "charge.dispute.created",
        json!({ "id": id, "object": "dispute", "amount": amount, "currency": "usd", "reason": "fraudulent", "status": "needs_response",
            "payment_intent": intent, "charge": format!("ch_{}", &intent[3..]), "created": 1_800_000_100, "metadata": { "paybus_tenant": tenant } }),
    )
    .await;
}

fn pi(tag: &str) -> String {
    format!("pi_{tag}{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

async fn payment_id(app: &TestApp, intent: &str) -> String {
    app.query_strings(&format!("SELECT id FROM payments WHERE stripe_payment_intent = '{intent}'")).await.pop().expect("the payment is in the ledger")
}

// ---------------------------------------------------------------------------------------------
// email-notifications

plugins_test! {
    async fn receipts_alerts_and_the_welcome_mail_go_out_once_each(app: TestApp, sink: SmtpSink) {
        let owner = user(&app, &sink, &unique_email("mail-owner")).await;
        // The welcome is the platform's: sent on signup whatever the tenant's plugins.
        eventually("the welcome mail", || async { sink.to(&owner.email).iter().any(|m| m.subject() == "Welcome to paybus") }).await;
        let welcome = sink.to(&owner.email).into_iter().find(|m| m.subject() == "Welcome to paybus").unwrap();
        assert!(welcome.body.contains(&owner.email) && welcome.body.contains("/login"), "{}", welcome.body);

        // The tenant's addresses, overridden by the plugin's own list.
        let (status, body) = app.call(Method::PATCH, "/api/v1/settings", Some(&owner.token), Some(json!({ "notification_emails": ["ops@merchant.example"] }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let on = configure(&app, &owner, "email-notifications", json!({ "enabled": true, "config": {
            "notification_emails": ["alerts@merchant.example"], "reply_to": "help@merchant.example", "signature": "Thanks, the Merchant team" } })).await;
        assert_eq!(on["health"]["status"], "healthy", "{on}");

        // Receipt: captured and succeeded both arrive; one mail.
        let paid = pi("mailrcpt");
        pay(&app, &owner.tenant, &paid, 1250, "usd", "buyer@shop.example").await;
        settled(&app, "email-notifications").await;
        let receipts = sink.to("buyer@shop.example");
        assert_eq!(receipts.len(), 1, "one receipt per payment: {receipts:?}");
        let receipt = &receipts[0];
        assert!(receipt.subject().contains("12.50 USD"), "{}", receipt.subject());
        assert!(receipt.subject().contains("workspace"), "the tenant's name: {}", receipt.subject());
        assert!(receipt.body.contains(&payment_id(&app, &paid).await), "{}", receipt.body);
        assert!(receipt.body.contains("Thanks, the Merchant team"), "{}", receipt.body);
        assert_eq!(receipt.headers.get("reply-to").map(String::as_str), Some("help@merchant.example"));

        // A failed payment and a dispute alert the plugin's addresses, not the settings' ones.
        fail(&app, &owner.tenant, &pi("mailfail"), 5000, "unlucky@shop.example").await;
        dispute(&app, &owner.tenant, &format!("dp_{}", &paid[3..]), &paid, 1250).await;
        settled(&app, "email-notifications").await;
        let alerts = sink.to("alerts@merchant.example");
        let subjects: Vec<&str> = alerts.iter().map(|m| m.subject()).collect();
        assert_eq!(alerts.len(), 2, "{subjects:?}");
        assert!(subjects.iter().any(|s| s.contains("Payment failed: 50.00 USD from unlucky@shop.example")), "{subjects:?}");
        assert!(subjects.iter().any(|s| s.contains("Dispute opened: 12.50 USD (fraudulent)")), "{subjects:?}");
        assert!(alerts.iter().any(|m| m.body.contains("Your card has insufficient funds.")));
        assert!(sink.to("ops@merchant.example").is_empty(), "the plugin's own list overrides the settings'");
        assert!(sink.to("unlucky@shop.example").is_empty(), "no receipt for a failed payment");

        // Redelivered (a replay of everything to this plugin): nothing is mailed twice.
        let before = sink.all().len();
        let (status, job) = app.post("/api/v1/replays", Some(&owner.token), json!({ "types": ["*"], "listener": "email-notifications" })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let job_id = job["id"].as_str().unwrap().to_owned();
        eventually("the replay completes", || async {
            app.get(&format!("/api/v1/replays/{job_id}"), Some(&owner.token)).await.1["status"] == "completed"
        }).await;
        settled(&app, "email-notifications").await;
        assert_eq!(sink.all().len(), before, "a replay mails nothing again");

        // Without its own list, alerts go to the settings' addresses.
        configure(&app, &owner, "email-notifications", json!({ "config": { "notification_emails": null } })).await;
        fail(&app, &owner.tenant, &pi("mailfail2"), 700, "again@shop.example").await;
        settled(&app, "email-notifications").await;
        assert_eq!(sink.to("ops@merchant.example").len(), 1);

        // The test sends to the alert addresses.
        let (status, test) = app.post("/api/v1/plugins/email-notifications/test", Some(&owner.token), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{test}");
        assert_eq!(test["ok"], true, "{test}");
        assert!(sink.to("ops@merchant.example").iter().any(|m| m.subject().contains("Test email")));
    }
}

plugins_test! {
    async fn nothing_is_mailed_for_a_tenant_that_has_not_switched_it_on(app: TestApp, sink: SmtpSink) {
        let on = user(&app, &sink, &unique_email("mail-on")).await;
        let off = user(&app, &sink, &unique_email("mail-off")).await;
        for u in [&on, &off] {
            let (status, _) = app.call(Method::PATCH, "/api/v1/settings", Some(&u.token), Some(json!({ "notification_emails": [format!("ops-{}", u.email)] }))).await;
            assert_eq!(status, StatusCode::OK);
        }
        let plugin = app.get("/api/v1/plugins/email-notifications", Some(&off.token)).await.1;
        assert_eq!(plugin["enabled"], false, "off unless switched on: {plugin}");
        configure(&app, &on, "email-notifications", json!({ "enabled": true })).await;

        pay(&app, &off.tenant, &pi("offpay"), 900, "usd", "off-buyer@shop.example").await;
        fail(&app, &off.tenant, &pi("offfail"), 900, "off-buyer@shop.example").await;
        pay(&app, &on.tenant, &pi("onpay"), 900, "usd", "on-buyer@shop.example").await;
        settled(&app, "email-notifications").await;
        assert_eq!(sink.to("on-buyer@shop.example").len(), 1);
        assert!(sink.to("off-buyer@shop.example").is_empty());
        assert!(sink.to(&format!("ops-{}", off.email)).is_empty());

        // Switched off: the next payment gets no receipt, at once.
        configure(&app, &on, "email-notifications", json!({ "enabled": false })).await;
        pay(&app, &on.tenant, &pi("onpay2"), 900, "usd", "later-buyer@shop.example").await;
        settled(&app, "email-notifications").await;
        assert!(sink.to("later-buyer@shop.example").is_empty());
    }
}

plugins_test! {
    async fn alerts_without_any_address_show_as_unconfigured(app: TestApp, sink: SmtpSink) {
        let owner = user(&app, &sink, &unique_email("mail-unconf")).await;
        let out = configure(&app, &owner, "email-notifications", json!({ "enabled": true })).await;
        assert_eq!(out["health"]["status"], "unconfigured", "{out}");
        let (status, test) = app.post("/api/v1/plugins/email-notifications/test", Some(&owner.token), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(test["ok"], false, "{test}");
        let out = configure(&app, &owner, "email-notifications", json!({ "config": { "send_failed_alerts": false, "send_dispute_alerts": false } })).await;
        assert_eq!(out["health"]["status"], "healthy", "receipts alone need no team address: {out}");
    }
}

// ---------------------------------------------------------------------------------------------
// chat-alerts

plugins_test! {
    async fn chat_gets_disputes_and_large_payments_while_it_is_on(app: TestApp, sink: SmtpSink) {
        let chat = Receiver::start().await;
        let owner = user(&app, &sink, &unique_email("chat")).await;
        let out = configure(&app, &owner, "chat-alerts", json!({ "enabled": true, "config": {
            "webhook_url": chat.url("a"), "large_payment_threshold": 100_000, "large_payment_currency": "usd" } })).await;
        assert_eq!(out["health"]["status"], "healthy", "{out}");

        let small = pi("chatsmall");
        pay(&app, &owner.tenant, &small, 5_000, "usd", "small@shop.example").await;
        let large = pi("chatlarge");
        pay(&app, &owner.tenant, &large, 250_000, "usd", "big@shop.example").await;
        pay(&app, &owner.tenant, &pi("chateur"), 250_000, "eur", "euro@shop.example").await;
        dispute(&app, &owner.tenant, &format!("dp_{}", &small[3..]), &small, 5_000).await;
        settled(&app, "chat-alerts").await;
        let texts = chat.texts("a");
        assert_eq!(texts.len(), 2, "the large payment and the dispute only: {texts:?}");
        let big = texts.iter().find(|t| t.contains("Large payment")).expect("a large-payment message");
        assert!(big.contains("2500.00 USD") && big.contains("big@shop.example"), "{big}");
        assert!(big.contains(&format!("/payments/{}", payment_id(&app, &large).await)), "links to the dashboard: {big}");
        let opened = texts.iter().find(|t| t.contains("Dispute opened")).expect("a dispute message");
        assert!(opened.contains("50.00 USD") && opened.contains("small@shop.example") && opened.contains("/disputes/dsp_"), "{opened}");
        assert!(!texts.iter().any(|t| t.contains("euro@shop.example")), "a payment in another currency is not compared");
        let body = chat.got.lock().unwrap().iter().find(|(_, b, _)| b["text"].as_str().is_some_and(|t| t.contains("Dispute"))).unwrap().1.clone();
        assert!(body["blocks"].is_array(), "Slack blocks: {body}");

        // Off: nothing more, at once.
        configure(&app, &owner, "chat-alerts", json!({ "enabled": false })).await;
        let second = pi("chatoff");
        pay(&app, &owner.tenant, &second, 300_000, "usd", "off@shop.example").await;
        dispute(&app, &owner.tenant, &format!("dp_{}", &second[3..]), &second, 300_000).await;
        settled(&app, "chat-alerts").await;
        assert_eq!(chat.texts("a").len(), 2, "nothing after switching off: {:?}", chat.texts("a"));

        // On again, now as Rocket.Chat: the next event arrives in its shape.
        configure(&app, &owner, "chat-alerts", json!({ "enabled": true, "config": { "flavor": "rocketchat" } })).await;
        fail(&app, &owner.tenant, &pi("chatfail"), 4_200, "declined@shop.example").await;
        settled(&app, "chat-alerts").await;
        let last = chat.got.lock().unwrap().last().unwrap().1.clone();
        assert!(last["text"].as_str().unwrap().contains("Payment failed: 42.00 USD"), "{last}");
        assert!(last["attachments"][0]["title_link"].as_str().unwrap().contains("/payments/pay_"), "{last}");

        // The test posts and says what the chat answered.
        let (status, test) = app.post("/api/v1/plugins/chat-alerts/test", Some(&owner.token), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(test["ok"], true, "{test}");
        assert!(test["message"].as_str().unwrap().contains("200"), "{test}");
        assert!(chat.texts("a").iter().any(|t| t.contains("Test message")));
    }
}

plugins_test! {
    async fn a_failing_chat_is_retried_and_a_refusing_one_is_not(app: TestApp, sink: SmtpSink) {
        let chat = Receiver::start().await;
        let owner = user(&app, &sink, &unique_email("chat-retry")).await;
        configure(&app, &owner, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": chat.url("r") } })).await;

        chat.status.store(500, Ordering::SeqCst);
        fail(&app, &owner.tenant, &pi("retry"), 1_000, "r@shop.example").await;
        eventually("a first, failed attempt", || async { !chat.attempts("r").is_empty() }).await;
        chat.status.store(200, Ordering::SeqCst);
        settled(&app, "chat-alerts").await;
        let attempts = chat.attempts("r");
        assert_eq!(attempts.last(), Some(&200), "{attempts:?}");
        assert!(attempts.len() >= 2 && attempts[0] == 500, "{attempts:?}");
        assert_eq!(chat.texts("r").len(), 1, "posted once it worked, and only once");

        // 404 from the chat: final, no retries.
        chat.status.store(404, Ordering::SeqCst);
        fail(&app, &owner.tenant, &pi("gone"), 1_000, "g@shop.example").await;
        settled(&app, "chat-alerts").await;
        assert_eq!(chat.attempts("r").iter().filter(|c| **c == 404).count(), 1);
        let dead = app.query_strings("SELECT status FROM event_deliveries WHERE listener = 'chat-alerts' AND status = 'dead'").await;
        assert_eq!(dead.len(), 1, "{dead:?}");
    }
}

plugins_test! {
    async fn one_tenants_plugin_settings_never_affect_another(app: TestApp, sink: SmtpSink) {
        let chat = Receiver::start().await;
        let a = user(&app, &sink, &unique_email("tenant-a")).await;
        let b = user(&app, &sink, &unique_email("tenant-b")).await;
        configure(&app, &a, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": chat.url("a") } })).await;
        configure(&app, &b, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": chat.url("b"), "events": ["payment.succeeded"] } })).await;

        let pa = pi("ta");
        pay(&app, &a.tenant, &pa, 1_000, "usd", "a-buyer@shop.example").await;
        dispute(&app, &a.tenant, &format!("dp_{}", &pa[3..]), &pa, 1_000).await;
        let pb = pi("tb");
        pay(&app, &b.tenant, &pb, 2_000, "usd", "b-buyer@shop.example").await;
        dispute(&app, &b.tenant, &format!("dp_{}", &pb[3..]), &pb, 2_000).await;
        settled(&app, "chat-alerts").await;

        let to_a = chat.texts("a");
        let to_b = chat.texts("b");
        assert_eq!(to_a.len(), 1, "A: its dispute only (its default events): {to_a:?}");
        assert!(to_a[0].contains("Dispute opened") && to_a[0].contains("a-buyer@shop.example"), "{to_a:?}");
        assert_eq!(to_b.len(), 1, "B: its succeeded payment only: {to_b:?}");
        assert!(to_b[0].contains(&payment_id(&app, &pb).await), "{to_b:?}");
        assert!(!to_b.iter().any(|t| t.contains("a-buyer")) && !to_a.iter().any(|t| t.contains("b-buyer")));

        // Switching A off leaves B on.
        configure(&app, &a, "chat-alerts", json!({ "enabled": false })).await;
        pay(&app, &a.tenant, &pi("ta2"), 1_000, "usd", "a2@shop.example").await;
        fail(&app, &a.tenant, &pi("ta3"), 1_000, "a3@shop.example").await;
        pay(&app, &b.tenant, &pi("tb2"), 3_000, "usd", "b2@shop.example").await;
        settled(&app, "chat-alerts").await;
        assert_eq!(chat.texts("a").len(), 1);
        assert_eq!(chat.texts("b").len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_refuses_loopback_targets_unless_they_are_allowed() {
    let chat = Receiver::start().await;
    let (sink, url) = SmtpSink::start().await;
    let app = spawn(Backend::Sqlite, &url, vec![("PAYBUS_ALLOW_PRIVATE_WEBHOOK_TARGETS", "false".into())]).await.unwrap();
    let owner = user(&app, &sink, &unique_email("ssrf")).await;
    let out = configure(&app, &owner, "chat-alerts", json!({ "enabled": true, "config": { "webhook_url": chat.url("x") } })).await;
    assert_eq!(out["health"]["status"], "unhealthy", "{out}");
    let (_, test) = app.post("/api/v1/plugins/chat-alerts/test", Some(&owner.token), json!({})).await;
    assert_eq!(test["ok"], false, "{test}");
    assert!(test["message"].as_str().unwrap().contains("private or loopback"), "{test}");
    fail(&app, &owner.tenant, &pi("ssrf"), 1_000, "s@shop.example").await;
    settled(&app, "chat-alerts").await;
    assert!(chat.attempts("x").is_empty(), "nothing reached the loopback receiver");
}

// ---------------------------------------------------------------------------------------------
// audit-log

plugins_test! {
    async fn the_audit_log_records_searches_and_exports_each_tenants_events(app: TestApp, sink: SmtpSink) {
        let owner = user(&app, &sink, &unique_email("audit")).await;
        let other = user(&app, &sink, &unique_email("audit-other")).await;
        let (status, key) = app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "Checkout" })).await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        let key_id = key["id"].as_str().unwrap().to_owned();
        let (status, other_key) = app.post("/api/v1/api-keys", Some(&other.token), json!({ "name": "Other" })).await;
        assert_eq!(status, StatusCode::CREATED);
        let paid = pi("audit");
        pay(&app, &owner.tenant, &paid, 1_250, "usd", "audit-buyer@shop.example").await;
        settled(&app, "audit-log").await;
        let pay_id = payment_id(&app, &paid).await;

        let (status, list) = app.get("/api/v1/audit-log?limit=100", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["object"], "list");
        let entries = list["data"].as_array().unwrap();
        let created = entries.iter().find(|e| e["event_type"] == "api_key.created").expect("the key's creation is recorded");
        assert_eq!(created["summary"], format!("API key {key_id} \u{201c}Checkout\u{201d} (developer, test) created by {}", owner.id), "{created}");
        assert_eq!(created["actor"], owner.id.as_str());
        assert_eq!(created["actor_type"], "user");
        assert_eq!(created["source"], "api");
        assert_eq!(created["ip"], "127.0.0.1");
        assert_eq!(created["object_id"], key_id.as_str());
        assert!(created["id"].as_str().unwrap().starts_with("aud_"));
        let captured = entries.iter().find(|e| e["event_type"] == "payment.captured").expect("the capture is recorded");
        assert_eq!(captured["summary"], format!("Stripe captured 12.50 USD on {pay_id}"));
        assert_eq!(captured["actor_type"], "webhook");
        // One row per event.
        let (_, events) = app.get("/api/v1/events?limit=100", Some(&owner.token)).await;
        assert_eq!(entries.len(), events["data"].as_array().unwrap().len(), "one entry per event");
        // Another tenant's trail is its own.
        assert!(!list.to_string().contains(other_key["id"].as_str().unwrap()));
        let (_, theirs) = app.get("/api/v1/audit-log?limit=100", Some(&other.token)).await;
        assert!(!theirs.to_string().contains(&key_id) && !theirs.to_string().contains(&pay_id));

        // Search: text (in summary, actor or object), type pattern, actor, time.
        let search = |query: &str| {
            let (app, token) = (&app, owner.token.clone());
            let path = format!("/api/v1/audit-log?{query}");
            async move {
                let (status, body) = app.get(&path, Some(&token)).await;
                assert_eq!(status, StatusCode::OK, "{path}: {body}");
                body["data"].as_array().unwrap().iter().map(|e| e["event_type"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        assert_eq!(search(&format!("q={pay_id}&type=payment.captured")).await, vec!["payment.captured"]);
        assert!(search("q=CAPTURED").await.contains(&"payment.captured".to_owned()), "case-insensitive");
        let by_type = search("type=payment.*").await;
        assert!(!by_type.is_empty() && by_type.iter().all(|t| t.starts_with("payment.")), "{by_type:?}");
        let by_actor = search(&format!("actor={}", owner.id)).await;
        assert!(by_actor.contains(&"api_key.created".to_owned()) && !by_actor.iter().any(|t| t.starts_with("payment.")), "{by_actor:?}");
        assert_eq!(search(&format!("q={key_id}")).await, vec!["api_key.created"]);
        assert!(search("q=100%25_nothing").await.is_empty(), "wildcards are literal");
        assert!(search("to=2000-01-01T00:00:00Z").await.is_empty());
        assert_eq!(search("from=2000-01-01T00:00:00Z&limit=100").await.len(), entries.len());
        let (status, body) = app.get("/api/v1/audit-log?type=paymnt.*", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid");
        let (status, body) = app.get("/api/v1/audit-log?from=yesterday", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::BAD_REQUEST), "parameter_invalid_time");

        // Pages, newest first, without gaps or repeats.
        let mut seen: Vec<String> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let path = match &after { Some(id) => format!("/api/v1/audit-log?limit=2&starting_after={id}"), None => "/api/v1/audit-log?limit=2".into() };
            let (_, page) = app.get(&path, Some(&owner.token)).await;
            let ids: Vec<String> = page["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
            seen.extend(ids.iter().cloned());
            if page["has_more"] != true {
                break;
            }
            after = ids.last().cloned();
        }
        let all: Vec<String> = entries.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(seen, all);

        // CSV of the search.
        let response = app.client.get(app.url("/api/v1/audit-log/export.csv?type=api_key.*")).bearer_auth(&owner.token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let csv = response.text().await.unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "id,occurred_at,event_type,actor_type,actor,source,ip,object_id,summary,event_id");
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[1].contains(&key_id) && lines[1].contains(",api_key.created,user,") && lines[1].contains("Checkout"), "{csv}");

        // A replay to the plugin adds nothing.
        let (status, _) = app.post("/api/v1/replays", Some(&owner.token), json!({ "types": ["*"], "listener": "audit-log" })).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        eventually("the replay is recorded", || async { !search("type=bus.replay_completed").await.is_empty() }).await;
        settled(&app, "audit-log").await;
        let (_, again) = app.get("/api/v1/audit-log?limit=100", Some(&owner.token)).await;
        let (_, events) = app.get("/api/v1/events?limit=100", Some(&owner.token)).await;
        assert_eq!(again["data"].as_array().unwrap().len(), events["data"].as_array().unwrap().len(), "a replayed event is not recorded twice");
        assert_eq!(again["data"].as_array().unwrap().len(), entries.len() + 1, "only the replay's own event is new");
    }
}

plugins_test! {
    async fn analysts_read_the_audit_log_and_viewers_do_not(app: TestApp, sink: SmtpSink) {
        let owner = user(&app, &sink, &unique_email("audit-rbac")).await;
        let in_tenant = [("X-Tenant-Id", owner.tenant.as_str())];
        for (role, allowed) in [("admin", true), ("developer", true), ("analyst", true), ("viewer", false)] {
            let u = member(&app, &sink, &owner, role).await;
            for path in ["/api/v1/audit-log", "/api/v1/audit-log/export.csv"] {
                let (status, body) = app.call_with(Method::GET, path, Some(&u.token), None, &in_tenant).await;
                if allowed {
                    assert_eq!(status, StatusCode::OK, "{role} {path}: {body}");
                } else {
                    assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "insufficient_role", "{role} {path}");
                }
            }
        }
        // A switched-off audit log records nothing new.
        configure(&app, &owner, "audit-log", json!({ "enabled": false })).await;
        let (status, _) = app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "Unrecorded" })).await;
        assert_eq!(status, StatusCode::CREATED);
        settled(&app, "audit-log").await;
        let (_, list) = app.get("/api/v1/audit-log?q=Unrecorded", Some(&owner.token)).await;
        assert!(list["data"].as_array().unwrap().is_empty(), "{list}");
    }
}
