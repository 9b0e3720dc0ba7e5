//! Every response carries an `x-request-id` (the client's own, when it sent one); API responses
//! are never cached.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::{
    helpers::TestApp,
    support::{login_fn_path, send_chunked},
};

/// Method, path, JSON body, extra headers.
type Probe = (Method, String, Option<serde_json::Value>, Vec<(&'static str, String)>);

/// A spread of responses: API successes and errors of every layer, the dashboard, static files.
fn requests(token: &str) -> Vec<Probe> {
    let bearer = format!("Bearer {token}");
    vec![
        (Method::GET, "/health".into(), None, vec![]),
        (Method::GET, "/api/v1/health".into(), None, vec![]),
        (Method::GET, "/api/v1/openapi.json".into(), None, vec![]),
        (Method::GET, "/api/v1/me".into(), None, vec![("authorization", bearer.clone())]),
        (Method::GET, "/api/v1/me".into(), None, vec![]),
        (Method::POST, "/api/v1/login".into(), Some(json!({ "email": "x@example.com" })), vec![]),
        (Method::POST, "/api/v1/login".into(), Some(json!({ "email": "nobody@example.com", "password": "whatever whatever" })), vec![]),
        (Method::GET, "/api/v1/no-such-endpoint".into(), None, vec![]),
        (Method::PUT, "/api/v1/login".into(), Some(json!({})), vec![]),
        (Method::DELETE, "/api/v1/api-keys/not-an-id".into(), None, vec![("authorization", bearer.clone())]),
        // Refused by middleware before any handler: CSRF and the body limit.
        (Method::POST, "/api/v1/tenants".into(), Some(json!({ "name": "x" })), vec![("cookie", "paybus_session=abc".into()), ("origin", "https://evil.example".into())]),
        (Method::POST, "/api/v1/signup".into(), Some(json!({ "pad": "x".repeat(4096) })), vec![]),
        (Method::GET, "/".into(), None, vec![]),
        (Method::GET, "/pkg/does-not-exist.js".into(), None, vec![]),
        (Method::POST, login_fn_path().into(), None, vec![("origin", "https://evil.example".into())]),
    ]
}

both_backends_with! {
    env = vec![("PAYBUS_BODY_LIMIT_BYTES", "1024".to_owned())];
    async fn every_response_has_a_request_id_and_echoes_the_clients(app: TestApp) {
        let user = app.user(&unique_email("rid")).await;
        let mut seen = std::collections::HashSet::new();
        for (i, (method, path, body, headers)) in requests(&user.token).into_iter().enumerate() {
            for client_id in [None, Some(format!("edge-test-{i}-{}", uuid::Uuid::new_v4().simple()))] {
                let mut req = app.client.request(method.clone(), app.url(&path));
                for (k, v) in &headers {
                    req = req.header(*k, v);
                }
                if let Some(id) = &client_id {
                    req = req.header("x-request-id", id);
                }
                if let Some(body) = &body {
                    req = req.json(body);
                }
                let res = req.send().await.unwrap();
                let status = res.status();
                let id = res
                    .headers()
                    .get("x-request-id")
                    .unwrap_or_else(|| panic!("{method} {path} ({status}) has no x-request-id"))
                    .to_str()
                    .unwrap()
                    .to_owned();
                match &client_id {
                    Some(sent) => assert_eq!(&id, sent, "{method} {path}: the client's id is echoed"),
                    None => {
                        assert!(id.len() >= 16, "{method} {path}: a generated id: {id}");
                        assert!(seen.insert(id.clone()), "{method} {path}: ids are unique, {id} repeated");
                    }
                }
                if path.starts_with("/api/v1/") {
                    let cache = res.headers().get("cache-control").map(|v| v.to_str().unwrap().to_owned());
                    assert_eq!(cache.as_deref(), Some("no-store"), "{method} {path} ({status}) must not be cacheable");
                }
            }
        }
        // A chunked body over the limit, refused while it is read.
        let res = send_chunked(&app, "POST", "/api/v1/signup", &[("content-type", "application/json"), ("x-request-id", "chunked-edge")], &[b' '; 4096], 512).await;
        assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE.as_u16(), "{res:?}");
        assert_eq!(res.header("x-request-id"), Some("chunked-edge"));
        assert_eq!(res.header("cache-control"), Some("no-store"));
    }
}
