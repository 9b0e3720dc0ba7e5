//! The endpoint API: validation, listing, changes and their events, resend, test events, payload
//! styles, secrets at rest, and another tenant's ids.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::unique_email;
use crate::support::{Answer, Receiver};
use crate::webhook_test;

fn error(status: StatusCode, body: &Value, expected: StatusCode) -> (String, String) {
    assert_eq!(status, expected, "{body}");
    (body["error"]["code"].as_str().unwrap_or_default().to_owned(), body["error"]["param"].as_str().unwrap_or_default().to_owned())
}

webhook_test! {
    async fn endpoints_are_created_listed_changed_and_deleted_with_events(h: Harness) {
        let (endpoint, secret) = h.endpoint(json!({
            "url": "https://hooks.example.com/paybus", "description": "ERP", "events": ["payment.*", "refund.created", "payment.*"],
            "payload_style": "thin", "rate_limit_per_sec": 20
        })).await;
        let id = endpoint["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("we_"), "{endpoint}");
        assert_eq!(endpoint["object"], "webhook_endpoint");
        assert_eq!(endpoint["events"], json!(["payment.*", "refund.created"]), "duplicates dropped");
        assert_eq!((endpoint["payload_style"].as_str(), endpoint["ordered"].as_bool(), endpoint["rate_limit_per_sec"].as_i64()), (Some("thin"), Some(false), Some(20)));
        assert_eq!((endpoint["status"].as_str(), endpoint["circuit"].as_str()), (Some("active"), Some("closed")));
        assert!(secret.starts_with("whsec_") && secret.len() >= 6 + 32);

        // The secret is shown once: never in reads, and sealed at rest.
        let (status, detail) = h.get(&format!("/api/v1/webhook-endpoints/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!detail.to_string().contains("whsec_"), "{detail}");
        let stored = h.app.query_strings("SELECT secret FROM webhook_endpoints").await;
        assert!(stored.iter().all(|s| s.starts_with("v1:") && !s.contains(&secret[6..])), "{stored:?}");

        let (status, changed) = h.patch(&format!("/api/v1/webhook-endpoints/{id}"), json!({ "description": "ERP (prod)", "events": ["*"], "ordered": true })).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((changed["description"].as_str(), changed["events"].clone(), changed["ordered"].as_bool()), (Some("ERP (prod)"), json!(["*"]), Some(true)));

        // Pagination, newest first.
        h.advance(Duration::from_secs(1));
        let (second, _) = h.endpoint(json!({ "url": "https://hooks.example.com/two" })).await;
        assert_eq!(second["events"], json!(["*"]), "all events by default");
        assert_eq!(second["payload_style"], "snapshot");
        let (_, page) = h.get("/api/v1/webhook-endpoints?limit=1").await;
        assert_eq!((page["object"].as_str(), page["has_more"].as_bool()), (Some("list"), Some(true)));
        assert_eq!(page["data"][0]["id"], second["id"]);
        let (_, rest) = h.get(&format!("/api/v1/webhook-endpoints?limit=1&starting_after={}", second["id"].as_str().unwrap())).await;
        assert_eq!((rest["data"][0]["id"].as_str(), rest["has_more"].as_bool()), (Some(id.as_str()), Some(false)));

        let (status, deleted) = h.delete(&format!("/api/v1/webhook-endpoints/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        let (status, _) = h.get(&format!("/api/v1/webhook-endpoints/{id}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (_, all) = h.get("/api/v1/webhook-endpoints").await;
        assert_eq!(all["data"].as_array().unwrap().len(), 1);

        let (_, events) = h.get("/api/v1/events?pattern=endpoint.*&limit=100").await;
        // (The manual clock stood still, so the three share a timestamp: compare as a set.)
        let mut types: Vec<&str> = events["data"].as_array().unwrap().iter().filter(|e| e["payload"]["endpoint_id"] == id.as_str()).map(|e| e["type"].as_str().unwrap()).collect();
        types.sort_unstable();
        assert_eq!(types, ["endpoint.created", "endpoint.deleted", "endpoint.updated"]);
    }
}

webhook_test! {
    async fn bad_input_is_a_400_naming_the_parameter(h: Harness) {
        let cases = [
            (json!({ "url": "ftp://hooks.example.com/" }), "url_invalid", "url"),
            (json!({ "url": "not a url" }), "url_invalid", "url"),
            (json!({ "url": "https://user:pw@hooks.example.com/" }), "url_invalid", "url"),
            (json!({ "url": "https://hooks.example.com/", "events": [] }), "events_invalid", "events"),
            (json!({ "url": "https://hooks.example.com/", "events": ["payment.captur"] }), "events_invalid", "events"),
            (json!({ "url": "https://hooks.example.com/", "events": ["nope.*"] }), "events_invalid", "events"),
            (json!({ "url": "https://hooks.example.com/", "payload_style": "fat" }), "payload_style_invalid", "payload_style"),
            (json!({ "url": "https://hooks.example.com/", "rate_limit_per_sec": 0 }), "rate_limit_invalid", "rate_limit_per_sec"),
            (json!({ "url": "https://hooks.example.com/", "description": "x".repeat(501) }), "description_invalid", "description"),
        ];
        for (body, code, param) in cases {
            let (status, answer) = h.post("/api/v1/webhook-endpoints", body.clone()).await;
            assert_eq!(error(status, &answer, StatusCode::BAD_REQUEST), (code.to_owned(), param.to_owned()), "{body}");
        }
        let (status, answer) = h.post("/api/v1/webhook-endpoints", json!({ "url": "https://hooks.example.com/", "colour": "red" })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let (_, list) = h.get("/api/v1/webhook-endpoints").await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing was created");

        let (endpoint, _) = h.endpoint(json!({ "url": "https://hooks.example.com/" })).await;
        let (status, answer) = h.patch(&format!("/api/v1/webhook-endpoints/{}", endpoint["id"].as_str().unwrap()), json!({ "events": ["bogus"] })).await;
        assert_eq!(error(status, &answer, StatusCode::BAD_REQUEST), ("events_invalid".to_owned(), "events".to_owned()));
    }
}

webhook_test! {
    async fn another_tenants_endpoint_and_messages_are_not_found(h: Harness) {
        let receiver = Receiver::ok().await;
        let (bobs, _) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let bob_id = bobs["id"].as_str().unwrap().to_owned();
        h.key_event().await;
        receiver.wait_for(1).await;
        let message = h.eventually("bob's message", || async { h.messages(&bob_id).await[0].clone() }, |m| m["status"] == "succeeded").await;
        let msg_id = message["id"].as_str().unwrap().to_owned();

        let alice = h.app.user(&unique_email("alice")).await;
        let as_alice = |method: reqwest::Method, path: String, body: Option<Value>| {
            let app = &h.app;
            let token = alice.token.clone();
            async move { app.call(method, &path, Some(&token), body).await }
        };
        use reqwest::Method;
        let base = format!("/api/v1/webhook-endpoints/{bob_id}");
        for (method, path, body) in [
            (Method::GET, base.clone(), None),
            (Method::PATCH, base.clone(), Some(json!({ "active": false }))),
            (Method::DELETE, base.clone(), None),
            (Method::POST, format!("{base}/rotate-secret"), Some(json!({}))),
            (Method::GET, format!("{base}/messages"), None),
            (Method::GET, format!("{base}/attempts"), None),
            (Method::POST, format!("{base}/messages/{msg_id}/resend"), Some(json!({}))),
            (Method::POST, format!("{base}/test"), Some(json!({}))),
        ] {
            let (status, answer) = as_alice(method.clone(), path.clone(), body.clone()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "resource_missing", "{answer}");
            assert!(!answer.to_string().contains(&receiver.url()), "{answer}");
            // Exactly what an id that exists nowhere gets.
            let (status_nowhere, nowhere) = as_alice(method, path.replace(&bob_id, "we_doesnotexist000"), body).await;
            assert_eq!((status, &answer["error"]), (status_nowhere, &nowhere["error"]));
        }
        // Bob's endpoint is untouched and alice's list is empty.
        assert_eq!(h.endpoint_state(&bob_id).await["status"], "active");
        let (_, list) = h.app.get("/api/v1/webhook-endpoints", Some(&alice.token)).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0);
        assert_eq!(receiver.count(), 1);
    }
}

webhook_test! {
    async fn any_message_can_be_resent_with_its_own_id_and_a_manual_attempt(h: Harness) {
        let receiver = Receiver::ok().await;
        let (endpoint, secret) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        let message = h.eventually("delivery", || async { h.messages(id).await[0].clone() }, |m| m["status"] == "succeeded").await;
        let msg_id = message["id"].as_str().unwrap();

        // (Attempts list newest first by time: let the manual clock move.)
        h.advance(Duration::from_secs(1));
        let (status, resent) = h.post(&format!("/api/v1/webhook-endpoints/{id}/messages/{msg_id}/resend"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{resent}");
        assert_eq!(resent["status"], "pending");
        let seen = receiver.wait_for(2).await;
        assert_eq!(seen[1].header("webhook-id"), msg_id);
        assert_eq!(seen[1].body, seen[0].body);
        assert!(seen[1].signed_by(&secret));
        let attempts = h.eventually("two attempts", || async { Value::Array(h.attempts(id).await) }, |a| a.as_array().unwrap().len() == 2).await;
        assert_eq!((attempts[0]["trigger"].as_str(), attempts[1]["trigger"].as_str()), (Some("scheduled"), Some("manual")));
        let (_, only) = h.get(&format!("/api/v1/webhook-endpoints/{id}/attempts?message_id={msg_id}&limit=1")).await;
        assert_eq!((only["data"][0]["attempt"].as_i64(), only["has_more"].as_bool()), (Some(2), Some(true)));

        let (status, missing) = h.post(&format!("/api/v1/webhook-endpoints/{id}/messages/whm_nothere/resend"), json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

webhook_test! {
    async fn a_test_event_goes_to_the_asking_endpoint_only(h: Harness) {
        let asking = Receiver::ok().await;
        let other = Receiver::ok().await;
        let (endpoint, secret) = h.endpoint(json!({ "url": asking.url(), "events": ["payment.*"] })).await;
        let (_, _) = h.endpoint(json!({ "url": other.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        let (status, message) = h.post(&format!("/api/v1/webhook-endpoints/{id}/test"), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{message}");
        assert_eq!((message["event_type"].as_str(), message["origin"].as_str()), (Some("endpoint.test_sent"), Some("test")));
        let received = asking.wait_for(1).await.remove(0);
        assert!(received.signed_by(&secret));
        assert_eq!(received.json()["type"], "endpoint.test_sent");
        assert_eq!(received.json()["data"]["payload"]["endpoint_id"], id);
        let attempts = h.eventually("the test attempt", || async { Value::Array(h.attempts(id).await) }, |a| a.as_array().unwrap().len() == 1).await;
        assert_eq!((attempts[0]["trigger"].as_str(), attempts[0]["status"].as_str(), attempts[0]["status_code"].as_i64()), (Some("test"), Some("succeeded"), Some(200)));
        other.stays_at(0).await;
    }
}

webhook_test! {
    async fn one_event_fans_out_to_each_matching_endpoint_in_its_style(h: Harness) {
        let snapshot = Receiver::ok().await;
        let thin = Receiver::ok().await;
        let elsewhere = Receiver::ok().await;
        h.endpoint(json!({ "url": snapshot.url(), "events": ["*"] })).await;
        h.endpoint(json!({ "url": thin.url(), "events": ["api_key.created"], "payload_style": "thin" })).await;
        h.endpoint(json!({ "url": elsewhere.url(), "events": ["payment.*"] })).await;
        // Creating the endpoints published endpoint.created events: the `*` endpoint gets those too.
        let key = h.key_event().await;
        let full = h.eventually("the key event at the * endpoint", || async {
            Value::Array(snapshot.seen().iter().map(|r| r.json()).collect())
        }, |all| all.as_array().unwrap().iter().any(|b| b["type"] == "api_key.created")).await;
        let full = full.as_array().unwrap().iter().find(|b| b["type"] == "api_key.created").unwrap().clone();
        assert_eq!(full["data"]["payload"]["api_key_id"], key.as_str());
        assert_eq!(full["data"]["metadata"]["source"], "api");
        let slim = thin.wait_for(1).await.remove(0).json();
        assert_eq!(slim["type"], "api_key.created");
        assert_eq!(slim["data"]["object_id"], key.as_str());
        assert_eq!(slim["data"]["api_key_id"], key.as_str());
        assert!(slim["data"].get("payload").is_none() && slim["data"].get("metadata").is_none(), "{slim}");
        h.advance(Duration::from_secs(1));
        elsewhere.stays_at(0).await;
        thin.stays_at(1).await;
    }
}

webhook_test! {
    async fn a_slow_endpoint_does_not_hold_up_another(h: Harness)
    env = vec![("PAYBUS_WEBHOOK_TIMEOUT_MS", "60000")];
    {
        // The stuck receiver holds every request far longer than the test waits.
        let stuck = Receiver::start(vec![], Answer::Slow(Duration::from_secs(45), 200)).await;
        let fine = Receiver::ok().await;
        let (stuck_endpoint, _) = h.endpoint(json!({ "url": stuck.url(), "events": ["api_key.*"] })).await;
        h.endpoint(json!({ "url": fine.url(), "events": ["api_key.*"] })).await;
        for _ in 0..3 {
            h.key_event().await;
        }
        // All three reach the healthy endpoint while the stuck one still sits on its requests.
        fine.wait_for(3).await;
        stuck.wait_for(1).await;
        let stuck_messages = h.messages(stuck_endpoint["id"].as_str().unwrap()).await;
        assert!(stuck_messages.iter().all(|m| m["status"] != "succeeded"), "{stuck_messages:?}");
    }
}

webhook_test! {
    async fn the_openapi_document_describes_the_endpoint_routes(h: Harness) {
        let (status, doc) = h.app.get("/api/v1/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        let paths = doc["paths"].as_object().expect("paths");
        for (path, method) in [
            ("/api/v1/webhook-endpoints", "post"),
            ("/api/v1/webhook-endpoints", "get"),
            ("/api/v1/webhook-endpoints/{id}", "get"),
            ("/api/v1/webhook-endpoints/{id}", "patch"),
            ("/api/v1/webhook-endpoints/{id}", "delete"),
            ("/api/v1/webhook-endpoints/{id}/rotate-secret", "post"),
            ("/api/v1/webhook-endpoints/{id}/messages", "get"),
            ("/api/v1/webhook-endpoints/{id}/attempts", "get"),
            ("/api/v1/webhook-endpoints/{id}/messages/{message_id}/resend", "post"),
            ("/api/v1/webhook-endpoints/{id}/test", "post"),
        ] {
            assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
        }
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in ["WebhookEndpointIn", "WebhookEndpointOut", "WebhookEndpointWithSecret", "WebhookMessageOut", "WebhookAttemptOut"] {
            assert!(schemas.contains_key(name), "schema {name} missing");
        }
    }
}
