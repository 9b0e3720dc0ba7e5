//! The listeners' idempotency table: "have I already done delivery X?" answered by the database,
//! so redeliveries after a crash or a lost lease are harmless.

use sqlx::{Any, Executor};

use crate::domain::{DeliveryId, EventId, PrefixedId};

/// Records that `listener` has processed `delivery`; `false` when it already had (do nothing).
/// Call it in the same transaction as the listener's own writes.
pub async fn record_once<'e>(
    ex: impl Executor<'e, Database = Any>,
    listener: &str,
    delivery: &DeliveryId,
    event: &EventId,
    now_ms: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO listener_receipts (listener, delivery_id, event_id, processed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (listener, delivery_id) DO NOTHING",
    )
    .bind(listener)
    .bind(delivery.as_str())
    .bind(event.as_str())
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}
