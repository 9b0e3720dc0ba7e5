//! A Stripe double over real HTTP: an axum server answering the endpoints paybus calls with
//! Stripe-shaped JSON (built from Stripe's own example objects) and Stripe-shaped errors. It
//! honours `Idempotency-Key` like Stripe (a repeat gets the first response), records every request
//! (path, `Stripe-Account`, key, form body), and can be told to fail the next call to a path with
//! a card error, an invalid-request error, a rate limit, or a timeout.
//!
//! The tests use it as Stripe; `paybus serve --demo` runs it when no `STRIPE_SECRET_KEY` is set,
//! so every Stripe-out flow works on a laptop. Given a webhook target it also behaves like Stripe
//! afterwards: hosted onboarding and checkout pages that complete when visited, and signed
//! webhooks (`account.updated`, `payment_intent.*`, `refund.created`,
//! `checkout.session.completed`) sent back to paybus.

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
    extract::Query,
    response::{Html, IntoResponse, Redirect, Response},
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

/// Where the double sends the webhooks that follow its actions, and the secret it signs with.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: String,
    pub secret: String,
}

#[derive(Default)]
struct Inner {
    webhook: Option<WebhookTarget>,
    requests: Vec<Recorded>,
    accounts: HashMap<String, Value>,
    intents: HashMap<String, Value>,
    refunds: Vec<Value>,
    sessions: Vec<(Option<String>, Value)>,
    /// Stripe's answers by idempotency key: (status, body).
    replays: HashMap<String, (u16, Value)>,
    failures: Vec<(String, Failure)>,
    /// Undelivered events by account ("" for the platform).
    undelivered: HashMap<String, Vec<Value>>,
    counter: u64,
}

#[derive(Clone)]
pub struct StripeMock {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
    objects: Arc<Value>,
}

impl StripeMock {
    /// Starts on a random local port.
    pub async fn start() -> StripeMock {
        Self::start_on("127.0.0.1:0").await.expect("a local port for the Stripe mock")
    }

    pub async fn start_on(addr: &str) -> std::io::Result<StripeMock> {
        let objects: Value = serde_json::from_str(crate::cli_stripe::OBJECTS).expect("bundled Stripe objects are JSON");
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr: SocketAddr = listener.local_addr()?;
        let double = StripeMock { base: format!("http://{addr}"), inner: Arc::default(), objects: Arc::new(objects) };
        let app = Router::new()
            .route("/v1/accounts", post(create_account))
            .route("/v1/accounts/{id}", get(retrieve_account))
            .route("/v1/accounts/{id}/login_links", post(login_link))
            .route("/v1/account_links", post(account_link))
            .route("/v1/checkout/sessions", post(create_session))
            .route("/v1/payment_intents/{id}/capture", post(capture))
            .route("/v1/payment_intents/{id}/cancel", post(cancel))
            .route("/v1/refunds", post(create_refund).get(list_refunds))
            .route("/v1/events", get(list_events))
            .route("/connect/onboard/{account}", get(onboarding_page))
            .route("/express/{account}", get(express_page))
            .route("/checkout/{session}", get(checkout_page).post(pay))
            .fallback(|uri: Uri| async move { stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("Unrecognized request URL ({uri}).")) })
            .with_state(double.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Stripe mock stopped");
            }
        });
        Ok(double)
    }

    /// Makes the double send Stripe-signed webhooks for what happens to its objects.
    pub fn send_webhooks_to(&self, url: &str, secret: &str) {
        self.inner.lock().unwrap().webhook = Some(WebhookTarget { url: url.to_owned(), secret: secret.to_owned() });
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

    /// A PaymentIntent Stripe knows about.
    pub fn add_intent(&self, id: &str, amount: i64, status: &str) {
        self.add_intent_for(id, amount, "usd", status, None);
    }

    /// A PaymentIntent of a platform tenant (`metadata.paybus_tenant`).
    pub fn add_intent_for(&self, id: &str, amount: i64, currency: &str, status: &str, tenant: Option<&str>) {
        let mut intent = self.objects["payment_intent"].clone();
        intent["id"] = json!(id);
        intent["currency"] = json!(currency);
        intent["created"] = json!(now());
        intent["metadata"] = json!({});
        if let Some(tenant) = tenant {
            intent["metadata"]["paybus_tenant"] = json!(tenant);
        }
        intent["amount"] = json!(amount);
        intent["status"] = json!(status);
        intent["amount_capturable"] = json!(if status == "requires_capture" { amount } else { 0 });
        intent["capture_method"] = json!("manual");
        self.inner.lock().unwrap().intents.insert(id.to_owned(), intent);
    }

    /// A connected account Stripe knows about, onboarded (charges and payouts enabled).
    pub fn add_onboarded_account(&self, id: &str, tenant: &str) {
        let mut account = self.objects["account"].clone();
        account["id"] = json!(id);
        account["type"] = json!("express");
        account["charges_enabled"] = json!(true);
        account["payouts_enabled"] = json!(true);
        account["details_submitted"] = json!(true);
        account["requirements"]["currently_due"] = json!([]);
        account["metadata"] = json!({ "paybus_tenant": tenant });
        self.inner.lock().unwrap().accounts.insert(id.to_owned(), account);
    }

    /// Flips the account's capabilities, as finishing onboarding would.
    pub fn complete_onboarding(&self, account: &str) {
        let updated = {
            let mut inner = self.inner.lock().unwrap();
            let Some(acct) = inner.accounts.get_mut(account) else { return };
            acct["charges_enabled"] = json!(true);
            acct["payouts_enabled"] = json!(true);
            acct["details_submitted"] = json!(true);
            acct["requirements"]["currently_due"] = json!([]);
            acct.clone()
        };
        self.emit("account.updated", updated, Some(account));
    }

    /// Sends one Stripe-signed event to the webhook target, if there is one, in the background
    /// (Stripe delivers after it answered the API call).
    fn emit(&self, event_type: &str, object: Value, account: Option<&str>) {
        let Some(target) = self.inner.lock().unwrap().webhook.clone() else { return };
        let mut event = json!({
            "id": self.next_id("evt"),
            "object": "event",
            "api_version": app::ssr::stripe::client::api_version(),
            "created": now(),
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null },
            "type": event_type,
            "data": { "object": object },
        });
        if let Some(account) = account {
            event["account"] = json!(account);
        }
        tokio::spawn(async move {
            let body = serde_json::to_vec(&event).unwrap_or_default();
            let header = app::ssr::stripe::signature::header_for(&target.secret, now(), &body);
            let sent = reqwest::Client::new().post(&target.url).header("Stripe-Signature", header).header("content-type", "application/json").body(body).send().await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "Stripe mock could not deliver a webhook");
            }
        });
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

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn stripe_error(status: u16, kind: &str, code: Option<&str>, message: &str) -> Response {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (StatusCode::from_u16(status).unwrap(), Json(json!({ "error": error }))).into_response()
}

/// Records the request, replays an idempotent repeat, or injects a failure. `None`: go on.
async fn intake(double: &StripeMock, method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> (Option<Response>, Recorded) {
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
fn answer(double: &StripeMock, recorded: &Recorded, body: Value) -> Response {
    if let Some(key) = &recorded.idempotency_key {
        double.inner.lock().unwrap().replays.insert(key.clone(), (200, body.clone()));
    }
    Json(body).into_response()
}

async fn create_account(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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

async fn retrieve_account(State(d): State<StripeMock>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (early, _) = intake(&d, &method, uri.path(), &headers, b"").await;
    if let Some(r) = early {
        return r;
    }
    match d.inner.lock().unwrap().accounts.get(&id) {
        Some(account) => Json(account.clone()).into_response(),
        None => stripe_error(404, "invalid_request_error", Some("resource_missing"), &format!("No such account: '{id}'")),
    }
}

async fn login_link(State(d): State<StripeMock>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let onboarded = d.inner.lock().unwrap().accounts.get(&id).is_some_and(|a| a["details_submitted"] == json!(true));
    if !onboarded {
        return stripe_error(400, "invalid_request_error", None, "Cannot create a login link for an account that has not completed onboarding.");
    }
    answer(&d, &rec, json!({ "object": "login_link", "created": now(), "url": format!("{}/express/{id}", d.base) }))
}

async fn account_link(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (early, rec) = intake(&d, &method, uri.path(), &headers, &body).await;
    if let Some(r) = early {
        return r;
    }
    let account = rec.param("account").unwrap_or_default().to_owned();
    let back: String = form_urlencoded::Serializer::new(String::new()).append_pair("return_url", rec.param("return_url").unwrap_or("/")).finish();
    answer(&d, &rec, json!({ "object": "account_link", "created": now(), "expires_at": now() + 300, "url": format!("{}/connect/onboard/{account}?{back}", d.base) }))
}

async fn create_session(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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
    session["url"] = json!(format!("{}/checkout/{id}", d.base));
    session["created"] = json!(now());
    session["customer_email"] = json!(rec.param("customer_email"));
    session["client_reference_id"] = json!(rec.param("client_reference_id"));
    session["metadata"] = json!(metadata_of(&rec));
    session["amount_total"] = json!(total);
    session["currency"] = json!(rec.param("line_items[0][price_data][currency]"));
    session["status"] = json!("open");
    session["success_url"] = json!(rec.param("success_url"));
    session["cancel_url"] = json!(rec.param("cancel_url"));
    d.inner.lock().unwrap().sessions.push((rec.account.clone(), session.clone()));
    answer(&d, &rec, session)
}

async fn capture(State(d): State<StripeMock>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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
    d.emit("payment_intent.succeeded", intent.clone(), rec.account.as_deref());
    answer(&d, &rec, intent)
}

async fn cancel(State(d): State<StripeMock>, Path(id): Path<String>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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
        intent["canceled_at"] = json!(now());
        intent.clone()
    };
    d.emit("payment_intent.canceled", intent.clone(), rec.account.as_deref());
    answer(&d, &rec, intent)
}

async fn create_refund(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
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
    refund["metadata"] = Value::Object(metadata_of(&rec));
    refund["created"] = json!(now());
    let currency = {
        let inner = d.inner.lock().unwrap();
        rec.param("payment_intent").and_then(|pi| inner.intents.get(pi)).and_then(|i| i["currency"].as_str().map(str::to_owned))
    };
    if let Some(currency) = currency {
        refund["currency"] = json!(currency);
    }
    d.inner.lock().unwrap().refunds.push(refund.clone());
    d.emit("refund.created", refund.clone(), rec.account.as_deref());
    answer(&d, &rec, refund)
}

async fn list_refunds(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let (early, _) = intake(&d, &method, uri.path(), &headers, b"").await;
    if let Some(r) = early {
        return r;
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let wanted = |field: &str| query.iter().find(|(k, _)| k == field).map(|(_, v)| v.clone());
    let (intent, charge) = (wanted("payment_intent"), wanted("charge"));
    let refunds: Vec<Value> = d
        .refunds()
        .into_iter()
        .rev()
        .filter(|r| intent.as_ref().is_none_or(|pi| r["payment_intent"] == json!(pi)) && charge.as_ref().is_none_or(|ch| r["charge"] == json!(ch)))
        .collect();
    Json(json!({ "object": "list", "url": "/v1/refunds", "has_more": false, "data": refunds })).into_response()
}

async fn list_events(State(d): State<StripeMock>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
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

fn metadata_of(rec: &Recorded) -> serde_json::Map<String, Value> {
    rec.form
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')).map(|k| (k.to_owned(), json!(v))))
        .collect()
}

fn page(title: &str, body: String) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:36rem;margin:3rem auto\"><p><strong>Stripe mock</strong> (paybus test mode)</p><h1>{title}</h1>{body}</body></html>"
    ))
}

#[derive(serde::Deserialize)]
struct ReturnTo {
    return_url: Option<String>,
}

/// Stripe-hosted onboarding, collapsed: visiting the link completes it and returns to paybus.
async fn onboarding_page(State(d): State<StripeMock>, Path(account): Path<String>, Query(q): Query<ReturnTo>) -> Response {
    if !d.inner.lock().unwrap().accounts.contains_key(&account) {
        return (StatusCode::NOT_FOUND, page("Unknown account", String::new())).into_response();
    }
    d.complete_onboarding(&account);
    // Only back to an http(s) URL, as Stripe only accepts those as return_url.
    match q.return_url.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        Some(url) => Redirect::to(&url).into_response(),
        None => page("Onboarding complete", format!("<p>Account {account} can now take payments.</p>")).into_response(),
    }
}

async fn express_page(Path(account): Path<String>) -> Html<String> {
    page("Express dashboard", format!("<p id=\"express-account\">{account}</p><p>Balances and payouts would be here.</p>"))
}

fn find_session(d: &StripeMock, id: &str) -> Option<(Option<String>, Value)> {
    d.inner.lock().unwrap().sessions.iter().find(|(_, s)| s["id"] == json!(id)).cloned()
}

/// Stripe Checkout, collapsed to one button.
async fn checkout_page(State(d): State<StripeMock>, Path(id): Path<String>) -> Response {
    let Some((_, session)) = find_session(&d, &id) else {
        return (StatusCode::NOT_FOUND, page("Unknown checkout", String::new())).into_response();
    };
    let amount = session["amount_total"].as_i64().unwrap_or(0);
    let currency = session["currency"].as_str().unwrap_or("usd").to_owned();
    let shown = app::domain::Currency::parse(&currency).map(|c| c.format(amount)).unwrap_or_default();
    page(
        &format!("Pay {shown}"),
        format!("<form method=\"post\"><label>Email <input name=\"email\" value=\"buyer@example.com\"></label> <button id=\"pay\" type=\"submit\">Pay {shown}</button></form>"),
    )
    .into_response()
}

struct PayForm {
    email: Option<String>,
}

async fn pay(State(d): State<StripeMock>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some((account, mut session)) = find_session(&d, &id) else {
        return (StatusCode::NOT_FOUND, page("Unknown checkout", String::new())).into_response();
    };
    let form: PayForm = serde_urlencoded_lite(&body);
    let email = form.email.unwrap_or_else(|| "buyer@example.com".into());
    let intent_id = d.next_id("pi");
    let amount = session["amount_total"].as_i64().unwrap_or(0);
    let currency = session["currency"].as_str().unwrap_or("usd").to_owned();
    let tenant = session["metadata"]["paybus_tenant"].as_str().map(str::to_owned);
    d.add_intent_for(&intent_id, amount, &currency, "succeeded", tenant.as_deref());
    let intent = {
        let mut inner = d.inner.lock().unwrap();
        let intent = inner.intents.get_mut(&intent_id).expect("just added");
        intent["amount_received"] = json!(amount);
        intent["receipt_email"] = json!(email);
        intent.clone()
    };
    session["status"] = json!("complete");
    session["payment_status"] = json!("paid");
    session["payment_intent"] = json!(intent_id);
    session["customer_details"] = json!({ "email": email });
    {
        let mut inner = d.inner.lock().unwrap();
        if let Some(stored) = inner.sessions.iter_mut().find(|(_, s)| s["id"] == json!(id)) {
            stored.1 = session.clone();
        }
    }
    d.emit("payment_intent.succeeded", intent, account.as_deref());
    d.emit("checkout.session.completed", session.clone(), account.as_deref());
    match session["success_url"].as_str().filter(|u| u.starts_with("http")) {
        Some(url) => Redirect::to(url).into_response(),
        None => page("Paid", "<p>Thank you.</p>".into()).into_response(),
    }
}

fn serde_urlencoded_lite(body: &[u8]) -> PayForm {
    PayForm { email: form_urlencoded::parse(body).find(|(k, _)| k == "email").map(|(_, v)| v.into_owned()) }
}
