//! Rules over HTTP: created and validated field by field, tested against one event, dry-run over
//! stored events, run by the bus (archive target: once per event, even on redelivery), counted
//! in the statistics, and invisible to other tenants.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{both_backends, helpers::*};

/// Polls GET `path` until `check` holds (the dispatcher runs in the background).
async fn eventually(app: &TestApp, path: &str, token: &str, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (status, body) = app.get(path, Some(token)).await;
        if status == StatusCode::OK && check(&body) {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition never held for {path}; last answer: {last}");
}

fn live_keys_rule(name: &str, enabled: bool) -> Value {
    json!({
        "name": name,
        "description": "Live keys are worth keeping",
        "enabled": enabled,
        "pattern": { "types": ["api_key.*"], "conditions": [{ "path": "payload.mode", "operator": "equals", "value": "live" }] },
        "target": { "type": "archive" },
        "payload_style": "thin",
    })
}

async fn create_key(app: &TestApp, user: &TestUser, name: &str, mode: &str) -> Value {
    let (status, key) = app.post("/api/v1/api-keys", Some(&user.token), json!({ "name": name, "mode": mode })).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    key
}

fn param(status: StatusCode, body: &Value) -> String {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    body["error"]["param"].as_str().unwrap_or_else(|| panic!("no param in {body}")).to_owned()
}

both_backends! {
    async fn a_rule_is_created_listed_changed_and_deleted_and_each_change_is_an_event(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let (status, rule) = app.post("/api/v1/rules", Some(&owner.token), live_keys_rule("Live keys", false)).await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        let id = rule["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("rul_"));
        assert_eq!(rule["enabled"], false, "created disabled, to dry-run first");
        assert_eq!(rule["target"], json!({ "type": "archive" }));
        assert_eq!(rule["payload_style"], "thin");
        assert_eq!(rule["pattern"]["conditions"][0]["operator"], "equals");
        assert_eq!(rule["summary"], "api_key.* · 1 condition");
        assert_eq!(rule["matched_7d"], 0);

        let (status, list) = app.get("/api/v1/rules", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["object"], "list");
        assert_eq!(list["data"][0]["id"], id.as_str());

        let (status, changed) = app
            .call(Method::PATCH, &format!("/api/v1/rules/{id}"), Some(&owner.token), Some(json!({ "enabled": true, "name": "Live keys only" })))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["enabled"], true);
        assert_eq!(changed["name"], "Live keys only");
        assert_eq!(changed["pattern"], rule["pattern"], "a PATCH without a pattern keeps it");

        let (status, deleted) = app.call(Method::DELETE, &format!("/api/v1/rules/{id}"), Some(&owner.token), None).await;
        assert_eq!(status, StatusCode::OK, "{deleted}");
        assert_eq!(deleted, json!({ "id": id, "deleted": true }));
        let (status, body) = app.get(&format!("/api/v1/rules/{id}"), Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing");

        let (_, events) = app.get("/api/v1/events?pattern=rule.*", Some(&owner.token)).await;
        let seen: Vec<(&str, &str)> =
            events["data"].as_array().unwrap().iter().map(|e| (e["type"].as_str().unwrap(), e["payload"]["rule_id"].as_str().unwrap())).collect();
        assert_eq!(seen, vec![("rule.deleted", id.as_str()), ("rule.updated", id.as_str()), ("rule.created", id.as_str())]);
    }
}

both_backends! {
    async fn a_bad_rule_is_refused_with_the_field_to_blame(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let good = live_keys_rule("Good", true);
        let with = |path: &[&str], value: Value| {
            let mut body = good.clone();
            let mut slot = &mut body;
            for p in &path[..path.len() - 1] {
                slot = &mut slot[*p];
            }
            slot[path[path.len() - 1]] = value;
            body
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (with(&["pattern", "types"], json!(["paymnt.*"])), "pattern.types[0]", "rule_pattern_invalid"),
            (with(&["pattern", "types"], json!(["payment.captured", "*.captured"])), "pattern.types[1]", "rule_pattern_invalid"),
            (with(&["pattern", "types"], json!([])), "pattern.types", "rule_pattern_invalid"),
            (with(&["pattern", "conditions"], json!([{ "path": "payload.amount", "operator": "greater", "value": 1 }])), "pattern.conditions[0].operator", "rule_operator_invalid"),
            (with(&["pattern", "conditions"], json!([{ "path": "amount", "operator": "gte", "value": 1 }])), "pattern.conditions[0].path", "rule_path_invalid"),
            (with(&["pattern", "conditions"], json!([{ "path": "payload.amount", "operator": "gte", "value": "1" }])), "pattern.conditions[0].value", "rule_value_invalid"),
            (with(&["target"], json!({ "type": "webhook_endpoint", "endpoint_id": "we_doesnotexist" })), "target.endpoint_id", "resource_missing"),
            (with(&["target"], json!({ "type": "webhook_endpoint", "endpoint_id": "pay_1" })), "target.endpoint_id", "parameter_invalid"),
            (with(&["target"], json!({ "type": "plugin", "plugin": "no-such-plugin" })), "target.plugin", "resource_missing"),
            (with(&["target"], json!({ "type": "pigeon" })), "target.type", "rule_target_invalid"),
            (with(&["payload_style"], json!("fat")), "payload_style", "parameter_invalid"),
            (with(&["name"], json!("  ")), "name", "parameter_missing"),
        ];
        for (body, expected_param, expected_code) in cases {
            let (status, answer) = app.post("/api/v1/rules", Some(&owner.token), body.clone()).await;
            assert_eq!(param(status, &answer), expected_param, "{body}");
            assert_eq!(answer["error"]["code"], expected_code, "{answer}");
        }
        let mut no_target = good.clone();
        no_target.as_object_mut().unwrap().remove("target");
        let (status, answer) = app.post("/api/v1/rules", Some(&owner.token), no_target).await;
        assert_eq!(param(status, &answer), "target");
        let (status, answer) = app
            .call(Method::PATCH, "/api/v1/rules/rul_nope", Some(&owner.token), Some(json!({ "enabled": false })))
            .await;
        assert_eq!(error_code(status, &answer, StatusCode::NOT_FOUND), "resource_missing");

        let (_, list) = app.get("/api/v1/rules", Some(&owner.token)).await;
        assert_eq!(list["data"], json!([]), "nothing refused was stored");
    }
}

both_backends! {
    async fn the_test_endpoint_says_which_condition_failed_and_why(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let pattern = json!({
            "types": ["payment.*", "invoice.payment_*"],
            "conditions": [
                { "path": "payload.amount", "operator": "gte", "value": 1000 },
                { "path": "payload.currency", "operator": "equals", "value": ["usd", "eur"] },
                { "path": "metadata.source", "operator": "equals", "value": "webhook" },
            ],
        });
        let sample = json!({ "type": "payment.captured", "payload": { "amount": 999, "currency": "usd" }, "metadata": { "source": "webhook" } });
        let (status, result) = app.post("/api/v1/rules/test", Some(&owner.token), json!({ "pattern": pattern, "event": sample })).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(result["matched"], false);
        assert_eq!(result["type_matched"], true);
        let passed: Vec<&Value> = result["conditions"].as_array().unwrap().iter().map(|c| &c["passed"]).collect();
        assert_eq!(passed, vec![&json!(false), &json!(true), &json!(true)]);
        assert_eq!(result["conditions"][0]["actual"], 999);
        assert_eq!(result["conditions"][0]["reason"], "`payload.amount` is 999, expected ≥ 1000");

        let at_edge = json!({ "type": "invoice.payment_failed", "payload": { "amount": 1000, "currency": "eur" }, "metadata": { "source": "webhook" } });
        let (_, result) = app.post("/api/v1/rules/test", Some(&owner.token), json!({ "pattern": pattern, "event": at_edge })).await;
        assert_eq!(result["matched"], true, "{result}");

        // A stored event, by id.
        let key = create_key(&app, &owner, "Stored", "live").await;
        let (_, events) = app.get("/api/v1/events?type=api_key.created", Some(&owner.token)).await;
        let event_id = events["data"][0]["id"].as_str().unwrap().to_owned();
        let by_id = json!({ "pattern": { "types": ["api_key.created"], "conditions": [{ "path": "payload.api_key_id", "operator": "equals", "value": key["id"] }] }, "event_id": event_id });
        let (status, result) = app.post("/api/v1/rules/test", Some(&owner.token), by_id).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        assert_eq!(result["matched"], true, "{result}");
        assert_eq!(result["event"]["id"], event_id.as_str());

        let (status, body) = app.post("/api/v1/rules/test", Some(&owner.token), json!({ "pattern": pattern, "event": { "payload": {} } })).await;
        assert_eq!(param(status, &body), "event.type");
        let (status, body) = app.post("/api/v1/rules/test", Some(&owner.token), json!({ "pattern": pattern, "event_id": "evt_nothere" })).await;
        assert_eq!(param(status, &body), "event_id");
        let (status, body) = app.post("/api/v1/rules/test", Some(&owner.token), json!({ "pattern": { "types": ["nope"] }, "event": sample })).await;
        assert_eq!(param(status, &body), "pattern.types[0]");
    }
}

both_backends! {
    async fn a_dry_run_counts_the_stored_and_archived_events_a_pattern_matches(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        for (name, mode) in [("a", "test"), ("b", "live"), ("c", "test"), ("d", "live"), ("e", "test")] {
            create_key(&app, &owner, name, mode).await;
        }
        // One event already past retention, in the archive; one too old for the window.
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
        for (id, age_days) in [("evt_archivedlive1", 2), ("evt_toooldlive1", 30)] {
            app.execute(&format!(
                "INSERT INTO events_archive (id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata, archived_at)
                 VALUES ('{id}', '{}', 'api_key.created', 1, {}, NULL, 'system',
                 '{{\"api_key_id\":\"key_old\",\"name\":\"old\",\"role\":\"developer\",\"mode\":\"live\",\"prefix\":\"sk_live_abcd\"}}',
                 '{{\"source\":\"system\"}}', {now_ms})",
                owner.tenant,
                now_ms - age_days * 86_400_000
            ))
            .await;
        }
        let pattern = json!({ "types": ["api_key.*"], "conditions": [{ "path": "payload.mode", "operator": "equals", "value": "live" }] });
        let (status, run) = app.post("/api/v1/rules/dry-run", Some(&owner.token), json!({ "pattern": pattern })).await;
        assert_eq!(status, StatusCode::OK, "{run}");
        assert_eq!(run["days"], 7);
        assert_eq!(run["matched"], 3, "{run}");
        assert_eq!(run["scanned"], 6, "only api_key.* events in the window are read: {run}");
        assert_eq!(run["truncated"], false);
        let samples = run["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 3);
        assert!(samples.iter().all(|s| s["payload"]["mode"] == "live"));
        assert_eq!(samples[2]["id"], "evt_archivedlive1", "newest first; the archived one is oldest");
        assert_eq!(samples[2]["archived"], true);

        let (_, wide) = app.post("/api/v1/rules/dry-run", Some(&owner.token), json!({ "pattern": pattern, "days": 90 })).await;
        assert_eq!(wide["matched"], 4, "{wide}");

        // A saved (disabled) rule dry-runs the same.
        let (_, rule) = app.post("/api/v1/rules", Some(&owner.token), live_keys_rule("Live", false)).await;
        let (status, saved) = app.post(&format!("/api/v1/rules/{}/dry-run", rule["id"].as_str().unwrap()), Some(&owner.token), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["matched"], 3);

        let (status, body) = app.post("/api/v1/rules/dry-run", Some(&owner.token), json!({ "pattern": pattern, "days": 91 })).await;
        assert_eq!(param(status, &body), "days");
        let (status, body) = app.post("/api/v1/rules/dry-run", Some(&owner.token), json!({ "pattern": pattern, "cursor": "garbage" })).await;
        assert_eq!(param(status, &body), "cursor");
        let (status, body) = app.post("/api/v1/rules/dry-run", Some(&owner.token), json!({})).await;
        assert_eq!(param(status, &body), "pattern");
    }
}

both_backends! {
    async fn an_archive_rule_keeps_each_matching_event_once_even_when_redelivered_and_is_counted(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let (status, rule) = app.post("/api/v1/rules", Some(&owner.token), live_keys_rule("Live keys", true)).await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        let id = rule["id"].as_str().unwrap().to_owned();
        let mut every_key = live_keys_rule("Every key", true);
        every_key["pattern"]["conditions"] = json!([]);
        every_key["payload_style"] = json!("snapshot");
        let (status, snapshot_rule) = app.post("/api/v1/rules", Some(&owner.token), every_key).await;
        assert_eq!(status, StatusCode::CREATED, "{snapshot_rule}");
        let live = create_key(&app, &owner, "live one", "live").await;
        create_key(&app, &owner, "test one", "test").await;

        let archive = format!("/api/v1/rules/{id}/archive");
        let kept = eventually(&app, &archive, &owner.token, |b| b["data"].as_array().is_some_and(|d| !d.is_empty())).await;
        // Thin (the body an endpoint would receive): the event id, the object, essentials only.
        let body = &kept["data"][0]["body"];
        assert_eq!(kept["data"][0]["type"], "api_key.created");
        assert_eq!(kept["data"][0]["payload_style"], "thin");
        assert_eq!(body["type"], "api_key.created");
        assert!(body["timestamp"].is_string(), "{body}");
        assert_eq!(body["data"]["object_id"], live["id"], "{body}");
        assert!(body["data"]["event_id"].as_str().unwrap().starts_with("evt_"));
        assert!(body["data"].get("payload").is_none() && body["data"].get("mode").is_none(), "{body}");
        // Snapshot: the whole envelope.
        let snapshots = eventually(&app, &format!("/api/v1/rules/{}/archive", snapshot_rule["id"].as_str().unwrap()), &owner.token, |b| {
            b["data"].as_array().is_some_and(|d| d.len() == 2)
        })
        .await;
        let entry = snapshots["data"].as_array().unwrap().iter().find(|e| e["body"]["data"]["payload"]["mode"] == "live").unwrap();
        let body = &entry["body"];
        assert_eq!(entry["payload_style"], "snapshot");
        assert_eq!(body["data"]["payload"]["api_key_id"], live["id"], "{body}");
        assert_eq!(body["data"]["payload"]["mode"], "live");
        assert_eq!(body["data"]["tenant_id"], owner.tenant.as_str());

        // Every api_key.created event (the test one too) went through the listener.
        let (_, events) = app.get("/api/v1/events?type=api_key.created", Some(&owner.token)).await;
        for e in events["data"].as_array().unwrap() {
            let path = format!("/api/v1/events/{}", e["id"].as_str().unwrap());
            eventually(&app, &path, &owner.token, |d| d["deliveries"].as_array().unwrap().iter().any(|x| x["listener"] == "rules" && x["status"] == "succeeded")).await;
        }

        // Redeliver every api_key event to the rules listener.
        let (status, job) = app.post("/api/v1/replays", Some(&owner.token), json!({ "types": ["api_key.*"], "listener": "rules" })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let job_path = format!("/api/v1/replays/{}", job["id"].as_str().unwrap());
        eventually(&app, &job_path, &owner.token, |j| j["status"] == "completed").await;
        let (_, deliveries) = app.get("/api/v1/deliveries?listener=rules&limit=100", Some(&owner.token)).await;
        let replayed: Vec<&Value> = deliveries["data"].as_array().unwrap().iter().filter(|d| d["replay_id"] == job["id"]).collect();
        assert_eq!(replayed.len(), 2, "{deliveries}");
        eventually(&app, "/api/v1/deliveries?listener=rules&limit=100", &owner.token, |d| {
            d["data"].as_array().unwrap().iter().filter(|x| x["replay_id"] == job["id"]).all(|x| x["status"] == "succeeded")
        })
        .await;

        let (_, kept) = app.get(&archive, Some(&owner.token)).await;
        assert_eq!(kept["data"].as_array().unwrap().len(), 1, "archived once: {kept}");

        let (status, stats) = app.get(&format!("/api/v1/rules/{id}/stats"), Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{stats}");
        assert_eq!((stats["matched"].as_u64(), stats["delivered"].as_u64(), stats["failed"].as_u64()), (Some(1), Some(1), Some(0)), "{stats}");
        assert_eq!(stats["undelivered"], 0);
        assert_eq!(stats["days"].as_array().unwrap().len(), 1);

        let (_, listed) = app.get(&format!("/api/v1/rules/{id}"), Some(&owner.token)).await;
        assert_eq!(listed["matched_7d"], 1);

        let (status, bus) = app.get("/api/observability/event-bus?window_minutes=60", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{bus}");
        let line = bus["rules"].as_array().unwrap().iter().find(|r| r["rule_id"] == id.as_str()).unwrap_or_else(|| panic!("no rule in {bus}"));
        assert_eq!(line["name"], "Live keys");
        assert_eq!((line["matched"].as_u64(), line["delivered"].as_u64(), line["failed"].as_u64()), (Some(1), Some(1), Some(0)));
    }
}

both_backends! {
    async fn a_disabled_rule_does_nothing(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let (_, rule) = app.post("/api/v1/rules", Some(&owner.token), live_keys_rule("Off", false)).await;
        create_key(&app, &owner, "live", "live").await;
        let (_, events) = app.get("/api/v1/events?type=api_key.created", Some(&owner.token)).await;
        let path = format!("/api/v1/events/{}", events["data"][0]["id"].as_str().unwrap());
        eventually(&app, &path, &owner.token, |d| d["deliveries"].as_array().unwrap().iter().any(|x| x["listener"] == "rules" && x["status"] == "succeeded")).await;
        let (_, kept) = app.get(&format!("/api/v1/rules/{}/archive", rule["id"].as_str().unwrap()), Some(&owner.token)).await;
        assert_eq!(kept["data"], json!([]));
    }
}

both_backends! {
    async fn another_tenants_rule_is_not_found(app: TestApp) {
        let alice = app.user(&unique_email("alice")).await;
        let bob = app.user(&unique_email("bob")).await;
        let (_, rule) = app.post("/api/v1/rules", Some(&bob.token), live_keys_rule("Bob's", true)).await;
        let id = rule["id"].as_str().unwrap();
        let calls: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/api/v1/rules/{id}"), None),
            (Method::PATCH, format!("/api/v1/rules/{id}"), Some(json!({ "enabled": false }))),
            (Method::DELETE, format!("/api/v1/rules/{id}"), None),
            (Method::POST, format!("/api/v1/rules/{id}/dry-run"), Some(json!({}))),
            (Method::GET, format!("/api/v1/rules/{id}/stats"), None),
            (Method::GET, format!("/api/v1/rules/{id}/archive"), None),
        ];
        for (method, path, body) in calls {
            let (status, answer) = app.call(method.clone(), &path, Some(&alice.token), body).await;
            assert_eq!(error_code(status, &answer, StatusCode::NOT_FOUND), "resource_missing", "{method} {path}");
        }
        let (_, list) = app.get("/api/v1/rules", Some(&alice.token)).await;
        assert_eq!(list["data"], json!([]));
        let (_, still) = app.get(&format!("/api/v1/rules/{id}"), Some(&bob.token)).await;
        assert_eq!(still["enabled"], true, "alice's PATCH changed nothing");
    }
}

both_backends! {
    async fn a_plugin_rule_hands_over_events_outside_the_plugins_subscription_unless_the_plugin_is_off(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        // crm-activity subscribes to payments, refunds and disputes, not to API keys.
        let body = json!({
            "name": "Keys to CRM",
            "pattern": { "types": ["api_key.created"] },
            "target": { "type": "plugin", "plugin": "crm-activity" },
        });
        let (status, rule) = app.post("/api/v1/rules", Some(&owner.token), body.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        // A plugin receives the whole event: thin is refused for it.
        let mut thin = body.clone();
        thin["payload_style"] = json!("thin");
        let (status, refused) = app.post("/api/v1/rules", Some(&owner.token), thin).await;
        assert_eq!(param(status, &refused), "payload_style");
        let stats_path = format!("/api/v1/rules/{}/stats", rule["id"].as_str().unwrap());

        create_key(&app, &owner, "one", "test").await;
        eventually(&app, &stats_path, &owner.token, |s| s["delivered"] == 1).await;

        let (status, off) = app.call(Method::PUT, "/api/v1/plugins/crm-activity", Some(&owner.token), Some(json!({ "enabled": false }))).await;
        assert_eq!(status, StatusCode::OK, "{off}");
        create_key(&app, &owner, "two", "test").await;
        let stats = eventually(&app, &stats_path, &owner.token, |s| s["recent_errors"].as_array().is_some_and(|e| !e.is_empty())).await;
        assert_eq!(stats["matched"], 2, "{stats}");
        assert_eq!(stats["delivered"], 1, "a plugin that is off is skipped, not called: {stats}");
        assert_eq!(stats["failed"], 0);
        assert!(stats["recent_errors"][0]["error"].as_str().unwrap().contains("disabled"), "{stats}");
    }
}

both_backends! {
    async fn an_endpoint_rule_queues_a_message_for_events_the_endpoint_does_not_subscribe_to(app: TestApp) {
        let owner = app.user(&unique_email("rules")).await;
        let (status, endpoint) = app
            .post("/api/v1/webhook-endpoints", Some(&owner.token), json!({ "url": "https://hooks.example.com/rules", "events": ["payment.*"] }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        let endpoint_id = endpoint["endpoint"]["id"].as_str().unwrap().to_owned();
        let mut rule = live_keys_rule("Live keys to the ERP", true);
        rule["target"] = json!({ "type": "webhook_endpoint", "endpoint_id": endpoint_id });
        let (status, rule) = app.post("/api/v1/rules", Some(&owner.token), rule).await;
        assert_eq!(status, StatusCode::CREATED, "{rule}");
        assert_eq!(rule["target"]["endpoint_id"], endpoint_id.as_str());

        let live = create_key(&app, &owner, "live", "live").await;
        create_key(&app, &owner, "test", "test").await;
        let messages = format!("/api/v1/webhook-endpoints/{endpoint_id}/messages");
        let list = eventually(&app, &messages, &owner.token, |m| m["data"].as_array().is_some_and(|d| !d.is_empty())).await;
        let stats_path = format!("/api/v1/rules/{}/stats", rule["id"].as_str().unwrap());
        eventually(&app, &stats_path, &owner.token, |s| s["matched"] == 1 && s["delivered"] == 1).await;

        let (_, events) = app.get("/api/v1/events?type=api_key.created", Some(&owner.token)).await;
        let live_event = events["data"].as_array().unwrap().iter().find(|e| e["payload"]["api_key_id"] == live["id"]).unwrap()["id"].clone();
        let (_, list2) = app.get(&messages, Some(&owner.token)).await;
        let data = list2["data"].as_array().unwrap();
        assert_eq!(data.len(), 1, "one message, for the live key only: {list} {list2}");
        assert_eq!(data[0]["event_id"], live_event);
        assert_eq!(data[0]["payload_style"], "thin");

        // Deleting the endpoint: the rule's next match is skipped (recorded), not retried.
        let (status, _) = app.call(Method::DELETE, &format!("/api/v1/webhook-endpoints/{endpoint_id}"), Some(&owner.token), None).await;
        assert_eq!(status, StatusCode::OK);
        create_key(&app, &owner, "live again", "live").await;
        let stats = eventually(&app, &stats_path, &owner.token, |s| s["recent_errors"].as_array().is_some_and(|e| !e.is_empty())).await;
        assert_eq!((stats["matched"].as_u64(), stats["delivered"].as_u64(), stats["failed"].as_u64()), (Some(2), Some(1), Some(0)), "{stats}");
    }
}
