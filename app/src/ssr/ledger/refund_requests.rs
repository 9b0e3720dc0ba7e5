//! Refunds paybus asked Stripe for. A request reserves its amount against the payment from
//! before the Stripe call until the ledger shows the refund, so two refunds racing each other,
//! or a refund whose local bookkeeping failed after Stripe made it, can never refund more than
//! was captured. Stripe's webhook settles the request (matched by Stripe refund id, or by the
//! `paybus_refund_request` metadata we set when our own write never happened).

use crate::{error::AppResult, ssr::db::Tx};

/// Amount reserved by open requests on a payment.
pub async fn reserved(tx: &mut Tx, payment_id: &str) -> AppResult<i64> {
    let reserved: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refund_requests WHERE payment_id = $1 AND status IN ('requested', 'submitted')",
    )
    .bind(payment_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(reserved.unwrap_or(0))
}

/// Called by the ledger when a refund reaches it: the matching request stops reserving.
pub async fn settle(tx: &mut Tx, tenant_id: &str, stripe_refund_id: &str, request_id: Option<&str>, now: i64) -> AppResult<()> {
    sqlx::query(
        "UPDATE refund_requests SET status = 'settled', stripe_refund_id = $3, updated_at = $4
         WHERE tenant_id = $1 AND status IN ('requested', 'submitted') AND (stripe_refund_id = $3 OR id = $2)",
    )
    .bind(tenant_id)
    .bind(request_id.unwrap_or(""))
    .bind(stripe_refund_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
