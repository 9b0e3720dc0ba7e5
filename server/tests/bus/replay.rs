//! Replay re-delivers exactly the events its filter matches, once per listener, even when a job
//! is run twice; archived events stay replayable.

use std::sync::Arc;

use app::{
    domain::{events::views::ReplayFilter, TenantId},
    ssr::bus::{maintenance, replay, Listener},
};
use time::OffsetDateTime;

use app::domain::PrefixedId;

use crate::{on_both, support::*};

async fn publish_as(t: &TestBus, tenant: &str, actor: &str, event: app::domain::events::DomainEvent) -> String {
    t.bus.publish_now(&context(Some(tenant), Some(actor)), event).await.unwrap().to_string()
}

on_both! {
    async fn replay_by_filter_redelivers_exactly_the_matching_events(backend) {
        let audit = Scripted::new("audit", &["*"], Script::Succeed);
        let keys = Scripted::new("keys", &["api_key.*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, vec![audit.clone() as Arc<dyn Listener>, keys.clone()], &[]).await else { return };

        // Tenant A: two key events and a member event by usr_1, a key event by usr_2, then
        // (an hour later) another key event. Tenant B: a key event.
        let a1 = publish_as(&t, "ten_a", "usr_1", key_created(1)).await;
        let a2 = publish_as(&t, "ten_a", "usr_1", key_created(2)).await;
        let _member = publish_as(&t, "ten_a", "usr_1", member_joined(1)).await;
        let _by_other = publish_as(&t, "ten_a", "usr_2", key_created(3)).await;
        t.clock.advance_ms(3_600_000);
        let _later = publish_as(&t, "ten_a", "usr_1", key_created(4)).await;
        let _other_tenant = publish_as(&t, "ten_b", "usr_1", key_created(5)).await;
        t.bus.dispatcher().run_due().await.unwrap();
        let first_calls = audit.calls();

        let filter = ReplayFilter {
            types: vec!["api_key.*".into()],
            actor: Some("usr_1".into()),
            from: Some(OffsetDateTime::from_unix_timestamp(START_MS / 1000).unwrap()),
            to: Some(OffsetDateTime::from_unix_timestamp((START_MS + 1_800_000) / 1000).unwrap()),
            listener: None,
        };
        let request = replay::ReplayRequest::parse(&t.bus, filter).unwrap();
        let tenant = TenantId::parse("ten_a").unwrap();
        let job = replay::create(&t.bus, Some(&tenant), &request, Some("usr_1")).await.unwrap();
        assert_eq!((job.status.as_str(), job.total), ("queued", Some(2)));
        let mut progress = Vec::new();
        let done = replay::run(&t.bus, &job.id, |p| progress.push(p.matched)).await.unwrap();
        assert_eq!((done.status.as_str(), done.matched, done.enqueued, done.progress), ("completed", 2, 4, 1.0));
        assert!(!progress.is_empty());

        t.bus.dispatcher().run_due().await.unwrap();
        let replayed = |l: &Scripted| {
            let mut ids: Vec<String> = l.seen().into_iter().filter(|s| s.3).map(|s| s.0).collect();
            ids.sort();
            ids
        };
        let mut expected = vec![a1.clone(), a2.clone()];
        expected.sort();
        assert_eq!(replayed(&audit), expected);
        assert_eq!(replayed(&keys), expected);
        // Only the replayed ones ran again (the completion event itself goes to `audit`).
        assert_eq!(audit.calls(), first_calls + 2 + 1);

        // Running the finished job again enqueues nothing.
        let again = replay::run(&t.bus, &job.id, |_| {}).await.unwrap();
        assert_eq!(again.enqueued, 4);
        assert_eq!(t.count(&format!("SELECT COUNT(*) FROM event_deliveries WHERE origin = '{}'", job.id)).await, 4);
    }
}

on_both! {
    async fn a_replay_to_one_listener_leaves_the_others_alone(backend) {
        let audit = Scripted::new("audit", &["*"], Script::Succeed);
        let keys = Scripted::new("keys", &["api_key.*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, vec![audit.clone() as Arc<dyn Listener>, keys.clone()], &[]).await else { return };
        publish_as(&t, "ten_a", "usr_1", key_created(1)).await;
        t.bus.dispatcher().run_due().await.unwrap();
        let filter = ReplayFilter { types: vec!["*".into()], listener: Some("keys".into()), ..Default::default() };
        let request = replay::ReplayRequest::parse(&t.bus, filter).unwrap();
        let job = replay::create(&t.bus, Some(&TenantId::parse("ten_a").unwrap()), &request, None).await.unwrap();
        let done = replay::run(&t.bus, &job.id, |_| {}).await.unwrap();
        assert_eq!((done.matched, done.enqueued), (1, 1));
        t.bus.dispatcher().run_due().await.unwrap();
        assert_eq!(keys.seen().iter().filter(|s| s.3).count(), 1);
        assert_eq!(audit.seen().iter().filter(|s| s.3).count(), 0);
    }
}

on_both! {
    async fn bad_replay_filters_are_rejected_with_the_parameter_named(backend) {
        let Some(t) = TestBus::new(backend, vec![Scripted::new("audit", &["*"], Script::Succeed) as Arc<dyn Listener>], &[]).await else { return };
        let cases = [
            (ReplayFilter::default(), "types"),
            (ReplayFilter { types: vec!["payment.captur".into()], ..Default::default() }, "types"),
            (ReplayFilter { types: vec!["*".into()], listener: Some("nobody".into()), ..Default::default() }, "listener"),
            (
                ReplayFilter {
                    types: vec!["*".into()],
                    from: Some(OffsetDateTime::from_unix_timestamp(2_000).unwrap()),
                    to: Some(OffsetDateTime::from_unix_timestamp(1_000).unwrap()),
                    ..Default::default()
                },
                "from",
            ),
        ];
        for (filter, param) in cases {
            match replay::ReplayRequest::parse(&t.bus, filter) {
                Err(app::AppError::InvalidRequest { param: Some(p), .. }) => assert_eq!(p, param),
                other => panic!("expected an invalid request on {param}, got {other:?}"),
            }
        }
    }
}

on_both! {
    async fn events_past_retention_are_archived_and_still_replayable(backend) {
        let audit = Scripted::new("audit", &["*"], Script::Succeed);
        let Some(t) = TestBus::new(backend, vec![audit.clone() as Arc<dyn Listener>], &[]).await else { return };
        let old = publish_as(&t, "ten_a", "usr_1", key_created(1)).await;
        t.bus.dispatcher().run_due().await.unwrap();
        t.clock.advance_ms(91 * 86_400_000);
        let recent = publish_as(&t, "ten_a", "usr_1", key_created(2)).await;
        // The recent event's delivery is still pending: it must not be archived either way.
        let cutoff = t.bus.now_ms() - 90 * 86_400_000;
        assert_eq!(maintenance::archive_older_than(&t.db, cutoff, t.bus.now_ms()).await.unwrap(), 1);
        assert_eq!(t.count(&format!("SELECT COUNT(*) FROM events WHERE id = '{old}'")).await, 0);
        assert_eq!(t.count(&format!("SELECT COUNT(*) FROM events_archive WHERE id = '{old}'")).await, 1);
        assert_eq!(t.count(&format!("SELECT COUNT(*) FROM events WHERE id = '{recent}'")).await, 1);

        let request = replay::ReplayRequest::parse(&t.bus, ReplayFilter { types: vec!["api_key.created".into()], ..Default::default() }).unwrap();
        let job = replay::create(&t.bus, Some(&TenantId::parse("ten_a").unwrap()), &request, None).await.unwrap();
        assert_eq!(replay::run(&t.bus, &job.id, |_| {}).await.unwrap().matched, 2);
        t.bus.dispatcher().run_due().await.unwrap();
        let replayed: Vec<String> = audit.seen().into_iter().filter(|s| s.3).map(|s| s.0).collect();
        assert!(replayed.contains(&old), "the archived event was replayed");
    }
}
