//! What a receiver sees: signed requests, retries on the schedule, slow-downs, 410, disabled
//! endpoints, secret rotation, ordering, and an endpoint disabled after failing for days.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Answer, Receiver};
use crate::webhook_test;

const SECS: u64 = 1;
const MINS: u64 = 60;
const HOURS: u64 = 3600;

/// The schedule after the first, immediate attempt.
const SCHEDULE: [u64; 7] = [5 * SECS, 5 * MINS, 30 * MINS, 2 * HOURS, 5 * HOURS, 10 * HOURS, 10 * HOURS];

webhook_test! {
    async fn every_request_is_signed_per_the_standard_and_500s_are_retried_on_the_schedule(h: Harness) {
        let receiver = Receiver::start(vec![], Answer::Status(500)).await;
        let (endpoint, secret) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        assert!(secret.starts_with("whsec_"), "{secret}");
        let key = h.key_event().await;

        let first = receiver.wait_for(1).await.remove(0);
        assert!(first.signed_by(&secret), "signature does not verify: {:?}", first.headers);
        assert_eq!(first.signatures().len(), 1);
        let message_id = first.header("webhook-id");
        assert!(message_id.starts_with("whm_"), "{message_id}");
        let timestamp: i64 = first.header("webhook-timestamp").parse().expect("unix seconds");
        assert_eq!(timestamp, h.clock_now_secs(), "the timestamp is the (manual) clock's");
        assert_eq!(first.header("content-type"), "application/json");
        assert!(first.header("user-agent").starts_with("paybus-webhooks/"), "{:?}", first.headers);
        let body = first.json();
        assert_eq!(body["type"], "api_key.created");
        assert_eq!(body["data"]["type"], "api_key.created", "a snapshot carries the whole envelope");
        assert_eq!(body["data"]["payload"]["api_key_id"], key.as_str());
        assert_eq!(body["data"]["tenant_id"], h.owner.tenant.as_str());

        // Each retry waits its turn on the schedule, not a second less.
        for (i, wait) in SCHEDULE.iter().enumerate() {
            h.settled(id, i + 1).await;
            h.advance(Duration::from_secs(wait - 1));
            receiver.stays_at(i + 1).await;
            h.advance(Duration::from_secs(1));
            let seen = receiver.wait_for(i + 2).await;
            let retry = &seen[i + 1];
            assert_eq!(retry.header("webhook-id"), message_id, "the same webhook-id on every retry");
            assert_eq!(retry.body, first.body, "the same body on every retry");
            assert!(retry.signed_by(&secret));
        }
        let message = h.eventually("the message to fail", || async { h.messages(id).await[0].clone() }, |m| m["status"] == "failed").await;
        assert_eq!(message["attempts"], 8);
        assert_eq!(message["last_status_code"], 500);
        let attempts = h.attempts(id).await;
        assert_eq!(attempts.len(), 8);
        for (n, a) in attempts.iter().enumerate() {
            assert_eq!((a["attempt"].as_i64(), a["status"].as_str(), a["status_code"].as_i64()), (Some(n as i64 + 1), Some("failed"), Some(500)), "{a}");
            assert_eq!(a["trigger"], "scheduled");
            assert_eq!(a["response_excerpt"], "receiver says hi");
        }
        // Then nothing more, and the endpoint (failing ~28 h, under the 5-day default) stays on.
        h.advance(Duration::from_secs(24 * HOURS));
        receiver.stays_at(8).await;
        let state = h.endpoint_state(id).await;
        assert_eq!(state["status"], "active", "{state}");
        assert_eq!(state["consecutive_failures"], 8);
    }
}

webhook_test! {
    async fn a_timeout_is_a_failed_attempt_retried_five_seconds_later(h: Harness)
    env = vec![("PAYBUS_WEBHOOK_TIMEOUT_MS", "300")];
    {
        let receiver = Receiver::start(vec![Answer::Slow(Duration::from_secs(3), 200)], Answer::Status(204)).await;
        let (endpoint, secret) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        let attempts = h.eventually("the timed-out attempt", || async { serde_json::Value::Array(h.attempts(id).await) }, |a| a.as_array().unwrap().len() == 1).await;
        assert_eq!(attempts[0]["status"], "failed");
        assert!(attempts[0]["status_code"].is_null());
        assert!(attempts[0]["error"].as_str().unwrap().contains("timed out"), "{attempts}");

        h.advance(Duration::from_secs(5));
        let seen = receiver.wait_for(2).await;
        assert_eq!(seen[0].header("webhook-id"), seen[1].header("webhook-id"));
        assert!(seen[1].signed_by(&secret));
        let message = h.eventually("success", || async { h.messages(id).await[0].clone() }, |m| m["status"] == "succeeded").await;
        assert_eq!(message["attempts"], 2);
        assert_eq!(message["last_status_code"], 204);
    }
}

webhook_test! {
    async fn retry_after_on_a_503_postpones_the_retry_and_the_endpoint(h: Harness) {
        let receiver = Receiver::start(vec![Answer::With(503, vec![("retry-after", "120".into())])], Answer::Status(200)).await;
        let (endpoint, _) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        h.eventually("the retry to be planned", || async { h.messages(id).await[0].clone() }, |m| m["last_status_code"] == 503).await;
        // Not at the scheduled 5 s: the receiver asked for 120.
        h.advance(Duration::from_secs(119));
        receiver.stays_at(1).await;
        h.advance(Duration::from_secs(1));
        receiver.wait_for(2).await;
        h.eventually("success", || async { h.messages(id).await[0].clone() }, |m| m["status"] == "succeeded").await;
    }
}

webhook_test! {
    async fn a_410_disables_the_endpoint_and_nothing_more_is_sent(h: Harness) {
        let notify = crate::helpers::unique_email("ops");
        let (status, body) = h.patch("/api/v1/settings", json!({ "notification_emails": [notify] })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let receiver = Receiver::start(vec![], Answer::Status(410)).await;
        let (endpoint, _) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        let state = h.eventually("the endpoint to be disabled", || h.endpoint_state(id), |e| e["status"] == "disabled").await;
        assert!(state["disabled_reason"].as_str().unwrap().contains("410"), "{state}");

        // Nothing more goes out: neither new events nor retries.
        h.key_event().await;
        h.advance(Duration::from_secs(HOURS));
        receiver.stays_at(1).await;
        assert_eq!(h.messages(id).await.len(), 1, "no message for a disabled endpoint");

        // The tenant hears about it: an event and an email to its notification address.
        let (_, events) = h.get("/api/v1/events?type=endpoint.disabled").await;
        let disabled = &events["data"][0];
        assert_eq!(disabled["payload"]["endpoint_id"], id, "{events}");
        assert!(disabled["payload"]["reason"].as_str().unwrap().contains("410"));
        let (_, mail) = h.app.get("/api/v1/dev/mailbox?limit=100", None).await;
        let sent = mail["data"].as_array().unwrap().iter().any(|m| m["to"] == notify.as_str() && m["subject"].as_str().unwrap().contains("disabled"));
        assert!(sent, "no notice mailed to {notify}: {mail}");

        // Enabled again, it receives again.
        let (status, body) = h.patch(&format!("/api/v1/webhook-endpoints/{id}"), json!({ "active": true })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["consecutive_failures"], 0);
        h.key_event().await;
        receiver.wait_for(2).await;
    }
}

webhook_test! {
    async fn a_disabled_endpoint_receives_nothing_not_even_its_pending_retries(h: Harness) {
        let receiver = Receiver::start(vec![Answer::Status(500)], Answer::Status(200)).await;
        let (endpoint, _) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        h.eventually("the failed first attempt", || async { h.messages(id).await[0].clone() }, |m| m["status"] == "pending" && m["attempts"] == 1).await;

        let (status, body) = h.patch(&format!("/api/v1/webhook-endpoints/{id}"), json!({ "active": false })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "disabled");
        h.key_event().await;
        h.advance(Duration::from_secs(10));
        receiver.stays_at(1).await;
        let messages = h.messages(id).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0]["status"], "disabled");
        // A resend is refused while it is disabled.
        let (status, body) = h.post(&format!("/api/v1/webhook-endpoints/{id}/messages/{}/resend", messages[0]["id"].as_str().unwrap()), json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert_eq!(body["error"]["code"], "endpoint_disabled");
    }
}

webhook_test! {
    async fn during_a_rotation_both_secrets_sign_and_afterwards_only_the_new_one(h: Harness) {
        let receiver = Receiver::ok().await;
        let (endpoint, old) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        let before = receiver.wait_for(1).await.remove(0);
        assert!(before.signed_by(&old));

        let (status, rotated) = h.post(&format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), json!({ "overlap_seconds": 3600 })).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new = rotated["secret"].as_str().unwrap().to_owned();
        assert!(new.starts_with("whsec_") && new != old);
        assert!(rotated["endpoint"]["previous_secret_expires_at"].is_string());
        let (_, listed) = h.get("/api/v1/webhook-endpoints").await;
        assert!(!listed.to_string().contains("whsec_"), "secrets are never listed: {listed}");

        h.key_event().await;
        let during = receiver.wait_for(2).await.remove(1);
        let signatures = during.signatures();
        assert_eq!(signatures.len(), 2, "{signatures:?}");
        assert!(during.signed_by(&new) && during.signed_by(&old));
        // Newest first: `v1,<new> v1,<old>`.
        let only_new = crate::support::Received { headers: { let mut hm = during.headers.clone(); hm.insert("webhook-signature", signatures[0].parse().unwrap()); hm }, body: during.body.clone() };
        assert!(only_new.signed_by(&new));

        h.advance(Duration::from_secs(3601));
        h.key_event().await;
        let after = receiver.wait_for(3).await.remove(2);
        assert_eq!(after.signatures().len(), 1);
        assert!(after.signed_by(&new));
        assert!(!after.signed_by(&old), "the old secret retired after the overlap");

        // Rotating with no body uses the default 24 h overlap.
        let (status, again) = h.post_empty(&format!("/api/v1/webhook-endpoints/{id}/rotate-secret")).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        let (status, bad) = h.post(&format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), json!({ "overlap_seconds": -1 })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(bad["error"]["param"], "overlap_seconds");
    }
}

webhook_test! {
    async fn an_ordered_endpoint_sends_one_objects_messages_strictly_in_sequence(h: Harness) {
        let receiver = Receiver::start(vec![Answer::Status(500)], Answer::Status(200)).await;
        let (endpoint, secret) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"], "ordered": true, "payload_style": "thin" })).await;
        let id = endpoint["id"].as_str().unwrap();
        assert_eq!(endpoint["ordered"], true);
        let key = h.key_event().await;
        let first = receiver.wait_for(1).await.remove(0);
        assert_eq!(first.header("webhook-sequence"), "1");
        assert_eq!(first.header("webhook-previous-id"), "");
        h.eventually("the first attempt to fail", || async { h.messages(id).await[0].clone() }, |m| m["attempts"] == 1 && m["status"] == "pending").await;

        // The key's second event waits behind the first, which is still being retried.
        let (status, body) = h.delete(&format!("/api/v1/api-keys/{key}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        h.eventually("the second message", || async { serde_json::Value::Array(h.messages(id).await) }, |m| m.as_array().unwrap().len() == 2).await;
        receiver.stays_at(1).await;

        h.advance(Duration::from_secs(5));
        let seen = receiver.wait_for(3).await;
        let ids: Vec<String> = seen.iter().map(|r| r.header("webhook-id")).collect();
        assert_eq!(ids[0], ids[1], "the first message is retried first: {ids:?}");
        assert_ne!(ids[2], ids[0]);
        let second = &seen[2];
        assert_eq!(second.header("webhook-sequence"), "2");
        assert_eq!(second.header("webhook-previous-id"), ids[0]);
        assert!(second.signed_by(&secret));
        let thin = second.json();
        assert_eq!(thin["type"], "api_key.revoked");
        assert_eq!(thin["data"]["object_id"], key.as_str());
        assert!(thin["data"].get("payload").is_none(), "a thin body: {thin}");
    }
}

webhook_test! {
    async fn an_endpoint_failing_longer_than_the_limit_is_disabled_and_the_tenant_told(h: Harness)
    env = vec![("PAYBUS_WEBHOOK_DISABLE_AFTER_DAYS", "1")];
    {
        let receiver = Receiver::start(vec![], Answer::Status(500)).await;
        let (endpoint, _) = h.endpoint(json!({ "url": receiver.url(), "events": ["api_key.*"] })).await;
        let id = endpoint["id"].as_str().unwrap();
        h.key_event().await;
        receiver.wait_for(1).await;
        // Attempts 2..7 fall within the first day (the 7th at ~17.6 h): still active.
        for (i, wait) in SCHEDULE[..6].iter().enumerate() {
            h.settled(id, i + 1).await;
            h.advance(Duration::from_secs(*wait));
            receiver.wait_for(i + 2).await;
        }
        h.eventually("seven attempts", || async { h.messages(id).await[0].clone() }, |m| m["attempts"] == 7 && m["status"] == "pending").await;
        assert_eq!(h.endpoint_state(id).await["status"], "active");
        // The 8th, at ~27.6 h, fails more than a day after the first failure.
        h.settled(id, 7).await;
        h.advance(Duration::from_secs(SCHEDULE[6]));
        receiver.wait_for(8).await;
        let state = h.eventually("auto-disable", || h.endpoint_state(id), |e| e["status"] == "disabled").await;
        assert!(state["disabled_reason"].as_str().unwrap().contains("1 days"), "{state}");
        assert!(state["failing_since"].is_string());
        let (_, events) = h.get("/api/v1/events?type=endpoint.disabled").await;
        assert_eq!(events["data"][0]["payload"]["endpoint_id"], id, "{events}");
    }
}
