//! The event bus over HTTP: the timeline of events, deliveries and dead letters, manual retry,
//! replays, and the statistics of `/api/observability/event-bus`.

use app::{
    domain::{dto::List, events::views::*},
    ssr::{
        bus::queries::DeliveryFilter,
        db::PageParams,
        services::events::{self, EventQuery},
        AppState,
    },
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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list))
        .route("/events/{id}", get(detail))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}", get(delivery))
        .route("/deliveries/{id}/retry", post(retry))
        .route("/replays", get(replays).post(start_replay))
        .route("/replays/{id}", get(replay))
}

/// `/api/observability/event-bus` (outside `/api/v1`, as ARCHITECTURE.md names it).
pub fn observability_router() -> Router<AppState> {
    Router::new().route("/event-bus", get(stats))
}

/// Events of the tenant, newest first, filtered by type, pattern, actor and time.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventQuery), responses((status = 200, body = List<EventOut>)))]
pub async fn list(State(state): State<AppState>, Tenant(access): Tenant, Query(query): Query<EventQuery>) -> Result<JsonOut<List<EventOut>>, AppError> {
    Ok(JsonOut(events::list(&state, &access, &query).await?))
}

/// One event with its deliveries and each delivery's attempts.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events", responses((status = 200, body = EventDetailOut), (status = 404)))]
pub async fn detail(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<EventDetailOut>, AppError> {
    Ok(JsonOut(events::get(&state, &access, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// pending, running, succeeded, skipped or dead (`dead` lists the dead letters).
    pub status: Option<String>,
    pub listener: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

/// Deliveries of the tenant's events, newest first.
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "events", params(DeliveryQuery), responses((status = 200, body = List<DeliveryOut>)))]
pub async fn deliveries(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<DeliveryQuery>) -> Result<JsonOut<List<DeliveryOut>>, AppError> {
    let page = PageParams { limit: q.limit, starting_after: q.starting_after, ending_before: q.ending_before };
    let filter = DeliveryFilter { status: q.status, listener: q.listener };
    Ok(JsonOut(events::deliveries(&state, &access, &filter, &page).await?))
}

#[utoipa::path(get, path = "/api/v1/deliveries/{id}", tag = "events", responses((status = 200, body = DeliveryOut), (status = 404)))]
pub async fn delivery(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<DeliveryOut>, AppError> {
    Ok(JsonOut(events::delivery(&state, &access, &id).await?))
}

/// Puts a dead delivery back in the queue (same delivery id, fresh attempts).
#[utoipa::path(post, path = "/api/v1/deliveries/{id}/retry", tag = "events",
    responses((status = 200, body = DeliveryOut), (status = 404), (status = 409, description = "Not dead")))]
pub async fn retry(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<DeliveryOut>, AppError> {
    Ok(JsonOut(events::retry(&state, &access, &id).await?))
}

/// Starts a replay of the tenant's past events matching the filter; poll it for progress.
#[utoipa::path(post, path = "/api/v1/replays", tag = "events", request_body = ReplayFilter, responses((status = 202, body = ReplayOut)))]
pub async fn start_replay(State(state): State<AppState>, Tenant(access): Tenant, Json(filter): Json<ReplayFilter>) -> Result<impl IntoResponse, AppError> {
    Ok((StatusCode::ACCEPTED, JsonOut(events::start_replay(&state, &access, filter).await?)))
}

#[utoipa::path(get, path = "/api/v1/replays/{id}", tag = "events", responses((status = 200, body = ReplayOut), (status = 404)))]
pub async fn replay(State(state): State<AppState>, Tenant(access): Tenant, Path(id): Path<String>) -> Result<JsonOut<ReplayOut>, AppError> {
    Ok(JsonOut(events::replay(&state, &access, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/replays", tag = "events", params(PageParams), responses((status = 200, body = List<ReplayOut>)))]
pub async fn replays(State(state): State<AppState>, Tenant(access): Tenant, Query(page): Query<PageParams>) -> Result<JsonOut<List<ReplayOut>>, AppError> {
    Ok(JsonOut(events::replays(&state, &access, &page).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// `tenant` (default) or, for the platform operator, `global`.
    pub scope: Option<String>,
    /// 1 to 1440 (default 60).
    pub window_minutes: Option<u32>,
}

/// Per-type emitted counts, per-listener outcomes and latency, backlog, and a per-minute series.
#[utoipa::path(get, path = "/api/observability/event-bus", tag = "events", params(StatsQuery), responses((status = 200, body = BusStatsOut)))]
pub async fn stats(State(state): State<AppState>, Tenant(access): Tenant, Query(q): Query<StatsQuery>) -> Result<JsonOut<BusStatsOut>, AppError> {
    Ok(JsonOut(events::stats(&state, &access, q.scope.as_deref(), q.window_minutes).await?))
}
