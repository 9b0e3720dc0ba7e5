//! Crash safety: `kill -9` in the middle of a stream of writes loses no acknowledged event, tears
//! no write in half, and a restart on the same database delivers everything that was committed.

use std::time::{Duration, Instant};

use crate::{
    audit::BusAudit,
    load::KeyStream,
    support::{freeze_while_holding_leases, one_at_a_time, reported_backlog, verified_user_token, Backend, Database, Server, SHORT_LEASE},
};

/// Key creations offered in total; the plug is pulled long before they are all sent.
const OFFERED: usize = 400;
const KILL_AFTER_ACKNOWLEDGED: usize = 100;
const CONCURRENT_CLIENTS: usize = 4;

async fn a_kill_9_mid_stream_loses_no_acknowledged_event(backend: Backend) {
    let _turn = one_at_a_time().await;
    let Some(db) = Database::fresh(backend).await else { return };
    let label = format!("crash/{backend:?}");

    // A server with the recording probe listener and a short lease, and a user with a token.
    let first_life = Server::start(&db, "first-life", SHORT_LEASE).await;
    let token = verified_user_token(&first_life).await;

    // Clients create API keys concurrently; the server is killed while they do — at a moment it
    // holds leases on deliveries it has not finished, so the crash orphans some.
    let stream = KeyStream::start("crash", &[first_life.base.as_str()], &token, OFFERED, CONCURRENT_CLIENTS);
    stream.wait_until_acknowledged(KILL_AFTER_ACKNOWLEDGED, Duration::from_secs(60)).await;
    let orphans = freeze_while_holding_leases(&first_life, &db, None, Duration::from_secs(30)).await;
    first_life.kill_hard();
    let killed_at = Instant::now();
    let ledger = stream.finish().await;
    assert!(ledger.refused.is_empty(), "the server refused requests before the crash: {:?}", ledger.refused);
    assert!(ledger.acknowledged.len() >= KILL_AFTER_ACKNOWLEDGED);
    assert!(ledger.acknowledged.len() < OFFERED, "the stream finished before the kill: nothing was interrupted");

    let pool = db.pool().await;
    let backlog_at_crash = db.backlog(&pool).await;
    pool.close().await;

    // The same database, a new process: it takes over what the dead one left.
    let second_life = Server::start(&db, "second-life", SHORT_LEASE).await;
    let back_up_after = killed_at.elapsed();
    let drained_in = db.wait_for_empty_backlog(&[&second_life], Duration::from_secs(60)).await;
    let recovered_after = killed_at.elapsed();
    assert_eq!(reported_backlog(&second_life).await, 0, "/api/v1/health disagrees with the database about the backlog");

    let audit = BusAudit::take(&db).await;
    audit.report(&label);
    eprintln!(
        "[{label}] acknowledged={} unanswered_at_kill={} committed_but_unacknowledged={} backlog_at_crash={backlog_at_crash} orphaned_leases={} \
         restarted_in={back_up_after:?} drained_after_restart_in={drained_in:?} kill_to_empty_backlog={recovered_after:?}",
        ledger.acknowledged.len(),
        ledger.unanswered,
        audit.api_keys.len().saturating_sub(ledger.acknowledged.len()),
        orphans.len(),
    );

    audit.assert_every_acknowledged_key_is_stored_with_its_event(&ledger.acknowledged);
    audit.assert_keys_and_events_are_atomic();
    audit.assert_every_event_delivered_to_the_probe();
    audit.assert_every_delivery_succeeded();
    audit.assert_the_probe_recorded_each_delivery_exactly_once();
    audit.assert_orphaned_leases_were_taken_over_after_expiry(&orphans);
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kill_9_mid_stream_loses_no_acknowledged_event() {
        super::a_kill_9_mid_stream_loses_no_acknowledged_event(Backend::Sqlite).await
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_kill_9_mid_stream_loses_no_acknowledged_event() {
        super::a_kill_9_mid_stream_loses_no_acknowledged_event(Backend::Postgres).await
    }
}
