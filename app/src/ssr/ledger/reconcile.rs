//! The reconciliation sweeper. Stripe retries a webhook for up to three days and lists the
//! events it could not deliver for thirty (`GET /v1/events?delivery_success=false`). For the
//! platform and for every connected account, this pulls that list and feeds whatever the ledger
//! lacks through the same ingest path as `POST /webhook`. Each run is recorded and shown on the
//! webhook audit page, so a merchant sees what an outage cost and that it was recovered.

use serde::Serialize;

use super::ingest::{self, Source};
use crate::{
    domain::{dto::List, stripe_out::ReconciliationRunOut, Action, PrefixedId, ReconciliationRunId},
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{page::Listing, PageParams},
        ids::new_id,
        services::stripe_access::platform_gateway,
        stripe::client::{OnBehalfOf, StripeGateway},
        time_util::{from_ms, now_ms},
        AppState,
    },
};

/// Stripe keeps undelivered events listable for 30 days.
const LOOKBACK_SECS: i64 = 30 * 24 * 3600;
/// A bound on one run, so a pathological backlog cannot pin the sweeper forever.
const MAX_PAGES: usize = 50;

#[derive(Serialize)]
struct Range {
    gte: i64,
}

#[derive(Serialize)]
struct EventsQuery {
    delivery_success: bool,
    limit: i64,
    created: Range,
    #[serde(skip_serializing_if = "Option::is_none")]
    starting_after: Option<String>,
}

/// One sweep for the platform and every connected account. Returns the runs it made.
pub async fn sweep_all(state: &AppState) -> AppResult<Vec<ReconciliationRunOut>> {
    let accounts: Vec<(String, String)> = sqlx::query_as("SELECT account_id, tenant_id FROM stripe_accounts ORDER BY account_id")
        .fetch_all(&state.db.pool)
        .await?;
    let mut runs = vec![sweep_one(state, None, None).await?];
    for (account, tenant) in accounts {
        runs.push(sweep_one(state, Some(&tenant), Some(&account)).await?);
    }
    resolve_pending_refunds(state, None).await;
    Ok(runs)
}

/// Sweeps one tenant's connected account now (the "reconcile now" button).
pub async fn sweep_tenant(state: &AppState, access: &TenantAccess) -> AppResult<ReconciliationRunOut> {
    access.require(Action::ReconciliationRun)?;
    let account: Option<String> = sqlx::query_scalar("SELECT account_id FROM stripe_accounts WHERE tenant_id = $1 ORDER BY created_at LIMIT 1")
        .bind(access.tenant_id.as_str())
        .fetch_optional(&state.db.pool)
        .await?;
    let account = account.ok_or_else(|| {
        AppError::unprocessable("connect_account_missing", "This tenant has no Stripe account to reconcile yet.", None)
    })?;
    let run = sweep_one(state, Some(access.tenant_id.as_str()), Some(&account)).await?;
    resolve_pending_refunds(state, Some(access.tenant_id.as_str())).await;
    Ok(run)
}

/// Refund requests left without an outcome for this long are looked up at Stripe.
const PENDING_REFUND_AGE_MS: i64 = 10 * 60 * 1000;

async fn resolve_pending_refunds(state: &AppState, tenant: Option<&str>) {
    match super::refund_requests::resolve_stale(state, tenant, PENDING_REFUND_AGE_MS).await {
        Ok((0, 0)) => {}
        Ok((found, released)) => tracing::info!(found, released, "pending refund requests resolved with Stripe"),
        Err(e) => tracing::warn!(error = %e, "resolving pending refund requests failed"),
    }
}

async fn sweep_one(state: &AppState, tenant: Option<&str>, account: Option<&str>) -> AppResult<ReconciliationRunOut> {
    let id = new_id::<ReconciliationRunId>().to_string();
    let started = now_ms();
    sqlx::query("INSERT INTO reconciliation_runs (id, tenant_id, account, status, started_at) VALUES ($1, $2, $3, 'running', $4)")
        .bind(&id)
        .bind(tenant)
        .bind(account)
        .bind(started)
        .execute(&state.db.pool)
        .await?;
    let mut counts = Counts::default();
    let outcome = pull(state, account, &mut counts).await;
    let (status, error) = match &outcome {
        Ok(()) => ("succeeded", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    if let Err(e) = &outcome {
        tracing::warn!(account = account.unwrap_or("platform"), error = %e, "reconciliation run failed");
    } else if counts.ingested > 0 {
        tracing::info!(account = account.unwrap_or("platform"), ingested = counts.ingested, "reconciliation recovered undelivered Stripe events");
    }
    sqlx::query(
        "UPDATE reconciliation_runs SET status = $2, listed = $3, ingested = $4, already_present = $5, error = $6, finished_at = $7 WHERE id = $1",
    )
    .bind(&id)
    .bind(status)
    .bind(counts.listed)
    .bind(counts.ingested)
    .bind(counts.already_present)
    .bind(&error)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(ReconciliationRunOut {
        id,
        account: account.map(str::to_owned),
        status: status.into(),
        listed: counts.listed,
        ingested: counts.ingested,
        already_present: counts.already_present,
        error,
        started_at: from_ms(started),
    })
}

#[derive(Default)]
struct Counts {
    listed: i64,
    ingested: i64,
    already_present: i64,
}

async fn pull(state: &AppState, account: Option<&str>, counts: &mut Counts) -> AppResult<()> {
    let gateway = platform_gateway(state)?;
    let on_behalf_of = account.map(|a| OnBehalfOf::Account(a.to_owned())).unwrap_or(OnBehalfOf::Platform);
    let mut starting_after = None;
    for _ in 0..MAX_PAGES {
        let query = EventsQuery { delivery_success: false, limit: 100, created: Range { gte: now_ms() / 1000 - LOOKBACK_SECS }, starting_after: starting_after.take() };
        let page = gateway.send(StripeGateway::get("/events", &query), &on_behalf_of, None).await?;
        let events = page.get("data").and_then(|d| d.as_array()).cloned().unwrap_or_default();
        for mut event in events {
            counts.listed += 1;
            let Some(event_id) = event.get("id").and_then(|v| v.as_str()).map(str::to_owned) else { continue };
            starting_after = Some(event_id.clone());
            let known: Option<String> = sqlx::query_scalar("SELECT id FROM webhook_events WHERE stripe_event_id = $1 LIMIT 1")
                .bind(&event_id)
                .fetch_optional(&state.db.pool)
                .await?;
            if known.is_some() {
                counts.already_present += 1;
                continue;
            }
            // Events listed on a connected account belong to it even where Stripe leaves the
            // `account` field out; the ledger maps tenants by that field.
            if let (Some(account), Some(obj)) = (account, event.as_object_mut()) {
                obj.entry("account").or_insert_with(|| serde_json::Value::String(account.to_owned()));
            }
            let raw = serde_json::to_vec(&event).map_err(|_| AppError::Internal)?;
            let ingested = ingest::ingest(&state.bus, &raw, Source::Sweeper, now_ms()).await?;
            if ingested.status == "duplicate" {
                counts.already_present += 1;
            } else {
                counts.ingested += 1;
            }
        }
        state.bus.wake();
        if !page.get("has_more").and_then(|v| v.as_bool()).unwrap_or(false) || starting_after.is_none() {
            return Ok(());
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RunRow {
    id: String,
    account: Option<String>,
    status: String,
    listed: i64,
    ingested: i64,
    already_present: i64,
    error: Option<String>,
    started_at: i64,
}

/// The tenant's runs, newest first.
pub async fn runs(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<ReconciliationRunOut>> {
    access.require(Action::ReconciliationRead)?;
    let listing = Listing {
        columns: "id, account, status, listed, ingested, already_present, error, started_at",
        from_where: "FROM reconciliation_runs WHERE tenant_id = $1",
        time_column: "started_at",
        key_column: "id",
        binds: vec![access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<RunRow>, bool) = listing.fetch(&state.db, page).await?;
    Ok(List::new(
        rows.into_iter()
            .map(|r| ReconciliationRunOut {
                id: r.id,
                account: r.account,
                status: r.status,
                listed: r.listed,
                ingested: r.ingested,
                already_present: r.already_present,
                error: r.error,
                started_at: from_ms(r.started_at),
            })
            .collect(),
        has_more,
    ))
}
