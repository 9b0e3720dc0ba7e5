//! The overdue job on two `paybus serve` processes sharing one Postgres database: both run it
//! every few milliseconds while invoices fall due in waves, and each invoice is still marked
//! overdue — and its `invoice.overdue` published — exactly once.

use std::time::{Duration, Instant};

use crate::support::{one_at_a_time, verified_user_token, Backend, Database, Server};

const WAVES: usize = 6;
const PER_WAVE: usize = 80;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_running_the_overdue_job_publish_one_invoice_overdue_per_invoice() {
    let _turn = one_at_a_time().await;
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let env = [("PAYBUS_OVERDUE_INTERVAL_MS", "10")];
    let a = Server::start(&db, "a", &env).await;
    let b = Server::start(&db, "b", &env).await;
    verified_user_token(&a).await;
    let pool = db.pool().await;
    let tenant: String = sqlx::query_scalar("SELECT id FROM tenants LIMIT 1").fetch_one(&pool).await.unwrap();

    // Invoices as webhook ingest writes them: open, due a day ago; a wave every 100 ms.
    let due = time::OffsetDateTime::now_utc().unix_timestamp() - 86_400;
    for wave in 0..WAVES {
        let values: Vec<String> =
            (0..PER_WAVE).map(|i| format!("('inv_w{wave}n{i:03}', '{tenant}', 'in_w{wave}n{i:03}', 'open', 'eur', 500, 0, 500, {due}, 1, 1)")).collect();
        sqlx::query(&format!(
            "INSERT INTO invoices (id, tenant_id, stripe_invoice_id, status, currency, amount_due, amount_paid, amount_remaining, due_date, created_at, updated_at) VALUES {}",
            values.join(", ")
        ))
        .execute(&pool)
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let total = (WAVES * PER_WAVE) as i64;
    let started = Instant::now();
    loop {
        let marked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE overdue_at IS NOT NULL").fetch_one(&pool).await.unwrap();
        if marked == total {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "only {marked} of {total} marked\n{}\n{}", a.log_tail(20), b.log_tail(20));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Many more runs of both jobs: still nothing new.
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.assert_running();
    b.assert_running();

    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE type = 'invoice.overdue'").fetch_one(&pool).await.unwrap();
    let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT payload) FROM events WHERE type = 'invoice.overdue'").fetch_one(&pool).await.unwrap();
    assert_eq!((events, distinct), (total, total), "exactly one invoice.overdue per invoice");
    eprintln!("[overdue] two processes, {total} invoices in {WAVES} waves, {events} invoice.overdue events");
}
