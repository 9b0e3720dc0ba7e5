//! Helpers shared by the edge-case tests (the harness itself is `../api/helpers.rs`).

use std::time::Duration;

use reqwest::{redirect::Policy, Client, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, PASSWORD};

/// Every table a request could write to, as sorted `table=count` lines: equal snapshots before
/// and after a refused request prove it wrote nothing.
pub async fn row_counts(app: &TestApp) -> Vec<String> {
    const TABLES: &[&str] = &[
        "users",
        "tenants",
        "memberships",
        "invitations",
        "email_verifications",
        "refresh_tokens",
        "api_keys",
        "sessions",
        "dev_mailbox",
    ];
    let sql = TABLES
        .iter()
        .map(|t| format!("SELECT '{t}=' || CAST(COUNT(*) AS TEXT) FROM {t}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut counts = app.query_strings(&sql).await;
    counts.sort();
    assert_eq!(counts.len(), TABLES.len(), "{counts:?}");
    counts
}

/// The development mailbox through the API: the messages the server "sent".
pub async fn mailbox(app: &TestApp) -> Vec<Value> {
    let (status, mail) = app.get("/api/v1/dev/mailbox?limit=100", None).await;
    assert_eq!(status, StatusCode::OK, "{mail}");
    mail["data"].as_array().expect("a list").clone()
}

/// Asserts the Stripe-style error object with its exact type and code; returns the error.
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, error_type: &str, code: &str) -> Value {
    assert_eq!(status, expected, "unexpected status; body: {body}");
    let error = &body["error"];
    assert!(error.is_object(), "not an error object: {body}");
    assert_eq!(error["type"], error_type, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "an error needs a message: {body}");
    error.clone()
}

/// Sends `body` verbatim with the given content type (or none); the answer must be JSON.
pub async fn send_text(app: &TestApp, method: reqwest::Method, path: &str, token: Option<&str>, content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut req = app.client.request(method, app.url(path)).body(body.to_owned());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("the server answers");
    let status = res.status();
    let text = res.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not a JSON body: {text:?}"));
    (status, value)
}

/// A browser: keeps cookies, does not follow redirects (so `Set-Cookie` stays visible).
pub fn browser() -> Client {
    Client::builder().cookie_store(true).redirect(Policy::none()).timeout(Duration::from_secs(30)).build().unwrap()
}

/// The dashboard's login server function (`/sfn/login…`, with the macro's hash suffix).
pub fn login_fn_path() -> &'static str {
    <app::server_fns::account::Login as leptos::server_fn::ServerFn>::PATH
}

/// The dashboard's tenant-creation server function.
pub fn create_tenant_fn_path() -> &'static str {
    <app::server_fns::tenants::CreateTenant as leptos::server_fn::ServerFn>::PATH
}

/// Logs `email` in through the dashboard's server function, as a form post from our own page.
pub async fn browser_login(app: &TestApp, browser: &Client, email: &str) -> reqwest::Response {
    let res = browser
        .post(app.url(login_fn_path()))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .expect("the login server function answers");
    assert!(res.status().is_success() || res.status().is_redirection(), "login failed: {} {:?}", res.status(), res.headers());
    res
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {} {:?} {}", self.status, self.headers, self.body))
    }
}

/// Sends `body` with `Transfer-Encoding: chunked` and no `Content-Length` (in chunks of
/// `chunk_size`), over a plain socket so nothing adds a length on the way.
pub async fn send_chunked(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8], chunk_size: usize) -> RawResponse {
    let host = app.base.strip_prefix("http://").unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    for chunk in body.chunks(chunk_size) {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");

    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
        // The server may answer (and close) before reading everything; what it sent still counts.
        let _ = stream.write_all(&bytes).await;
        let mut received = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
        received
    };
    let received = tokio::time::timeout(Duration::from_secs(20), exchange).await.expect("the server answered within 20 s");
    parse_response(&received)
}

fn parse_response(raw: &[u8]) -> RawResponse {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no complete response: {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked { dechunk(rest) } else { rest.to_vec() };
    RawResponse { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") {
        let size_line = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size = usize::from_str_radix(size_line.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        rest = &rest[eol + 2..];
        if size == 0 || rest.len() < size {
            break;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[(size + 2).min(rest.len())..];
    }
    out
}

/// The first run of exactly six ASCII digits in `text`.
pub fn six_digit_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return Some(text[start..i].to_owned());
            }
        } else {
            i += 1;
        }
    }
    None
}
