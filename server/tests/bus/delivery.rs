//! Retries with exponential backoff (checked on a manual clock), dead letters, and listeners that
//! fail, panic or hang without touching anyone else's deliveries.

use std::{sync::Arc, time::Duration};

use app::ssr::bus::{queries, store, Listener};

use app::domain::PrefixedId;

use crate::{on_both, support::*};

fn set(listeners: &[Arc<Scripted>]) -> Vec<Arc<dyn Listener>> {
    listeners.iter().map(|l| l.clone() as Arc<dyn Listener>).collect()
}

on_both! {
    async fn a_listener_failing_twice_succeeds_on_the_third_attempt_after_backing_off(backend) {
        let flaky = Scripted::new("flaky", &["*"], Script::FailTimes(2));
        let steady = Scripted::new("steady", &["*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, set(&[flaky.clone(), steady.clone()]), &[]).await else { return };
        t.publish(None, key_created(1)).await;
        let dispatcher = t.bus.dispatcher();

        // Attempt 1 fails: due again within [base/2, base] = [500, 1000] ms.
        let pass = dispatcher.run_due().await.unwrap();
        assert_eq!((pass.claimed, pass.succeeded, pass.retried), (2, 1, 1));
        let d = t.delivery("flaky").await;
        assert_eq!((d.status.as_str(), d.attempts), ("pending", 1));
        let wait = d.next_attempt_at - START_MS;
        assert!((500..=1000).contains(&wait), "first backoff {wait} ms");
        assert_eq!(d.last_error.as_deref(), Some("failure 1 of 2"));

        // Not yet due: nothing runs.
        t.clock.advance_ms(wait - 1);
        assert_eq!(dispatcher.run_due().await.unwrap().claimed, 0);

        // Attempt 2 fails: the ceiling doubles to [1000, 2000] ms.
        t.clock.advance_ms(1);
        assert_eq!(dispatcher.run_due().await.unwrap().retried, 1);
        let d2 = t.delivery("flaky").await;
        let wait2 = d2.next_attempt_at - (START_MS + wait);
        assert!((1000..=2000).contains(&wait2), "second backoff {wait2} ms");

        t.clock.advance_ms(wait2);
        assert_eq!(dispatcher.run_due().await.unwrap().succeeded, 1);
        let done = t.delivery("flaky").await;
        assert_eq!((done.status.as_str(), done.attempts), ("succeeded", 3));
        assert_eq!(t.count("SELECT COUNT(*) FROM delivery_attempts da JOIN event_deliveries d ON d.id = da.delivery_id WHERE d.listener = 'flaky'").await, 3);
        let outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM delivery_attempts WHERE listener = 'flaky' ORDER BY attempt").fetch_all(&t.db.pool).await.unwrap();
        assert_eq!(outcomes, ["failed", "failed", "succeeded"]);

        // The same delivery id on every attempt; the healthy listener ran once.
        let seen = flaky.seen();
        assert_eq!(seen.iter().map(|s| s.2).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(seen.iter().all(|s| s.1 == seen[0].1));
        assert_eq!(steady.calls(), 1);
        assert_eq!(t.delivery("steady").await.attempts, 1);
    }
}

on_both! {
    async fn a_listener_that_always_fails_is_dead_lettered_after_the_maximum_and_announced(backend) {
        let broken = Scripted::new("broken", &["api_key.*"], Script::AlwaysFail);
        let steady = Scripted::new("steady", &["api_key.*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, set(&[broken.clone(), steady.clone()]), &[("PAYBUS_BUS_MAX_ATTEMPTS", "3")]).await else { return };
        let event_id = t.publish(None, key_created(1)).await;
        let dispatcher = t.bus.dispatcher();
        for _ in 0..3 {
            dispatcher.run_due().await.unwrap();
            t.clock.advance_ms(60_000);
        }
        let d = t.delivery("broken").await;
        assert_eq!((d.status.as_str(), d.attempts), ("dead", 3));
        assert_eq!(broken.calls(), 3);
        assert_eq!(steady.calls(), 1);
        assert_eq!(t.delivery("steady").await.status, "succeeded");
        // Nothing more happens to a dead delivery, however long we wait.
        t.clock.advance_ms(3_600_000);
        dispatcher.run_due().await.unwrap();
        assert_eq!(broken.calls(), 3);

        let dead_events: Vec<String> = sqlx::query_scalar("SELECT payload FROM events WHERE type = 'bus.delivery_dead'").fetch_all(&t.db.pool).await.unwrap();
        assert_eq!(dead_events.len(), 1);
        let payload: serde_json::Value = serde_json::from_str(&dead_events[0]).unwrap();
        assert_eq!(payload["listener"], "broken");
        assert_eq!(payload["event_id"], event_id.as_str());
        assert_eq!(payload["attempts"], 3);
    }
}

on_both! {
    async fn a_permanent_error_is_dead_at_once(backend) {
        let gone = Scripted::new("gone", &["api_key.*"], Script::FailPermanently);
        let Some(t) = TestBus::new(backend, set(&[gone.clone()]), &[]).await else { return };
        t.publish(None, key_created(1)).await;
        t.bus.dispatcher().run_due().await.unwrap();
        let d = t.delivery("gone").await;
        assert_eq!((d.status.as_str(), d.attempts), ("dead", 1));
        assert_eq!(d.last_error.as_deref(), Some("the peer said 410 Gone"));
    }
}

on_both! {
    async fn a_panicking_listener_is_contained_and_retried(backend) {
        let buggy = Scripted::new("buggy", &["*"], Script::Panic);
        let steady = Scripted::new("steady", &["*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, set(&[buggy.clone(), steady.clone()]), &[]).await else { return };
        t.publish(None, key_created(1)).await;
        t.publish(None, key_created(2)).await;
        let pass = t.bus.dispatcher().run_due().await.unwrap();
        assert_eq!((pass.claimed, pass.succeeded, pass.retried), (4, 2, 2));
        assert_eq!(steady.calls(), 2);
        let errors: Vec<Option<String>> = sqlx::query_scalar("SELECT last_error FROM event_deliveries WHERE listener = 'buggy'").fetch_all(&t.db.pool).await.unwrap();
        assert!(errors.iter().all(|e| e.as_deref() == Some("listener panicked: listener bug")), "{errors:?}");
        let outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM delivery_attempts WHERE listener = 'buggy'").fetch_all(&t.db.pool).await.unwrap();
        assert_eq!(outcomes, ["panicked", "panicked"]);
    }
}

on_both! {
    async fn a_listener_that_exceeds_its_timeout_counts_as_failed_and_is_retried(backend) {
        let slow = Scripted::with_timeout("slow", Duration::from_millis(50), Script::Sleep(Duration::from_secs(30)));
        let Some(t) = TestBus::new(backend, set(&[slow.clone()]), &[]).await else { return };
        t.publish(None, key_created(1)).await;
        let started = std::time::Instant::now();
        t.bus.dispatcher().run_due().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(10), "the dispatcher did not wait for the hung listener");
        let d = t.delivery("slow").await;
        assert_eq!(d.status, "pending");
        assert_eq!(d.last_error.as_deref(), Some("timed out after 50 ms"));
    }
}

on_both! {
    async fn a_dead_delivery_retried_by_hand_runs_again_with_the_same_id(backend) {
        let gone = Scripted::new("gone", &["api_key.*"], Script::FailTimes(1));
        let Some(t) = TestBus::new(backend, set(&[gone.clone()]), &[("PAYBUS_BUS_MAX_ATTEMPTS", "1")]).await else { return };
        t.publish(Some("ten_a"), key_created(1)).await;
        let dispatcher = t.bus.dispatcher();
        dispatcher.run_due().await.unwrap();
        assert_eq!(t.delivery("gone").await.status, "dead");
        let id: String = sqlx::query_scalar("SELECT id FROM event_deliveries WHERE listener = 'gone'").fetch_one(&t.db.pool).await.unwrap();

        // Another tenant cannot see or retry it.
        let other = queries::Scope::Tenant(app::domain::TenantId::parse("ten_b").unwrap());
        assert!(matches!(queries::retry_dead(&t.db, &other, &id, 1, t.bus.now_ms()).await, Err(app::AppError::NotFound { .. })));

        let own = queries::Scope::Tenant(app::domain::TenantId::parse("ten_a").unwrap());
        let retried = queries::retry_dead(&t.db, &own, &id, 1, t.bus.now_ms()).await.unwrap();
        assert_eq!((retried.status.as_str(), retried.max_attempts), ("pending", 2));
        // Retrying what is not dead is a conflict.
        assert!(matches!(queries::retry_dead(&t.db, &own, &id, 1, t.bus.now_ms()).await, Err(app::AppError::Conflict { .. })));

        dispatcher.run_due().await.unwrap();
        let d = t.delivery("gone").await;
        assert_eq!((d.status.as_str(), d.attempts), ("succeeded", 2));
        let seen = gone.seen();
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].1, seen[1].1, "same delivery id");
        let detail = queries::delivery(&t.db, &own, &id).await.unwrap();
        assert_eq!(detail.attempt_log.iter().map(|a| a.outcome.as_str()).collect::<Vec<_>>(), ["failed", "succeeded"]);
    }
}

on_both! {
    async fn a_delivery_whose_worker_died_is_taken_over_when_its_lease_expires(backend) {
        let steady = Scripted::new("steady", &["*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, set(&[steady.clone()]), &[("PAYBUS_BUS_LEASE_MS", "60000")]).await else { return };
        t.publish(None, key_created(1)).await;
        // Another worker claims it and then vanishes without recording anything.
        let claimed = store::claim_due(&t.db, "wrk_dead", START_MS, START_MS + 60_000, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let dispatcher = t.bus.dispatcher();
        assert_eq!(dispatcher.run_due().await.unwrap().claimed, 0, "the lease still holds");
        t.clock.advance_ms(60_001);
        assert_eq!(dispatcher.run_due().await.unwrap().succeeded, 1);
        let d = t.delivery("steady").await;
        assert_eq!((d.status.as_str(), d.attempts), ("succeeded", 2));
        assert_eq!(steady.calls(), 1);
    }
}

on_both! {
    async fn a_listener_switched_off_for_the_tenant_records_a_skip(backend) {
        struct Off;
        #[async_trait::async_trait]
        impl Listener for Off {
            fn name(&self) -> &'static str { "off" }
            fn patterns(&self) -> Vec<app::domain::events::EventPattern> { vec![app::domain::events::EventPattern::All] }
            async fn enabled_for(&self, _db: &app::ssr::db::Db, tenant: Option<&app::domain::TenantId>) -> bool {
                tenant.map(|t| t.as_str()) != Some("ten_optout")
            }
            async fn handle(&self, _d: &app::ssr::bus::Delivery) -> Result<(), app::ssr::bus::ListenerError> { Ok(()) }
        }
        let Some(t) = TestBus::new(backend, vec![Arc::new(Off)], &[]).await else { return };
        t.publish(Some("ten_optout"), key_created(1)).await;
        t.publish(Some("ten_optin"), key_created(2)).await;
        let pass = t.bus.dispatcher().run_due().await.unwrap();
        assert_eq!((pass.skipped, pass.succeeded), (1, 1));
        let status: String = sqlx::query_scalar("SELECT status FROM event_deliveries WHERE tenant_id = 'ten_optout'").fetch_one(&t.db.pool).await.unwrap();
        assert_eq!(status, "skipped");
    }
}
