//! The event bus as tenants and operators use it: browse events and their deliveries, retry a
//! dead delivery, replay by filter, read statistics. Tenant users see their tenant only; the
//! platform operator may ask for the global view.

use time::OffsetDateTime;

use crate::{
    domain::{
        dto::List,
        events::{views::*, EventPattern, EventType},
        Action, PrefixedId, TenantId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::{
            queries::{self, DeliveryFilter, EventFilter, Scope},
            replay::{self, ReplayRequest},
        },
        db::{users, PageParams},
        time_util::to_ms,
        AppState,
    },
};

/// Query parameters of `GET /api/v1/events`, before parsing.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// One exact event type, e.g. `payment.captured`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Comma-separated patterns: `payment.*`, `dispute.created,refund.*`, `*`.
    pub pattern: Option<String>,
    /// An actor id (`usr_…`, `key_…`, a Stripe event id).
    pub actor: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only events before this time (RFC 3339).
    pub to: Option<String>,
    /// Only events with a delivery in this status: `pending`, `running`, `succeeded`, `skipped`
    /// or `dead` (the events with a dead letter).
    pub status: Option<String>,
    /// Only events delivered to this listener (with `status`: in that status).
    pub listener: Option<String>,
    /// List the archive (events past retention) instead.
    pub archived: Option<bool>,
    /// Platform operators: `global` for every tenant.
    pub scope: Option<String>,
    /// With `scope=global`: one tenant.
    pub tenant: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

fn parse_time(raw: &str, param: &str) -> AppResult<i64> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(to_ms)
        .map_err(|_| AppError::invalid("parameter_invalid_time", format!("{param} must be an RFC 3339 time like 2026-11-23T10:00:00Z"), Some(param)))
}

impl EventQuery {
    pub fn page(&self) -> PageParams {
        PageParams { limit: self.limit, starting_after: self.starting_after.clone(), ending_before: self.ending_before.clone() }
    }

    pub fn filter(&self) -> AppResult<EventFilter> {
        let mut types: Vec<EventType> = Vec::new();
        if let Some(raw) = &self.event_type {
            types.push(EventType::parse(raw).ok_or_else(|| AppError::invalid("event_type_invalid", format!("`{raw}` is not an event type"), Some("type")))?);
        }
        if let Some(raw) = &self.pattern {
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let pattern = EventPattern::parse(part).map_err(|e| AppError::invalid("event_type_invalid", e.to_string(), Some("pattern")))?;
                for t in pattern.expand() {
                    if !types.contains(&t) {
                        types.push(t);
                    }
                }
            }
        }
        let from_ms = self.from.as_deref().map(|t| parse_time(t, "from")).transpose()?;
        let to_ms = self.to.as_deref().map(|t| parse_time(t, "to")).transpose()?;
        if let (Some(f), Some(t)) = (from_ms, to_ms) {
            if f >= t {
                return Err(AppError::invalid("parameter_invalid", "from must be before to", Some("from")));
            }
        }
        Ok(EventFilter {
            types,
            actor: self.actor.clone(),
            from_ms,
            to_ms,
            archived: self.archived.unwrap_or(false),
            delivery_status: self.status.clone(),
            listener: self.listener.clone(),
        })
    }
}

/// The caller's tenant, or — for a platform operator asking with `scope=global` — everything
/// (optionally narrowed to one tenant).
pub async fn scope(state: &AppState, access: &TenantAccess, requested: Option<&str>, tenant: Option<&str>) -> AppResult<Scope> {
    match requested {
        None | Some("tenant") => {
            if tenant.is_some() {
                return Err(AppError::invalid("parameter_unknown", "tenant is only accepted with scope=global", Some("tenant")));
            }
            Ok(Scope::Tenant(access.tenant_id.clone()))
        }
        Some("global") => {
            let Some(user) = access.principal.user_id() else {
                return Err(AppError::forbidden("platform_admin_required", "Only a platform operator's login sees the global view."));
            };
            if !users::is_platform_admin(&state.db.pool, user.as_str()).await? {
                return Err(AppError::forbidden("platform_admin_required", "Only a platform operator sees the global view."));
            }
            match tenant {
                Some(t) => Ok(Scope::Tenant(TenantId::parse(t).map_err(|e| AppError::invalid("parameter_invalid", e.to_string(), Some("tenant")))?)),
                None => Ok(Scope::Global),
            }
        }
        Some(_) => Err(AppError::invalid("parameter_invalid", "scope must be tenant or global", Some("scope"))),
    }
}

pub async fn list(state: &AppState, access: &TenantAccess, query: &EventQuery) -> AppResult<List<EventOut>> {
    access.require(Action::EventsRead)?;
    let scope = scope(state, access, query.scope.as_deref(), query.tenant.as_deref()).await?;
    queries::list_events(&state.db, &scope, &query.filter()?, &query.page()).await
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<EventDetailOut> {
    access.require(Action::EventsRead)?;
    queries::event_detail(&state.db, &Scope::Tenant(access.tenant_id.clone()), id).await
}

pub async fn deliveries(state: &AppState, access: &TenantAccess, filter: &DeliveryFilter, page: &PageParams) -> AppResult<List<DeliveryOut>> {
    access.require(Action::EventsRead)?;
    queries::list_deliveries(&state.db, &Scope::Tenant(access.tenant_id.clone()), filter, page).await
}

pub async fn delivery(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<DeliveryOut> {
    access.require(Action::EventsRead)?;
    queries::delivery(&state.db, &Scope::Tenant(access.tenant_id.clone()), id).await
}

pub async fn retry(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<DeliveryOut> {
    access.require(Action::DeliveriesRetry)?;
    let out = queries::retry_dead(&state.db, &Scope::Tenant(access.tenant_id.clone()), id, state.bus.config().max_attempts, state.bus.now_ms()).await?;
    state.bus.wake();
    Ok(out)
}

/// Creates a replay job for the caller's tenant and starts it in the background; poll
/// [`replay`] for progress.
pub async fn start_replay(state: &AppState, access: &TenantAccess, filter: ReplayFilter) -> AppResult<ReplayOut> {
    access.require(Action::EventsReplay)?;
    let request = ReplayRequest::parse(&state.bus, filter)?;
    let actor = access.principal.actor().id;
    let job = replay::create(&state.bus, Some(&access.tenant_id), &request, Some(&actor)).await?;
    let bus = state.bus.clone();
    let id = job.id.clone();
    tokio::spawn(async move {
        if let Err(e) = replay::run(&bus, &id, |_| {}).await {
            tracing::error!(replay = %id, error = %e, "replay failed");
        }
    });
    Ok(job)
}

/// How many events a replay of `filter` would re-deliver, without starting it.
pub async fn preview_replay(state: &AppState, access: &TenantAccess, filter: ReplayFilter) -> AppResult<u64> {
    access.require(Action::EventsReplay)?;
    let request = ReplayRequest::parse(&state.bus, filter)?;
    Ok(replay::count(&state.bus, Some(&access.tenant_id), &request).await?.max(0) as u64)
}

pub async fn replay(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<ReplayOut> {
    access.require(Action::EventsRead)?;
    replay::get(&state.bus, Some(&access.tenant_id), id).await
}

pub async fn replays(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<ReplayOut>> {
    access.require(Action::EventsRead)?;
    replay::list(&state.bus, Some(&access.tenant_id), page).await
}

/// Window for statistics: 1 to 1440 minutes, default 60.
pub fn window(raw: Option<u32>) -> AppResult<u32> {
    match raw {
        None => Ok(60),
        Some(m) if (1..=1440).contains(&m) => Ok(m),
        Some(_) => Err(AppError::invalid("parameter_invalid_integer", "window_minutes must be between 1 and 1440", Some("window_minutes"))),
    }
}

pub async fn stats(state: &AppState, access: &TenantAccess, scope_param: Option<&str>, window_minutes: Option<u32>) -> AppResult<BusStatsOut> {
    access.require(Action::BusStatsRead)?;
    let window = window(window_minutes)?;
    let scope = scope(state, access, scope_param, None).await?;
    let mut out = queries::stats(&state.db, &scope, window, state.bus.now_ms()).await?;
    out.rules = super::rules::window_stats(state, access, scope.tenant().map(|t| t.as_str()), window).await?;
    Ok(out)
}
