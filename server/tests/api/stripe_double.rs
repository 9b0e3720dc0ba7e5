//! A Stripe double over real HTTP: an axum server answering the endpoints paybus calls with
//! Stripe-shaped JSON (built from Stripe's own example objects in the fixtures) and Stripe-shaped
//! errors. It honours `Idempotency-Key` like Stripe (a repeat gets the first response), records
//! every request (path, `Stripe-Account`, key, form body), and can be told to fail the next call
//! to a path with a card error, an invalid-request error, a rate limit, or a timeout.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    CardDeclined,
    InvalidRequest,
    RateLimited,
    /// Answers only after the client's timeout.
    Timeout,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    #[allow(dead_code)]
    pub method: String,
    pub path: String,
    pub account: Option<String>,
    pub idempotency_key: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    accounts: HashMap<String, Value>,
    intents: HashMap<String, Value>,
    refunds: Vec<Value>,
    sessions: Vec<Value>,
    /// Stripe's answers by idempotency key: (status, body).
    replays: HashMap<String, (u16, Value)>,
    failures: Vec<(String, Failure)>,
    /// Undelivered events by account ("" for the platform).
    undelivered: HashMap<String, Vec<Value>>,
    counter: u64,
}

#[derive(Clone)]
pub struct StripeDouble {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    objects: Arc<Value>,
}

impl StripeDouble {
    pub async fn start() -> StripeDouble {
        let objects: Value = serde_json::from_slice(
            &std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stripe/objects.json")).expect("objects fixture"),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let double = StripeDouble { base: format!("http://{addr}"), inner: Arc::default(), objects: Arc::new(objects) };
        let app = Router::new()
            .route("/v1/accounts", post(create_account))
            .route("/v1/accounts/{id}", get(retrieve_account))
            .route("/v1/accounts/{id}/login_links", post(login_link))
            .route("/v1/account_links", post(account_link))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/payment_intents/{id}/capture", post(capture))
            .route("/v1/payment_intents/{id}/cancel", post(cancel))
            .route("/v1/refunds", post(create_refund))
            .route("/v1/events", get(list_events))
            .fallback(|uri: Uri| async move { stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("Unrecognized request URL ({uri}).")) })
            .with_state(double.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        double
    }

    /// Everything paybus sent, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn requests_to(&self, path_part: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path.contains(path_part)).collect()
    }

    /// Refunds Stripe actually made (repeats under one idempotency key count once).
    pub fn refunds(&self) -> Vec<Value> {
        self.inner.lock().unwrap().refunds.clone()
    }

    pub fn fail_next(&self, path_part: &str, failure: Failure) {
        self.inner.lock().unwrap().failures.push((path_part.to_owned(), failure));
    }

    /// A PaymentIntent Stripe knows about, on a connected account.
    pub fn add_intent(&self, id: &str, amount: i64, status: &str) {
        let mut intent = self.objects["payment_intent"].clone();
        intent["id"] = json!(id);
        intent["amount"] = json!(amount);
        intent["status"] = json!(status);
        intent["amount_capturable"] = json!(if status == "requires_capture" { amount } else { 0 });
        intent["capture_method"] = json!("manual");
        self.inner.lock().unwrap().intents.insert(id.to_owned(), intent);
    }

    /// Flips the account's capabilities, as finishing onboarding would.
    pub fn complete_onboarding(&self, account: &str) {
        let mut inner = self.inner.lock().unwrap();
        let acct = inner.accounts.get_mut(account).expect("known account");
        acct["charges_enabled"] = json!(true);
        acct["payouts_enabled"] = json!(true);
        acct["details_submitted"] = json!(true);
        acct["requirements"]["currently_due"] = json!([]);
    }

    /// An event Stripe failed to deliver, listed by `GET /v1/events?delivery_success=false`.
    pub fn add_undelivered(&self, account: Option<&str>, event: Value) {
        self.inner.lock().unwrap().undelivered.entry(account.unwrap_or("").to_owned()).or_default().push(event);
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.counter += 1;
        format!("{prefix}_double{:06}", inner.counter)
    }
}

fn stripe_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (StatusCode::from_u16(status).unwrap(), Json(json!({ "error": error }))).into_response()
}

/// Records the request, replays an idempotent repeat, or injects a failure. `None`: go on.
async fn intake(double: &StripeDouble, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> (Option<Response>, Recorded) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let recorded = Recorded {
        method: method.to_string(),
        path: path.to_owned(),
        account: header("stripe-account"),
        idempotency_key: header("idempotency-key"),
        form: form_urlencoded::parse(body).into_owned().collect(),
    };
    let (replay, failure) = {
        let mut inner = double.inner.lock().unwrap();
        inner.requests.push(recorded.clone());
        let replay = recorded.idempotency_key.as_ref().and_then(|k| inner.replays.get(k).cloned());
        let failure = if replay.is_none() {
            inner.failures.iter().position(|(p, _)| path.contains(p.as_str())).map(|i| inner.failures.remove(i).1)
        } else {
            None
        };
        (replay, failure)
    };
    if let Some((status, body)) = replay {
        return (Some((StatusCode::from_u16(status).unwrap(), Json(body)).into_response()), recorded);
    }
    let response = match failure {
        None => None,
        Some(Failure::CardDeclined) => Some(stripe_error(402, "card_error", Some("card_declined"), "Your card was declined.")),
        Some(Failure::InvalidRequest) => Some(stripe_error(400, "invalid_request_error", Some("parameter_invalid_integer"), "Invalid integer: abc")),
        Some(Failure::RateLimited) => Some(stripe_error(429, "rate_limit_error", Some("rate_limit"), "Too many requests hit the API too quickly.")),
        Some(Failure::Timeout) => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Some(stripe_error(500, "api_error", None, "too late"))
        }
    };
    (response, recorded)
}

/// Remembers the answer under the request's idempotency key, as Stripe does.
fn answer(double: &StripeDouble, recorded: &Recorded, body: Value) -> Response {
    if let Some(key) = &recorded.idempotency_key {
        double.inner.lock().unwrap().replays.insert(key.clone(), (200, body.clone()));
    }
    Json(body).into_response()
}

async fn create_account(State(d): State<StripeDouble>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let mut account = d.objects["account"].clone();
    let id = d.next_id("acct");
    account["id"] = json!(id);
    account["type"] = json!(rec.param("type").unwrap_or("express"));
    account["email"] = json!(rec.param("email"));
    account["charges_enabled"] = json!(false);
    account["payouts_enabled"] = json!(false);
    account["details_submitted"] = json!(false);
    account["requirements"]["currently_due"] = json!(["business_type", "external_account", "tos_acceptance.date"]);
    account["metadata"] = json!({ "paybus_tenant": rec.param("metadata[paybus_tenant]") });
    d.inner.lock().unwrap().accounts.insert(id, account.clone());
    answer(&d, &rec, account)
}

async fn retrieve_account(State(d): State<StripeDouble>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (early, _) = intake(&d, &method, uri.path(), &headers, b"").await;
    if let Some(r) = early {
        return r;
    }
    match d.inner.lock().unwrap().accounts.get(&id) {
        Some(account) => Json(account.clone()).into_response(),
        None => stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("No such account: '{id}'")),
    }
}

async fn login_link(State(d): State<StripeDouble>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let onboarded = d.inner.lock().unwrap().accounts.get(&id).is_some_and(|a| a["details_submitted"] == json!(true));
    if !onboarded {
        return stripe_error(400, "invalid_request_error", None, "Cannot create a login link for an account that has not completed onboarding.");
    }
    answer(&d, &rec, json!({ "object": "login_link", "created": 1_700_000_000, "url": format!("https://connect.stripe.test/express/{id}") }))
}

async fn account_link(State(d): State<StripeDouble>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let account = rec.param("account").unwrap_or_default().to_owned();
    answer(
        &d,
        &rec,
        json!({ "object": "account_link", "created": 1_700_000_000, "expires_at": 1_700_000_300, "url": format!("https://connect.stripe.test/setup/e/{account}/onboarding") }),
    )
}

async fn create_session(State(d): State<StripeDouble>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let mut total = 0i64;
    for i in 0.. {
        let Some(unit) = rec.param(&format!("line_items[{i}][price_data][unit_amount]")) else { break };
        let qty: i64 = rec.param(&format!("line_items[{i}][quantity]")).and_then(|q| q.parse().ok()).unwrap_or(1);
        total += unit.parse::<i64>().unwrap() * qty;
    }
    let mut session = d.objects["checkout.session"].clone();
    let id = d.next_id("cs_test");
    session["id"] = json!(id);
    session["url"] = json!(format!("https://checkout.stripe.test/c/pay/{id}"));
    session["amount_total"] = json!(total);
    session["currency"] = json!(rec.param("line_items[0][price_data][currency]"));
    session["status"] = json!("open");
    session["success_url"] = json!(rec.param("success_url"));
    session["cancel_url"] = json!(rec.param("cancel_url"));
    d.inner.lock().unwrap().sessions.push(session.clone());
    answer(&d, &rec, session)
}

async fn capture(State(d): State<StripeDouble>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let intent = {
        let mut inner = d.inner.lock().unwrap();
        let Some(intent) = inner.intents.get_mut(&id) else {
            return stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("No such payment_intent: '{id}'"));
        };
        if intent["status"] != json!("requires_capture") {
            return stripe_error(400, "invalid_request_error", Some("payment_intent_unexpected_state"), "This PaymentIntent could not be captured.");
        }
        let amount = rec.param("amount_to_capture").and_then(|a| a.parse::<i64>().ok()).unwrap_or_else(|| intent["amount"].as_i64().unwrap());
        intent["status"] = json!("succeeded");
        intent["amount_received"] = json!(amount);
        intent["amount_capturable"] = json!(0);
        intent.clone()
    };
    answer(&d, &rec, intent)
}

async fn cancel(State(d): State<StripeDouble>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let intent = {
        let mut inner = d.inner.lock().unwrap();
        let Some(intent) = inner.intents.get_mut(&id) else {
            return stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("No such payment_intent: '{id}'"));
        };
        intent["status"] = json!("canceled");
        intent.clone()
    };
    answer(&d, &rec, intent)
}

async fn create_refund(State(d): State<StripeDouble>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let mut refund = d.objects["refund"].clone();
    refund["id"] = json!(d.next_id("re"));
    refund["amount"] = json!(rec.param("amount").and_then(|a| a.parse::<i64>().ok()).unwrap_or(0));
    refund["payment_intent"] = json!(rec.param("payment_intent"));
    refund["charge"] = json!(rec.param("charge"));
    refund["reason"] = json!(rec.param("reason"));
    refund["status"] = json!("succeeded");
    let metadata: serde_json::Map<String, Value> = rec
        .form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')).map(|k| (k.to_owned(), json!(v))))
        .collect();
    refund["metadata"] = Value::Object(metadata);
    d.inner.lock().unwrap().refunds.push(refund.clone());
    answer(&d, &rec, refund)
}

async fn list_events(State(d): State<StripeDouble>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, b"").await;
    if let Some(r) = early {
        return r;
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    if !query.iter().any(|(k, v)| k == "delivery_success" && v == "false") {
        return stripe_error(400, "invalid_request_error", None, "the double only lists undelivered events");
    }
    let events = d.inner.lock().unwrap().undelivered.get(rec.account.as_deref().unwrap_or("")).cloned().unwrap_or_default();
    // Stripe lists newest first and pages with starting_after.
    let after = query.iter().find(|(k, _)| k == "starting_after").map(|(_, v)| v.clone());
    let mut newest_first: Vec<Value> = events.into_iter().rev().collect();
    if let Some(after) = after {
        let pos = newest_first.iter().position(|e| e["id"] == json!(after)).map(|p| p + 1).unwrap_or(0);
        newest_first = newest_first.split_off(pos);
    }
    let limit: usize = query.iter().find(|(k, _)| k == "limit").and_then(|(_, v)| v.parse().ok()).unwrap_or(10);
    let has_more = newest_first.len() > limit;
    newest_first.truncate(limit);
    Json(json!({ "object": "list", "url": "/v1/events", "has_more": has_more, "data": newest_first })).into_response()
}
