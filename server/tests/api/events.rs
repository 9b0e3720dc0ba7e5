//! The event bus over HTTP: services publish what they do, the timeline API filters and scopes
//! it by tenant, dead letters are retried, replays run as jobs, and statistics, health and
//! metrics report the bus.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::{both_backends, helpers::*};

async fn spawn_with_probe(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(Spawn { backend, env: vec![("PAYBUS_BUS_PROBE", "true".into()), ("PAYBUS_BUS_POLL_MS", "200".into())] }).await
}

/// Polls until `check` holds on GET `path` (the dispatcher runs in the background).
async fn eventually(app: &TestApp, path: &str, token: &str, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (status, body) = app.get(path, Some(token)).await;
        if status == StatusCode::OK && check(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition never held for {path}");
}

fn types(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

/// Invites `email` into `owner`'s tenant with `role` and accepts as that (fresh) user.
async fn member(app: &TestApp, owner: &TestUser, role: &str) -> TestUser {
    let email = unique_email(role);
    let (status, body) = app.post("/api/v1/invitations", Some(&owner.token), json!({ "email": email, "role": role })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, mail) = app.get("/api/v1/dev/mailbox?limit=100", None).await;
    let text = mail["data"].as_array().unwrap().iter().find(|m| m["to"] == email.as_str()).unwrap()["body"].as_str().unwrap().to_owned();
    let token = text.split("token=").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    let user = app.user(&email).await;
    let (status, body) = app.post("/api/v1/invitations/accept", Some(&user.token), json!({ "token": token })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    user
}

fn in_tenant<'a>(tenant: &'a str) -> [(&'static str, &'a str); 1] {
    [("X-Tenant-Id", tenant)]
}

both_backends! {
    async fn what_services_do_appears_as_events_with_their_deliveries(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("events")).await;
        let (status, key) = app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "Checkout" })).await;
        assert_eq!(status, StatusCode::CREATED);

        let (status, list) = app.get("/api/v1/events", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["object"], "list");
        let seen = types(&list);
        for expected in ["auth.user_signed_up", "org.tenant_created", "auth.email_verified", "api_key.created"] {
            assert!(seen.contains(&expected.to_owned()), "{expected} missing from {seen:?}");
        }
        // Newest first; the envelope names actor, tenant and the request it came from.
        assert_eq!(seen[0], "api_key.created");
        let event = &list["data"][0];
        assert_eq!(event["tenant_id"], owner.tenant.as_str());
        assert_eq!(event["actor"], owner.id.as_str());
        assert_eq!(event["actor_type"], "user");
        assert_eq!(event["version"], 1);
        assert_eq!(event["metadata"]["source"], "api");
        assert!(event["metadata"]["request_id"].is_string());
        assert_eq!(event["payload"]["api_key_id"], key["id"]);
        assert!(!event.to_string().contains(key["secret"].as_str().unwrap()), "no secret in events");

        let id = event["id"].as_str().unwrap();
        // The probe's delivery (built-in plugins such as audit-log receive the event too).
        let probe = |d: &Value| d["deliveries"].as_array().and_then(|ds| ds.iter().find(|x| x["listener"] == "bus-probe").cloned()).unwrap_or(Value::Null);
        let detail = eventually(&app, &format!("/api/v1/events/{id}"), &owner.token, |d| probe(d)["status"] == "succeeded").await;
        let delivery = &probe(&detail);
        assert_eq!(delivery["listener"], "bus-probe");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["attempt_log"][0]["outcome"], "succeeded");
    }
}

both_backends! {
    async fn the_timeline_filters_by_type_pattern_actor_and_time(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("filters")).await;
        for name in ["a", "b"] {
            app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": name })).await;
        }
        let (_, only_keys) = app.get("/api/v1/events?type=api_key.created", Some(&owner.token)).await;
        assert_eq!(types(&only_keys), ["api_key.created", "api_key.created"]);
        let (_, org_and_auth) = app.get("/api/v1/events?pattern=org.*,auth.*", Some(&owner.token)).await;
        assert!(types(&org_and_auth).iter().all(|t| t.starts_with("org.") || t.starts_with("auth.")));
        assert_eq!(types(&org_and_auth).len(), 3);
        let (_, by_actor) = app.get(&format!("/api/v1/events?actor={}&limit=1", owner.id), Some(&owner.token)).await;
        assert_eq!(by_actor["data"].as_array().unwrap().len(), 1);
        assert_eq!(by_actor["has_more"], true);
        let last = by_actor["data"][0]["id"].as_str().unwrap();
        let (_, next) = app.get(&format!("/api/v1/events?actor={}&limit=100&starting_after={last}", owner.id), Some(&owner.token)).await;
        assert!(next["data"].as_array().unwrap().iter().all(|e| e["id"] != last));
        let (_, future) = app.get("/api/v1/events?from=2999-01-01T00:00:00Z", Some(&owner.token)).await;
        assert_eq!(future["data"].as_array().unwrap().len(), 0);

        for (query, param) in [("pattern=paymnt.*", "pattern"), ("type=payment.captur", "type"), ("from=yesterday", "from"),
            ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"), ("colour=blue", "")] {
            let (status, body) = app.get(&format!("/api/v1/events?{query}"), Some(&owner.token)).await;
            error_code(status, &body, StatusCode::BAD_REQUEST);
            if !param.is_empty() {
                assert_eq!(body["error"]["param"], param, "{query}: {body}");
            }
        }
    }
}

both_backends! {
    async fn the_timeline_filters_by_delivery_status_and_listener(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("delivery-filters")).await;
        app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "Checkout" })).await;

        // The probe receives every event: once it has the key's, the filter finds it.
        let path = "/api/v1/events?type=api_key.created&status=succeeded&listener=bus-probe";
        let delivered = eventually(&app, path, &owner.token, |l| l["data"].as_array().is_some_and(|d| d.len() == 1)).await;
        assert_eq!(types(&delivered), ["api_key.created"]);
        assert_eq!(delivered["data"][0]["actor"], owner.id.as_str());

        // Nothing died, and a listener that received nothing narrows the list to nothing.
        let (status, dead) = app.get("/api/v1/events?status=dead", Some(&owner.token)).await;
        assert_eq!(status, StatusCode::OK, "{dead}");
        assert_eq!(dead["data"].as_array().unwrap().len(), 0, "{dead}");
        let (_, elsewhere) = app.get("/api/v1/events?listener=no-such-listener", Some(&owner.token)).await;
        assert_eq!(elsewhere["data"].as_array().unwrap().len(), 0, "{elsewhere}");
        // Without the delivery filters the same event is there, with the others.
        let (_, all) = app.get("/api/v1/events?listener=bus-probe", Some(&owner.token)).await;
        assert!(types(&all).contains(&"api_key.created".to_owned()), "{all}");

        let (status, body) = app.get("/api/v1/events?status=lost", Some(&owner.token)).await;
        error_code(status, &body, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["param"], "status", "{body}");
    }
}

both_backends! {
    async fn another_tenants_events_and_deliveries_are_not_found(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let alice = app.user(&unique_email("alice")).await;
        let bob = app.user(&unique_email("bob")).await;
        let (_, list) = app.get("/api/v1/events?type=api_key.created", Some(&alice.token)).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 0);
        app.post("/api/v1/api-keys", Some(&alice.token), json!({ "name": "a" })).await;
        let (_, alice_events) = app.get("/api/v1/events?type=api_key.created", Some(&alice.token)).await;
        let event_id = alice_events["data"][0]["id"].as_str().unwrap().to_owned();
        let detail = eventually(&app, &format!("/api/v1/events/{event_id}"), &alice.token, |d| d["deliveries"][0]["status"] == "succeeded").await;
        let delivery_id = detail["deliveries"][0]["id"].as_str().unwrap().to_owned();

        let (_, bob_events) = app.get("/api/v1/events", Some(&bob.token)).await;
        assert!(bob_events["data"].as_array().unwrap().iter().all(|e| e["tenant_id"] == bob.tenant.as_str()));
        for path in [format!("/api/v1/events/{event_id}"), format!("/api/v1/deliveries/{delivery_id}")] {
            let (status, body) = app.get(&path, Some(&bob.token)).await;
            assert_eq!(error_code(status, &body, StatusCode::NOT_FOUND), "resource_missing", "{path}");
        }
        let (status, body) = app.call(Method::POST, &format!("/api/v1/deliveries/{delivery_id}/retry"), Some(&bob.token), None).await;
        error_code(status, &body, StatusCode::NOT_FOUND);
        // Alice's own delivery succeeded: retrying it is a conflict, not a second run.
        let (status, body) = app.call(Method::POST, &format!("/api/v1/deliveries/{delivery_id}/retry"), Some(&alice.token), None).await;
        assert_eq!(error_code(status, &body, StatusCode::CONFLICT), "delivery_not_dead");
    }
}

both_backends! {
    async fn roles_decide_who_reads_events_replays_and_sees_stats(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("owner")).await;
        let viewer = member(&app, &owner, "viewer").await;
        let analyst = member(&app, &owner, "analyst").await;
        let tenant = in_tenant(&owner.tenant);
        let replay = json!({ "types": ["*"] });

        let (status, body) = app.call_with(Method::GET, "/api/v1/events", Some(&viewer.token), None, &tenant).await;
        assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "insufficient_role");
        let (status, _) = app.call_with(Method::GET, "/api/observability/event-bus", Some(&viewer.token), None, &tenant).await;
        assert_eq!(status, StatusCode::OK, "viewers read the stats dashboard");
        let (status, _) = app.call_with(Method::GET, "/api/v1/events", Some(&analyst.token), None, &tenant).await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = app.call_with(Method::POST, "/api/v1/replays", Some(&analyst.token), Some(replay.clone()), &tenant).await;
        assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "insufficient_role");
        assert_eq!(app.call_with(Method::POST, "/api/v1/replays", Some(&owner.token), Some(replay), &tenant).await.0, StatusCode::ACCEPTED);

        // The global view is for the platform operator only.
        let (status, body) = app.get("/api/observability/event-bus?scope=global", Some(&owner.token)).await;
        assert_eq!(error_code(status, &body, StatusCode::FORBIDDEN), "platform_admin_required");
    }
}

both_backends! {
    async fn a_replay_runs_as_a_job_with_progress_and_redelivers_the_matching_events(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("replay")).await;
        for name in ["a", "b", "c"] {
            app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": name })).await;
        }
        let (status, job) = app.post("/api/v1/replays", Some(&owner.token), json!({ "types": ["api_key.*"], "listener": "bus-probe" })).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert_eq!(job["total"], 3);
        let id = job["id"].as_str().unwrap();
        let done = eventually(&app, &format!("/api/v1/replays/{id}"), &owner.token, |j| j["status"] == "completed").await;
        assert_eq!((done["matched"].as_u64(), done["enqueued"].as_u64(), done["progress"].as_f64()), (Some(3), Some(3), Some(1.0)));
        let deliveries = eventually(&app, "/api/v1/deliveries?status=succeeded&limit=100", &owner.token, |l| {
            l["data"].as_array().unwrap().iter().filter(|d| d["replay_id"] == id).count() == 3
        })
        .await;
        assert!(deliveries["data"].as_array().unwrap().iter().filter(|d| d["replay_id"] == id).all(|d| d["event_type"] == "api_key.created"));
        let (_, list) = app.get("/api/v1/replays", Some(&owner.token)).await;
        assert_eq!(list["data"][0]["id"], id);

        for (body, param) in [(json!({ "types": [] }), "types"), (json!({ "types": ["nope.*"] }), "types"), (json!({ "types": ["*"], "listener": "ghost" }), "listener")] {
            let (status, err) = app.post("/api/v1/replays", Some(&owner.token), body).await;
            error_code(status, &err, StatusCode::BAD_REQUEST);
            assert_eq!(err["error"]["param"], param);
        }
    }
}

both_backends! {
    async fn stats_health_and_metrics_report_the_bus(app: TestApp) {
        let Some(app) = spawn_with_probe(app.backend).await else { return };
        let owner = app.user(&unique_email("stats")).await;
        app.post("/api/v1/api-keys", Some(&owner.token), json!({ "name": "a" })).await;
        let stats = eventually(&app, "/api/observability/event-bus?window_minutes=15", &owner.token, |s| s["backlog"] == 0).await;
        assert_eq!(stats["scope"], "tenant");
        let emitted: Vec<(String, u64)> = stats["emitted"].as_array().unwrap().iter().map(|t| (t["type"].as_str().unwrap().to_owned(), t["count"].as_u64().unwrap())).collect();
        assert!(emitted.contains(&("api_key.created".into(), 1)), "{emitted:?}");
        let probe = stats["listeners"].as_array().unwrap().iter().find(|l| l["listener"] == "bus-probe").expect("probe listener stats");
        assert!(probe["ok"].as_u64().unwrap() >= 4, "{stats}");
        assert!(probe["p50_ms"].is_i64());
        assert_eq!(stats["series"].as_array().unwrap().len(), 16);
        let (status, body) = app.get("/api/observability/event-bus?window_minutes=0", Some(&owner.token)).await;
        error_code(status, &body, StatusCode::BAD_REQUEST);

        let (status, health) = app.get("/api/v1/health", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(health["status"], "ok");
        assert_eq!(health["bus"]["dead"], 0);

        let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("paybus_events_published_total"), "{text}");
        assert!(text.contains("paybus_bus_backlog"));
    }
}
