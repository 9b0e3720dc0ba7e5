//! Demo payments for `paybus serve --demo`: a few payment stories ingested through the same code
//! path as Stripe's webhooks, so the payments, disputes and refunds pages have something to show
//! on a first run. Idempotent: a tenant that already has payments is left alone.

use app::{
    ssr::{
        ledger::ingest::{self, Source},
        services::demo::DEMO_EMAIL,
        AppState,
    },
    AppError,
};

/// (event types in order, amount in cents, customer) per demo payment.
const STORIES: &[(&[&str], i64, &str)] = &[
    (&["payment_intent.created", "payment_intent.succeeded", "charge.succeeded"], 4_900, "ada@example.com"),
    (&["payment_intent.created", "payment_intent.succeeded", "charge.succeeded", "refund.created"], 12_000, "grace@example.com"),
    (&["payment_intent.created", "payment_intent.succeeded", "charge.succeeded", "charge.dispute.created"], 25_000, "alan@example.com"),
    (&["payment_intent.created", "payment_intent.payment_failed"], 3_500, "edsger@example.com"),
    (&["payment_intent.created", "payment_intent.amount_capturable_updated"], 8_000, "barbara@example.com"),
];

pub async fn seed(state: &AppState) -> Result<usize, AppError> {
    let tenant: Option<String> = sqlx::query_scalar(
        "SELECT t.id FROM tenants t JOIN memberships m ON m.tenant_id = t.id JOIN users u ON u.id = m.user_id
         WHERE u.email = $1 AND t.name = 'Demo Store'",
    )
    .bind(DEMO_EMAIL)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(tenant) = tenant else { return Ok(0) };
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE tenant_id = $1").bind(&tenant).fetch_one(&state.db.pool).await?;
    if existing > 0 {
        return Ok(0);
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (n, (types, amount, email)) in STORIES.iter().enumerate() {
        let intent = format!("pi_demo{}{}", n, app::ssr::ids::random_base62(10));
        for (step, event_type) in types.iter().enumerate() {
            let at = now - 3600 * (STORIES.len() - n) as i64 + 60 * step as i64;
            let mut event = crate::cli_stripe::build_event(event_type, &tenant, Some(&intent), Some(*amount), at)
                .map_err(|e| AppError::invalid("demo", e.to_string(), None))?;
            event["data"]["object"]["receipt_email"] = serde_json::json!(email);
            if *event_type == "refund.created" {
                event["data"]["object"]["amount"] = serde_json::json!(amount / 3);
            }
            ingest::ingest(&state.bus, &serde_json::to_vec(&event).unwrap_or_default(), Source::ReplayFile, app::ssr::time_util::now_ms()).await?;
        }
    }
    Ok(STORIES.len())
}

/// Tells the Stripe mock about every PaymentIntent in the ledger, so capture, cancel and refund
/// work on the demo payments (also after a restart, when nothing is seeded again).
pub async fn register_with_mock(state: &AppState, mock: &crate::stripe_mock::StripeMock) -> Result<(), AppError> {
    let rows: Vec<(String, String, i64, String, String)> = sqlx::query_as(
        "SELECT tenant_id, stripe_payment_intent, amount, currency, status FROM payments WHERE stripe_payment_intent IS NOT NULL AND connected_account IS NULL",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (tenant, intent, amount, currency, status) in rows {
        let stripe_status = match status.as_str() {
            "requires_capture" | "requires_payment_method" | "requires_confirmation" | "requires_action" | "processing" | "canceled" => status.as_str(),
            "failed" => "requires_payment_method",
            _ => "succeeded",
        };
        mock.add_intent_for(&intent, amount, &currency, stripe_status, Some(&tenant));
    }
    Ok(())
}
