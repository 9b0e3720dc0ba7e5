//! Retention: events older than the retention period move to `events_archive` (still listed and
//! replayable), attempts older than it are dropped. Events with deliveries still pending stay.

use crate::{error::AppResult, ssr::db::Db};

const BATCH: i64 = 1000;

/// Archives in batches; returns how many events moved.
pub async fn archive_older_than(db: &Db, cutoff_ms: i64, now_ms: i64) -> AppResult<u64> {
    archive(db, None, cutoff_ms, now_ms).await
}

/// The same for one tenant's events only (the demo seed archives its oldest history).
pub async fn archive_tenant_older_than(db: &Db, tenant_id: &str, cutoff_ms: i64, now_ms: i64) -> AppResult<u64> {
    archive(db, Some(tenant_id), cutoff_ms, now_ms).await
}

async fn archive(db: &Db, tenant_id: Option<&str>, cutoff_ms: i64, now_ms: i64) -> AppResult<u64> {
    let mut moved = 0u64;
    loop {
        let tenant_filter = if tenant_id.is_some() { "AND tenant_id = $3" } else { "" };
        let select = format!(
            "SELECT id FROM events e WHERE occurred_at < $1 {tenant_filter}
               AND NOT EXISTS (SELECT 1 FROM event_deliveries d WHERE d.event_id = e.id AND d.status IN ('pending','running'))
             ORDER BY occurred_at LIMIT $2"
        );
        let mut q = sqlx::query_scalar(&select).bind(cutoff_ms).bind(BATCH);
        if let Some(tenant) = tenant_id {
            q = q.bind(tenant);
        }
        let ids: Vec<String> = q.fetch_all(&db.pool).await?;
        if ids.is_empty() {
            break;
        }
        let marks: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let list = marks.join(", ");
        let mut tx = db.begin().await?;
        let copy = format!(
            "INSERT INTO events_archive (id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata, archived_at)
             SELECT id, tenant_id, type, version, occurred_at, actor, actor_type, payload, metadata, $1 FROM events WHERE id IN ({list})
             ON CONFLICT (id) DO NOTHING"
        );
        let mut q = sqlx::query(&copy).bind(now_ms);
        for id in &ids {
            q = q.bind(id);
        }
        q.execute(&mut *tx).await?;
        let delete = format!("DELETE FROM events WHERE id IN ({})", (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "));
        let mut q = sqlx::query(&delete);
        for id in &ids {
            q = q.bind(id);
        }
        moved += q.execute(&mut *tx).await?.rows_affected();
        match tenant_id {
            Some(tenant) => {
                sqlx::query("DELETE FROM delivery_attempts WHERE started_at < $1 AND tenant_id = $2").bind(cutoff_ms).bind(tenant).execute(&mut *tx).await?
            }
            None => sqlx::query("DELETE FROM delivery_attempts WHERE started_at < $1").bind(cutoff_ms).execute(&mut *tx).await?,
        };
        tx.commit().await?;
        if (ids.len() as i64) < BATCH {
            break;
        }
    }
    Ok(moved)
}
