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

/// Refund requests whose outcome at Stripe is unknown (the call timed out, or our write after it
/// failed) and which no webhook or retry has settled within `older_than_ms`: ask Stripe. A refund
/// carrying the request's id in its metadata means Stripe made it (the request becomes
/// `submitted`, or `settled` if the ledger already shows it); none means Stripe never did, and
/// the reserved amount is released. Returns (found at Stripe, released).
pub async fn resolve_stale(state: &crate::ssr::AppState, tenant: Option<&str>, older_than_ms: i64) -> AppResult<(u64, u64)> {
    use crate::{
        domain::{PrefixedId, TenantId},
        ssr::{services::stripe_access::payment_gateway, stripe::client::StripeGateway, time_util::now_ms},
    };
    #[derive(sqlx::FromRow)]
    struct Stale {
        id: String,
        tenant_id: String,
        payment_intent: Option<String>,
        charge: Option<String>,
        connected_account: Option<String>,
    }
    #[derive(serde::Serialize)]
    struct ByPayment<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        payment_intent: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        charge: Option<&'a str>,
        limit: i64,
    }
    let now = now_ms();
    let stale: Vec<Stale> = sqlx::query_as(
        "SELECT r.id, r.tenant_id, p.stripe_payment_intent AS payment_intent, p.stripe_charge AS charge, p.connected_account
         FROM refund_requests r JOIN payments p ON p.id = r.payment_id
         WHERE r.status = 'requested' AND r.updated_at < $1 AND ($2 = '' OR r.tenant_id = $2)",
    )
    .bind(now - older_than_ms)
    .bind(tenant.unwrap_or(""))
    .fetch_all(&state.db.pool)
    .await?;
    let (mut found, mut released) = (0, 0);
    for request in stale {
        let tenant = TenantId::from_trusted(request.tenant_id.clone());
        let (gateway, account) = payment_gateway(state, &tenant, request.connected_account.as_deref()).await?;
        let query = ByPayment { payment_intent: request.payment_intent.as_deref(), charge: if request.payment_intent.is_none() { request.charge.as_deref() } else { None }, limit: 100 };
        let list = match gateway.send(StripeGateway::get("/refunds", &query), &account, None).await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(refund_request = %request.id, error = %e, "cannot ask Stripe about a pending refund yet");
                continue;
            }
        };
        let made = list.get("data").and_then(|d| d.as_array()).and_then(|refunds| {
            refunds.iter().find(|r| r.get("metadata").and_then(|m| m.get("paybus_refund_request")).and_then(|v| v.as_str()) == Some(request.id.as_str())).cloned()
        });
        let mut tx = state.db.begin().await?;
        match made.as_ref().and_then(|r| r.get("id")).and_then(|v| v.as_str()) {
            Some(stripe_id) => {
                sqlx::query("UPDATE refund_requests SET status = 'submitted', stripe_refund_id = $2, updated_at = $3 WHERE id = $1 AND status = 'requested'")
                    .bind(&request.id)
                    .bind(stripe_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let in_ledger: Option<String> = sqlx::query_scalar("SELECT id FROM refunds WHERE stripe_refund_id = $1").bind(stripe_id).fetch_optional(&mut *tx).await?;
                if in_ledger.is_some() {
                    settle(&mut tx, &request.tenant_id, stripe_id, Some(&request.id), now).await?;
                }
                found += 1;
            }
            None => {
                sqlx::query("UPDATE refund_requests SET status = 'failed', error = 'Stripe has no refund for this request; the reserved amount was released', updated_at = $2 WHERE id = $1 AND status = 'requested'")
                    .bind(&request.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                released += 1;
            }
        }
        tx.commit().await?;
    }
    Ok((found, released))
}
