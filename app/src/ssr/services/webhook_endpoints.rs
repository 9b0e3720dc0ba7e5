//! A tenant's outbound webhook endpoints: create (the signing secret shown once), change,
//! disable and enable, delete, rotate the secret with an overlap, list messages and attempts,
//! resend a message, send a test event. Reads need `WebhookEndpointsRead`, the rest
//! `WebhookEndpointsManage`; another tenant's ids are not found.

use crate::{
    domain::{
        dto::List,
        events::{payloads::EndpointChanged, DomainEvent, EventPattern, EventType},
        webhooks::*,
        Action, EndpointId, PrefixedId, WebhookMessageId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::{envelope_from_row, store::EventRow, store::EVENT_COLUMNS, EventContext},
        db::PageParams,
        ids::new_id,
        time_util::from_ms,
        webhooks::{
            fanout::insert_for,
            origin,
            policy::{Breaker, BreakerState, Circuit},
            secret_context, signing, ssrf,
            store::{self, AttemptRow, EndpointRow, MessageRow},
            trigger,
        },
        AppState,
    },
};

/// Endpoints one tenant may have.
pub const MAX_ENDPOINTS: i64 = 50;
pub const MAX_PATTERNS: usize = 100;
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_RATE_PER_SEC: u32 = 10_000;
pub const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;
pub const MAX_OVERLAP_SECS: i64 = 7 * 24 * 3600;

fn breaker(state: &AppState) -> Breaker {
    let c = &state.config.webhooks;
    Breaker { failures_to_open: c.breaker_failures, cooldown_ms: c.breaker_cooldown.as_millis() as i64 }
}

fn endpoint_out(state: &AppState, row: &EndpointRow) -> WebhookEndpointOut {
    let now = state.bus.now_ms();
    let circuit = match breaker(state).circuit(BreakerState { consecutive_failures: row.consecutive_failures, open_until: row.circuit_open_until }, now) {
        Circuit::Closed => "closed",
        Circuit::Open { .. } => "open",
        Circuit::HalfOpen => "half_open",
    };
    WebhookEndpointOut {
        object: "webhook_endpoint".into(),
        id: row.id.clone(),
        url: row.url.clone(),
        description: row.description.clone(),
        events: row.patterns(),
        payload_style: PayloadStyle::parse(&row.payload_style).unwrap_or_default(),
        ordered: row.ordered != 0,
        rate_limit_per_sec: u32::try_from(row.rate_limit_per_sec).unwrap_or(1),
        status: row.status.clone(),
        disabled_reason: row.disabled_reason.clone(),
        circuit: circuit.into(),
        consecutive_failures: row.consecutive_failures,
        failing_since: row.failing_since.map(from_ms),
        previous_secret_expires_at: row.previous_secret_expires_at.filter(|t| *t > now).map(from_ms),
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
    }
}

fn message_out(row: &MessageRow) -> WebhookMessageOut {
    WebhookMessageOut {
        object: "webhook_message".into(),
        id: row.id.clone(),
        endpoint_id: row.endpoint_id.clone(),
        event_id: row.event_id.clone(),
        event_type: row.event_type.clone(),
        payload_style: PayloadStyle::parse(&row.payload_style).unwrap_or_default(),
        status: row.status.clone(),
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at.filter(|_| row.status == "pending").map(from_ms),
        object_id: row.object_id.clone(),
        sequence: row.sequence,
        previous_id: row.previous_id.clone(),
        last_status_code: row.last_status_code,
        last_error: row.last_error.clone(),
        note: row.note.clone(),
        origin: row.origin.clone(),
        created_at: from_ms(row.created_at),
    }
}

fn attempt_out(row: &AttemptRow) -> WebhookAttemptOut {
    WebhookAttemptOut {
        object: "webhook_attempt".into(),
        id: row.id.clone(),
        message_id: row.message_id.clone(),
        endpoint_id: row.endpoint_id.clone(),
        attempt: row.attempt,
        trigger: row.trigger_kind.clone(),
        status: row.status.clone(),
        status_code: row.status_code,
        latency_ms: row.latency_ms,
        response_excerpt: row.response_excerpt.clone(),
        error: row.error.clone(),
        created_at: from_ms(row.created_at),
    }
}

fn parse_url(state: &AppState, raw: &str) -> AppResult<String> {
    ssrf::validate_url(raw, state.config.allow_private_webhook_targets)
        .map(|u| u.to_string())
        .map_err(|p| AppError::invalid(p.code(), p.to_string(), Some("url")))
}

fn parse_events(raw: &[String]) -> AppResult<String> {
    if raw.is_empty() {
        return Err(AppError::invalid("events_invalid", "events must name at least one event type, domain.* or *", Some("events")));
    }
    if raw.len() > MAX_PATTERNS {
        return Err(AppError::invalid("events_invalid", format!("at most {MAX_PATTERNS} event patterns"), Some("events")));
    }
    let mut patterns: Vec<String> = Vec::new();
    for p in raw {
        let parsed = EventPattern::parse(p).map_err(|e| AppError::invalid("events_invalid", e.to_string(), Some("events")))?;
        let text = parsed.to_string();
        if !patterns.contains(&text) {
            patterns.push(text);
        }
    }
    serde_json::to_string(&patterns).map_err(|_| AppError::Internal)
}

fn parse_style(raw: &str) -> AppResult<PayloadStyle> {
    PayloadStyle::parse(raw).ok_or_else(|| AppError::invalid("payload_style_invalid", "payload_style must be snapshot or thin", Some("payload_style")))
}

fn parse_description(raw: &str) -> AppResult<String> {
    let d = raw.trim();
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(AppError::invalid("description_invalid", format!("description must be at most {MAX_DESCRIPTION} characters"), Some("description")));
    }
    Ok(d.to_owned())
}

fn parse_rate(raw: u32) -> AppResult<i64> {
    if raw == 0 || raw > MAX_RATE_PER_SEC {
        return Err(AppError::invalid("rate_limit_invalid", format!("rate_limit_per_sec must be between 1 and {MAX_RATE_PER_SEC}"), Some("rate_limit_per_sec")));
    }
    Ok(i64::from(raw))
}

fn changed(row: &EndpointRow) -> EndpointChanged {
    EndpointChanged { endpoint_id: row.id.clone(), url: row.url.clone(), enabled_events: row.patterns() }
}

/// A tenant's endpoint, or 404 (also for a malformed id or another tenant's).
async fn load<'e>(ex: impl sqlx::Executor<'e, Database = sqlx::Any>, access: &TenantAccess, id: &str) -> AppResult<EndpointRow> {
    let id = EndpointId::parse(id).map_err(|_| AppError::not_found("webhook_endpoint"))?;
    store::find_endpoint(ex, access.tenant_id.as_str(), id.as_str()).await?.ok_or_else(|| AppError::not_found("webhook_endpoint"))
}

pub async fn create(state: &AppState, access: &TenantAccess, input: WebhookEndpointIn) -> AppResult<WebhookEndpointWithSecret> {
    access.require(Action::WebhookEndpointsManage)?;
    let url = parse_url(state, &input.url)?;
    let events = parse_events(input.events.as_deref().unwrap_or(&["*".to_owned()]))?;
    let style = parse_style(input.payload_style.as_deref().unwrap_or("snapshot"))?;
    let description = parse_description(input.description.as_deref().unwrap_or(""))?;
    let rate = parse_rate(input.rate_limit_per_sec.unwrap_or(state.config.webhooks.default_rate_per_sec))?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1 AND deleted_at IS NULL")
        .bind(access.tenant_id.as_str())
        .fetch_one(&state.db.pool)
        .await?;
    if count >= MAX_ENDPOINTS {
        return Err(AppError::unprocessable("endpoint_limit", format!("a tenant can have at most {MAX_ENDPOINTS} webhook endpoints"), None));
    }
    let id = new_id::<EndpointId>();
    let secret = signing::new_secret();
    let now = state.bus.now_ms();
    let row = EndpointRow {
        id: id.to_string(),
        tenant_id: access.tenant_id.to_string(),
        url,
        description,
        events,
        payload_style: style.as_str().into(),
        ordered: i64::from(input.ordered.unwrap_or(false)),
        rate_limit_per_sec: rate,
        status: store::STATUS_ACTIVE.into(),
        disabled_reason: None,
        secret: state.secrets.seal(&secret, &secret_context(access.tenant_id.as_str(), id.as_str())),
        previous_secret: None,
        previous_secret_expires_at: None,
        consecutive_failures: 0,
        failing_since: None,
        circuit_open_until: None,
        throttled_until: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::insert_endpoint(&mut *tx, &row).await?;
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::EndpointCreated(changed(&row))).await?;
    state.bus.commit(tx).await?;
    Ok(WebhookEndpointWithSecret { endpoint: endpoint_out(state, &row), secret })
}

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<WebhookEndpointOut>> {
    access.require(Action::WebhookEndpointsRead)?;
    let (rows, has_more): (Vec<EndpointRow>, bool) = store::endpoints_listing(access.tenant_id.as_str()).fetch(&state.db, page).await?;
    Ok(List::new(rows.iter().map(|r| endpoint_out(state, r)).collect(), has_more))
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<WebhookEndpointOut> {
    access.require(Action::WebhookEndpointsRead)?;
    Ok(endpoint_out(state, &load(&state.db.pool, access, id).await?))
}

pub async fn update(state: &AppState, access: &TenantAccess, id: &str, patch: WebhookEndpointPatch) -> AppResult<WebhookEndpointOut> {
    access.require(Action::WebhookEndpointsManage)?;
    let mut tx = state.db.begin().await?;
    let mut row = load(&mut *tx, access, id).await?;
    let before = row.clone();
    let now = state.bus.now_ms();
    if let Some(url) = &patch.url {
        row.url = parse_url(state, url)?;
    }
    if let Some(description) = &patch.description {
        row.description = parse_description(description)?;
    }
    if let Some(events) = &patch.events {
        row.events = parse_events(events)?;
    }
    if let Some(style) = &patch.payload_style {
        row.payload_style = parse_style(style)?.as_str().into();
    }
    if let Some(ordered) = patch.ordered {
        row.ordered = i64::from(ordered);
    }
    if let Some(rate) = patch.rate_limit_per_sec {
        row.rate_limit_per_sec = parse_rate(rate)?;
    }
    match patch.active {
        Some(true) if row.status != store::STATUS_ACTIVE => {
            // Enabled again: a clean slate for the breaker and the auto-disable clock.
            row.status = store::STATUS_ACTIVE.into();
            row.disabled_reason = None;
            row.consecutive_failures = 0;
            row.failing_since = None;
            row.circuit_open_until = None;
            row.throttled_until = None;
        }
        Some(false) if row.status == store::STATUS_ACTIVE => {
            row.status = store::STATUS_DISABLED.into();
            row.disabled_reason = Some("disabled by a user".into());
            store::disable_pending(&mut *tx, &row.id, "endpoint disabled by a user", now).await?;
        }
        _ => {}
    }
    let unchanged = (&row.url, &row.description, &row.events, &row.payload_style, row.ordered, row.rate_limit_per_sec, &row.status)
        == (&before.url, &before.description, &before.events, &before.payload_style, before.ordered, before.rate_limit_per_sec, &before.status);
    if unchanged {
        return Ok(endpoint_out(state, &row));
    }
    row.updated_at = now;
    store::save_endpoint(&mut *tx, &row).await?;
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::EndpointUpdated(changed(&row))).await?;
    state.bus.commit(tx).await?;
    state.webhooks.wake();
    Ok(endpoint_out(state, &row))
}

/// Deletes an endpoint: it disappears from the API, its queued messages stop.
pub async fn delete(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<WebhookEndpointOut> {
    access.require(Action::WebhookEndpointsManage)?;
    let mut tx = state.db.begin().await?;
    let mut row = load(&mut *tx, access, id).await?;
    let now = state.bus.now_ms();
    store::mark_deleted(&mut *tx, &row.id, now).await?;
    store::disable_pending(&mut *tx, &row.id, "endpoint deleted", now).await?;
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::EndpointDeleted(changed(&row))).await?;
    state.bus.commit(tx).await?;
    row.status = store::STATUS_DISABLED.into();
    row.disabled_reason = Some("deleted".into());
    row.updated_at = now;
    Ok(endpoint_out(state, &row))
}

/// A new signing secret, shown once. The previous one keeps signing beside it for
/// `overlap_seconds` (default 24 h; 0 retires it at once); a secret still in its overlap from an
/// earlier rotation is retired now.
pub async fn rotate_secret(state: &AppState, access: &TenantAccess, id: &str, input: RotateSecretIn) -> AppResult<WebhookEndpointWithSecret> {
    access.require(Action::WebhookEndpointsManage)?;
    let overlap = input.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap) {
        return Err(AppError::invalid("overlap_invalid", format!("overlap_seconds must be between 0 and {MAX_OVERLAP_SECS}"), Some("overlap_seconds")));
    }
    let mut tx = state.db.begin().await?;
    let mut row = load(&mut *tx, access, id).await?;
    let now = state.bus.now_ms();
    let secret = signing::new_secret();
    let context = secret_context(&row.tenant_id, &row.id);
    if overlap > 0 {
        row.previous_secret = Some(row.secret.clone());
        row.previous_secret_expires_at = Some(now + overlap * 1000);
    } else {
        row.previous_secret = None;
        row.previous_secret_expires_at = None;
    }
    row.secret = state.secrets.seal(&secret, &context);
    row.updated_at = now;
    store::save_endpoint(&mut *tx, &row).await?;
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::EndpointSecretRotated(changed(&row))).await?;
    state.bus.commit(tx).await?;
    Ok(WebhookEndpointWithSecret { endpoint: endpoint_out(state, &row), secret })
}

pub async fn messages(state: &AppState, access: &TenantAccess, id: &str, page: &PageParams) -> AppResult<List<WebhookMessageOut>> {
    access.require(Action::WebhookEndpointsRead)?;
    let endpoint = load(&state.db.pool, access, id).await?;
    let (rows, has_more): (Vec<MessageRow>, bool) = store::messages_listing(access.tenant_id.as_str(), &endpoint.id).fetch(&state.db, page).await?;
    Ok(List::new(rows.iter().map(message_out).collect(), has_more))
}

/// Every attempt to this endpoint, newest first; `message` narrows it to one message.
pub async fn attempts(state: &AppState, access: &TenantAccess, id: &str, message: Option<&str>, page: &PageParams) -> AppResult<List<WebhookAttemptOut>> {
    access.require(Action::WebhookEndpointsRead)?;
    let endpoint = load(&state.db.pool, access, id).await?;
    let (rows, has_more): (Vec<AttemptRow>, bool) =
        store::attempts_listing(access.tenant_id.as_str(), &endpoint.id, message).fetch(&state.db, page).await?;
    Ok(List::new(rows.iter().map(attempt_out).collect(), has_more))
}

/// Sends a message again now (whatever its status); the attempt is recorded as `manual`.
pub async fn resend(state: &AppState, access: &TenantAccess, id: &str, message_id: &str) -> AppResult<WebhookMessageOut> {
    access.require(Action::WebhookEndpointsManage)?;
    let mut tx = state.db.begin().await?;
    let endpoint = load(&mut *tx, access, id).await?;
    let message_id = WebhookMessageId::parse(message_id).map_err(|_| AppError::not_found("webhook_message"))?;
    let message = store::find_message(&mut *tx, access.tenant_id.as_str(), &endpoint.id, message_id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found("webhook_message"))?;
    if endpoint.status != store::STATUS_ACTIVE {
        return Err(AppError::conflict("endpoint_disabled", "the endpoint is disabled; enable it before resending", None));
    }
    if message.status == "delivering" {
        return Err(AppError::conflict("message_in_flight", "the message is being sent right now", None));
    }
    store::requeue(&mut *tx, &message.id, trigger::MANUAL, state.bus.now_ms()).await?;
    let row = store::find_message(&mut *tx, access.tenant_id.as_str(), &endpoint.id, &message.id).await?.ok_or(AppError::Internal)?;
    tx.commit().await?;
    state.webhooks.wake();
    Ok(message_out(&row))
}

/// Publishes an `endpoint.test_sent` event and queues it for this endpoint only.
pub async fn send_test(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<WebhookMessageOut> {
    access.require(Action::WebhookEndpointsManage)?;
    let mut tx = state.db.begin().await?;
    let endpoint = load(&mut *tx, access, id).await?;
    if endpoint.status != store::STATUS_ACTIVE {
        return Err(AppError::conflict("endpoint_disabled", "the endpoint is disabled; enable it before sending a test", None));
    }
    let event_id = state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::EndpointTestSent(changed(&endpoint))).await?;
    let stored: EventRow = sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")).bind(event_id.as_str()).fetch_one(&mut *tx).await?;
    let envelope = envelope_from_row(&stored).map_err(|e| {
        tracing::error!(error = %e, "a just-published event cannot be read back");
        AppError::Internal
    })?;
    debug_assert_eq!(envelope.event_type, EventType::EndpointTestSent);
    let style = PayloadStyle::parse(&endpoint.payload_style).unwrap_or_default();
    let now = state.bus.now_ms();
    let message_id = insert_for(&mut tx, state.db.dialect, &endpoint, &envelope, style, origin::TEST, trigger::TEST, now).await?;
    let row = store::find_message(&mut *tx, access.tenant_id.as_str(), &endpoint.id, message_id.as_str()).await?.ok_or(AppError::Internal)?;
    state.bus.commit(tx).await?;
    state.webhooks.wake();
    Ok(message_out(&row))
}
