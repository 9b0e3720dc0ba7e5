//! Rules of the current tenant: an event pattern (type patterns and field conditions) with a
//! target (an outbound endpoint, a plugin, or the rule's archive); test, dry-run, statistics.

use app::{
    domain::{dto::List, rules::views::*},
    ssr::{db::PageParams, services::rules, AppState},
    AppError,
};
use axum::{
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
    Json as JsonOut, Router,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extractors::{Json, Path, Query, Tenant};

#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, detail, update, remove, test, dry_run, dry_run_unsaved, stats, archive))]
pub struct Doc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/rules", get(list).post(create))
        .route("/rules/test", post(test))
        .route("/rules/dry-run", post(dry_run_unsaved))
        .route("/rules/{id}", get(detail).patch(update).delete(remove))
        .route("/rules/{id}/dry-run", post(dry_run))
        .route("/rules/{id}/stats", get(stats))
        .route("/rules/{id}/archive", get(archive))
}

/// Creates a rule (enabled unless `enabled: false`). Patterns, conditions and the target are
/// checked: a bad one is a 400 naming the field in `param` (`pattern.conditions[0].operator`).
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", request_body = RuleIn,
    responses((status = 201, body = RuleOut), (status = 400, description = "A bad pattern, operator, value, or an unknown endpoint or plugin")))]
pub async fn create(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<RuleIn>) -> Result<impl IntoResponse, AppError> {
    Ok((StatusCode::CREATED, JsonOut(rules::create(&state, &access, body).await?)))
}

/// The tenant's rules, newest first, each with its matches of the last 7 days.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", params(PageParams), responses((status = 200, body = List<RuleOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(page): Query<PageParams>) -> Result<JsonOut<List<RuleOut>>, AppError> {
    Ok(JsonOut(rules::list(&state, &access, &page).await?))
}

#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", responses((status = 200, body = RuleOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<RuleOut>, AppError> {
    Ok(JsonOut(rules::get(&state, &access, &id).await?))
}

/// Changes the fields sent; a pattern sent replaces the old one whole.
#[utoipa::path(patch, path = "/api/v1/rules/{id}", tag = "rules", request_body = RuleIn, responses((status = 200, body = RuleOut), (status = 400), (status = 404)))]
pub async fn update(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Json(body): Json<RuleIn>) -> Result<JsonOut<RuleOut>, AppError> {
    Ok(JsonOut(rules::update(&state, &access, &id, body).await?))
}

/// Deletes a rule, with its counters and its archive.
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", responses((status = 200, body = RuleDeletedOut), (status = 404)))]
pub async fn remove(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<RuleDeletedOut>, AppError> {
    Ok(JsonOut(rules::delete(&state, &access, &id).await?))
}

/// Evaluates a pattern against a sample event (`event`) or a stored one (`event_id`): whether
/// it matched and, per condition, why.
#[utoipa::path(post, path = "/api/v1/rules/test", tag = "rules", request_body = RuleTestIn, responses((status = 200, body = RuleTestOut), (status = 400)))]
pub async fn test(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<RuleTestIn>) -> Result<JsonOut<RuleTestOut>, AppError> {
    Ok(JsonOut(rules::test(&state, &access, body).await?))
}

/// Runs a saved rule's pattern over the tenant's stored events (and archive) of the last `days`
/// (default 7, at most 90): matches, up to 20 samples, events scanned. One run reads at most
/// `scan_limit` events; `truncated` and `next_cursor` say when to continue.
#[utoipa::path(post, path = "/api/v1/rules/{id}/dry-run", tag = "rules", request_body = DryRunIn, responses((status = 200, body = DryRunOut), (status = 404)))]
pub async fn dry_run(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Json(body): Json<DryRunIn>) -> Result<JsonOut<DryRunOut>, AppError> {
    Ok(JsonOut(rules::dry_run(&state, &access, Some(&id), body).await?))
}

/// The same over an unsaved pattern (`pattern` in the body).
#[utoipa::path(post, path = "/api/v1/rules/dry-run", tag = "rules", request_body = DryRunIn, responses((status = 200, body = DryRunOut), (status = 400)))]
pub async fn dry_run_unsaved(State(state): State<AppState>, Tenant(access): Tenant, Json(body): Json<DryRunIn>) -> Result<JsonOut<DryRunOut>, AppError> {
    Ok(JsonOut(rules::dry_run(&state, &access, None, body).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Days back, 1 to 90 (default 30).
    pub days: Option<u32>,
}

/// A rule's daily counters (matched, delivered, failed attempts) and its latest errors.
#[utoipa::path(get, path = "/api/v1/rules/{id}/stats", tag = "rules", params(StatsQuery), responses((status = 200, body = RuleStatsOut), (status = 404)))]
pub async fn stats(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Query(q): Query<StatsQuery>) -> Result<JsonOut<RuleStatsOut>, AppError> {
    Ok(JsonOut(rules::stats(&state, &access, &id, q.days).await?))
}

/// The events an archive-target rule kept, newest first, in the rule's payload style.
#[utoipa::path(get, path = "/api/v1/rules/{id}/archive", tag = "rules", params(PageParams), responses((status = 200, body = List<ArchivedEventOut>), (status = 404)))]
pub async fn archive(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>, Query(page): Query<PageParams>) -> Result<JsonOut<List<ArchivedEventOut>>, AppError> {
    Ok(JsonOut(rules::archive(&state, &access, &id, &page).await?))
}
