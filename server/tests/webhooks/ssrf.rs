//! The SSRF guard with the default configuration: internal targets are refused when an endpoint
//! is saved, names that resolve to internal addresses are refused when a message is sent, and a
//! redirect is a failed attempt whose Location is never fetched.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Answer, Receiver};
use crate::webhook_test;

webhook_test! {
    async fn internal_addresses_are_refused_when_an_endpoint_is_saved(h: Harness)
    allow_private = false;
    {
        for url in [
            "http://127.0.0.1/hooks", "http://127.0.0.1:8080/hooks", "http://[::1]/hooks", "http://10.0.0.1/hooks",
            "http://169.254.169.254/latest/meta-data/", "http://192.168.1.10/", "http://172.16.0.1/", "http://100.64.0.1/",
            "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://[fe80::1]/", "http://localhost:3000/hooks",
            "http://api.localhost/hooks", "http://2130706433/",
        ] {
            let (status, body) = h.post("/api/v1/webhook-endpoints", json!({ "url": url })).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
            assert_eq!((body["error"]["code"].as_str(), body["error"]["param"].as_str()), (Some("url_forbidden"), Some("url")), "{url}: {body}");
        }
        // Moving an existing endpoint onto an internal address is refused the same way.
        let (endpoint, _) = h.endpoint(json!({ "url": "https://hooks.example.com/x" })).await;
        let (status, body) = h.patch(&format!("/api/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap()), json!({ "url": "http://169.254.169.254/" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "url_forbidden");
        let (_, list) = h.get("/api/v1/webhook-endpoints").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 1);
        assert_eq!(list["data"][0]["url"], "https://hooks.example.com/x");
    }
}

/// A name (from /etc/hosts or the system resolver) that resolves to loopback only and is not
/// spelled `localhost`, so it gets past the save-time checks.
async fn loopback_alias() -> Option<String> {
    let mut candidates: Vec<String> = vec!["vm".into(), "runsc".into(), "ip6-localhost".into(), "localhost.localdomain".into()];
    if let Ok(name) = std::fs::read_to_string("/etc/hostname") {
        candidates.insert(0, name.trim().to_owned());
    }
    for name in candidates.into_iter().filter(|n| !n.is_empty() && !n.contains("localhost")) {
        let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((name.as_str(), 80)).await {
            Ok(addrs) => addrs.collect(),
            Err(_) => continue,
        };
        if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
            return Some(name);
        }
    }
    None
}

webhook_test! {
    async fn a_name_that_resolves_to_loopback_is_refused_when_sending(h: Harness)
    allow_private = false;
    {
        let Some(alias) = loopback_alias().await else {
            eprintln!("!!!!! SKIPPED: no hostname on this machine resolves to loopback only (the resolver unit test covers `localhost`) !!!!!");
            return;
        };
        let receiver = Receiver::ok().await;
        let url = format!("http://{alias}:{}/hooks", receiver.addr.port());
        let (endpoint, _) = h.endpoint(json!({ "url": url, "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        let attempts = h.eventually("a refused attempt", || async { serde_json::Value::Array(h.attempts(id).await) }, |a| !a.as_array().unwrap().is_empty()).await;
        let error = attempts[0]["error"].as_str().unwrap();
        assert!(error.contains("refused") && error.contains("loopback"), "{error}");
        assert!(attempts[0]["status_code"].is_null());
        h.advance(Duration::from_secs(5));
        h.eventually("the retry, refused too", || async { serde_json::Value::Array(h.attempts(id).await) }, |a| a.as_array().unwrap().len() == 2).await;
        assert_eq!(receiver.count(), 0, "the receiver behind the name was never reached");
    }
}

webhook_test! {
    async fn a_redirect_is_a_failed_attempt_and_its_location_is_never_fetched(h: Harness) {
        // Private targets are allowed here (both receivers are local): only the redirect rule is
        // under test.
        let target = Receiver::ok().await;
        let redirecting = Receiver::start(vec![], Answer::With(302, vec![("location", target.url())])).await;
        let (endpoint, _) = h.endpoint(json!({ "url": redirecting.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        redirecting.wait_for(1).await;
        let attempts = h.eventually("the attempt", || async { serde_json::Value::Array(h.attempts(id).await) }, |a| !a.as_array().unwrap().is_empty()).await;
        assert_eq!((attempts[0]["status"].as_str(), attempts[0]["status_code"].as_i64()), (Some("failed"), Some(302)));
        assert!(attempts[0]["error"].as_str().unwrap().contains("redirects are not followed"), "{attempts}");
        let message = h.messages(id).await.remove(0);
        assert_eq!((message["status"].as_str(), message["attempts"].as_i64()), (Some("pending"), Some(1)), "retried on the schedule: {message}");
        target.stays_at(0).await;
    }
}
