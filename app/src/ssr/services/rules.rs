//! Rules as tenants manage them: create (enabled, or disabled to dry-run first), list, change,
//! delete; test a pattern against one event; dry-run it over the stored events; read its
//! counters and its archive. Shared by the JSON API and the dashboard's server functions.

use crate::{
    domain::{
        dto::List,
        events::{payloads::RuleChanged, DomainEvent, EventType},
        rules::{
            parse_description, parse_payload_style,
            views::*,
            Pattern, PatternSpec, Target, TargetSpec,
        },
        Action, EndpointId, EventId, Name, PrefixedId, RuleId,
    },
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        bus::{envelope_from_row, queries, store::EventRow, EventContext},
        db::PageParams,
        ids::new_id,
        rules::{store, targets},
        time_util::from_ms,
        AppState,
    },
};

pub const DEFAULT_DRY_RUN_DAYS: u32 = 7;
pub const MAX_DRY_RUN_DAYS: u32 = 90;
/// The most events one dry run reads; a longer scan continues with `next_cursor`.
pub const DRY_RUN_SCAN_LIMIT: u64 = 5_000;
const DRY_RUN_BATCH: i64 = 500;
const DRY_RUN_SAMPLES: usize = 20;
const DAY_MS: i64 = 86_400_000;

fn rule_id(raw: &str) -> AppResult<RuleId> {
    RuleId::parse(raw).map_err(|_| AppError::not_found("rule"))
}

/// The rule's pattern, parsed (400 naming the field otherwise).
fn pattern(spec: Option<&PatternSpec>) -> AppResult<Pattern> {
    let spec = spec.ok_or_else(|| AppError::invalid("parameter_missing", "a rule needs a pattern: { \"types\": [\"payment.*\"], \"conditions\": [] }", Some("pattern")))?;
    Ok(Pattern::parse(spec, "pattern")?)
}

/// A target that exists for this tenant: its endpoint, or an installed plugin.
async fn target(state: &AppState, access: &TenantAccess, spec: Option<&TargetSpec>) -> AppResult<Target> {
    let spec = spec.ok_or_else(|| AppError::invalid("parameter_missing", "a rule needs a target: webhook_endpoint, plugin or archive", Some("target")))?;
    let target = Target::parse(spec)?;
    match &target {
        Target::WebhookEndpoint(id) => {
            let param = Some("target.endpoint_id");
            let id = EndpointId::parse(id).map_err(|e| AppError::invalid("parameter_invalid", e.to_string(), param))?;
            if !targets::endpoint_exists(&state.db, &access.tenant_id, id.as_str()).await? {
                return Err(AppError::invalid("resource_missing", format!("No such webhook endpoint: {id}"), param));
            }
        }
        Target::Plugin(name) => {
            if state.plugins.find(name).is_none() {
                let known: Vec<&str> = state.plugins.all().iter().map(|p| p.manifest().name).collect();
                let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
                return Err(AppError::invalid("resource_missing", format!("No such plugin: `{name}` (installed: {known})"), Some("target.plugin")));
            }
        }
        Target::Archive => {}
    }
    Ok(target)
}

fn out(row: &store::RuleRow, matched_7d: u64) -> AppResult<RuleOut> {
    let spec = row.spec().map_err(|e| {
        tracing::error!(rule = %row.id, error = %e, "stored rule pattern unreadable");
        AppError::Internal
    })?;
    let target = Target::from_stored(&row.target_type, row.target_ref.as_deref()).ok_or(AppError::Internal)?;
    Ok(RuleOut {
        id: row.id.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        enabled: row.enabled != 0,
        summary: Pattern::summary(&spec),
        pattern: spec,
        target: target.spec(),
        payload_style: row.payload_style.clone(),
        matched_7d,
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
    })
}

async fn outs(state: &AppState, access: &TenantAccess, rows: &[store::RuleRow]) -> AppResult<Vec<RuleOut>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let since = store::day_of(state.bus.now_ms() - 6 * DAY_MS);
    let counts = store::matched_since(&state.db, access.tenant_id.as_str(), &ids, &since).await?;
    rows.iter()
        .map(|r| out(r, counts.iter().find(|(id, _)| *id == r.id).map(|(_, n)| *n as u64).unwrap_or(0)))
        .collect()
}

async fn find(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<store::RuleRow> {
    let id = rule_id(id)?;
    store::find(&state.db.pool, access.tenant_id.as_str(), id.as_str()).await?.ok_or_else(|| AppError::not_found("rule"))
}

fn changed(row: &store::RuleRow) -> RuleChanged {
    RuleChanged { rule_id: row.id.clone(), name: row.name.clone(), enabled: row.enabled != 0 }
}

pub async fn create(state: &AppState, access: &TenantAccess, input: RuleIn) -> AppResult<RuleOut> {
    access.require(Action::RulesManage)?;
    let name = Name::parse(input.name.as_deref().unwrap_or_default(), "name")?;
    let description = parse_description(input.description.as_deref())?;
    let spec = input.pattern.clone();
    pattern(spec.as_ref())?;
    let target = target(state, access, input.target.as_ref()).await?;
    let style = parse_payload_style(input.payload_style.as_deref(), &target)?;
    let now = state.bus.now_ms();
    let row = store::RuleRow {
        id: new_id::<RuleId>().to_string(),
        tenant_id: access.tenant_id.to_string(),
        name: name.as_str().to_owned(),
        description,
        enabled: i64::from(input.enabled.unwrap_or(true)),
        pattern: serde_json::to_string(&spec).map_err(|_| AppError::Internal)?,
        target_type: target.kind().to_owned(),
        target_ref: target.reference().map(str::to_owned),
        payload_style: style.as_str().to_owned(),
        created_by: Some(access.principal.actor().id),
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin().await?;
    store::insert(&mut *tx, &row).await?;
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::RuleCreated(changed(&row))).await?;
    state.bus.commit(tx).await?;
    out(&row, 0)
}

pub async fn list(state: &AppState, access: &TenantAccess, page: &PageParams) -> AppResult<List<RuleOut>> {
    access.require(Action::RulesRead)?;
    let (from_where, binds) = store::listing(access.tenant_id.as_str());
    let (rows, has_more): (Vec<store::RuleRow>, bool) = store::rules_listing(&from_where, binds).fetch(&state.db, page).await?;
    Ok(List::new(outs(state, access, &rows).await?, has_more))
}

pub async fn get(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<RuleOut> {
    access.require(Action::RulesRead)?;
    let row = find(state, access, id).await?;
    Ok(outs(state, access, std::slice::from_ref(&row)).await?.remove(0))
}

/// Changes the fields given; a new pattern replaces the old one whole.
pub async fn update(state: &AppState, access: &TenantAccess, id: &str, input: RuleIn) -> AppResult<RuleOut> {
    access.require(Action::RulesManage)?;
    let mut row = find(state, access, id).await?;
    if let Some(name) = input.name.as_deref() {
        row.name = Name::parse(name, "name")?.as_str().to_owned();
    }
    if input.description.is_some() {
        row.description = parse_description(input.description.as_deref())?;
    }
    if let Some(enabled) = input.enabled {
        row.enabled = i64::from(enabled);
    }
    if let Some(spec) = &input.pattern {
        pattern(Some(spec))?;
        row.pattern = serde_json::to_string(spec).map_err(|_| AppError::Internal)?;
    }
    let target = match &input.target {
        Some(spec) => target(state, access, Some(spec)).await?,
        None => Target::from_stored(&row.target_type, row.target_ref.as_deref()).ok_or(AppError::Internal)?,
    };
    let style_raw = input.payload_style.clone().unwrap_or_else(|| row.payload_style.clone());
    let style = parse_payload_style(Some(&style_raw), &target)?;
    row.target_type = target.kind().to_owned();
    row.target_ref = target.reference().map(str::to_owned);
    row.payload_style = style.as_str().to_owned();
    row.updated_at = state.bus.now_ms();
    let mut tx = state.db.begin().await?;
    if !store::update(&mut *tx, &row).await? {
        return Err(AppError::not_found("rule"));
    }
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::RuleUpdated(changed(&row))).await?;
    state.bus.commit(tx).await?;
    get(state, access, &row.id).await
}

/// Deletes a rule with its counters and its archive.
pub async fn delete(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<RuleDeletedOut> {
    access.require(Action::RulesManage)?;
    let row = find(state, access, id).await?;
    let mut tx = state.db.begin().await?;
    if !store::delete(&mut tx, access.tenant_id.as_str(), &row.id).await? {
        return Err(AppError::not_found("rule"));
    }
    state.bus.publish(&mut tx, &EventContext::for_access(access), DomainEvent::RuleDeleted(changed(&row))).await?;
    state.bus.commit(tx).await?;
    Ok(RuleDeletedOut { id: row.id, deleted: true })
}

/// A stored event of the tenant (live or archived), as JSON.
async fn stored_event(state: &AppState, access: &TenantAccess, id: &str) -> AppResult<serde_json::Value> {
    let id = EventId::parse(id).map_err(|_| AppError::invalid("resource_missing", format!("No such event: {id}"), Some("event_id")))?;
    for table in ["events", "events_archive"] {
        let sql = format!("SELECT {} FROM {table} WHERE tenant_id = $1 AND id = $2", crate::ssr::bus::store::EVENT_COLUMNS);
        let row: Option<EventRow> = sqlx::query_as(&sql).bind(access.tenant_id.as_str()).bind(id.as_str()).fetch_optional(&state.db.pool).await?;
        if let Some(row) = row {
            let envelope = envelope_from_row(&row).map_err(|e| {
                tracing::error!(event = %row.id, error = %e, "stored event cannot be read");
                AppError::Internal
            })?;
            return serde_json::to_value(&envelope).map_err(|_| AppError::Internal);
        }
    }
    Err(AppError::invalid("resource_missing", format!("No such event: {id}"), Some("event_id")))
}

/// Evaluates a pattern against a sample event or a stored one, condition by condition.
pub async fn test(state: &AppState, access: &TenantAccess, input: RuleTestIn) -> AppResult<RuleTestOut> {
    access.require(Action::RulesManage)?;
    let pattern = pattern(input.pattern.as_ref())?;
    let event = match (input.event, input.event_id.as_deref()) {
        (Some(_), Some(_)) => return Err(AppError::invalid("parameters_exclusive", "send either event or event_id, not both", Some("event_id"))),
        (None, None) => return Err(AppError::invalid("parameter_missing", "send a sample event or a stored event's id", Some("event"))),
        (Some(event), None) => {
            if !event.is_object() || !event.get("type").is_some_and(|t| t.is_string()) {
                return Err(AppError::invalid("parameter_invalid", "the sample event must be an object with a string `type`", Some("event.type")));
            }
            event
        }
        (None, Some(id)) => {
            access.require(Action::EventsRead)?;
            stored_event(state, access, id).await?
        }
    };
    Ok(RuleTestOut { evaluation: pattern.evaluate(&event), event })
}

fn parse_cursor(raw: &str) -> AppResult<(i64, String)> {
    raw.split_once(':')
        .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, EventId::parse(id).ok()?.to_string())))
        .ok_or_else(|| AppError::invalid("parameter_invalid", "cursor must be a next_cursor returned by a dry run", Some("cursor")))
}

#[derive(Debug, sqlx::FromRow)]
struct ScanRow {
    #[sqlx(flatten)]
    event: EventRow,
    archived: i64,
}

/// Runs a pattern over the tenant's events of the last `days` (live and archived), newest first,
/// reading at most [`DRY_RUN_SCAN_LIMIT`] events of the types the pattern admits.
pub async fn dry_run(state: &AppState, access: &TenantAccess, id: Option<&str>, input: DryRunIn) -> AppResult<DryRunOut> {
    access.require(Action::RulesManage)?;
    access.require(Action::EventsRead)?;
    let pattern = match id {
        Some(id) => {
            let row = find(state, access, id).await?;
            row.load().map(|r| r.pattern).map_err(|e| {
                tracing::error!(rule = %row.id, error = %e, "stored rule cannot be read");
                AppError::Internal
            })?
        }
        None => pattern(input.pattern.as_ref())?,
    };
    let days = match input.days {
        None => DEFAULT_DRY_RUN_DAYS,
        Some(d) if (1..=MAX_DRY_RUN_DAYS).contains(&d) => d,
        Some(_) => return Err(AppError::invalid("parameter_invalid_integer", format!("days must be between 1 and {MAX_DRY_RUN_DAYS}"), Some("days"))),
    };
    let now = state.bus.now_ms();
    let from = now - i64::from(days) * DAY_MS;
    let mut cursor = input.cursor.as_deref().map(parse_cursor).transpose()?;
    let types: Vec<EventType> = pattern.expand_types();
    let mut result = DryRunOut {
        matched: 0,
        scanned: 0,
        truncated: false,
        next_cursor: None,
        samples: Vec::new(),
        days,
        from: from_ms(from),
        to: from_ms(now),
        scan_limit: DRY_RUN_SCAN_LIMIT,
    };
    if types.is_empty() {
        return Ok(result);
    }
    // $1 tenant, $2 from, $3 to, $4.. types, then the cursor (time, id).
    let type_marks: Vec<String> = (0..types.len()).map(|i| format!("${}", i + 4)).collect();
    let (ct, cid) = (types.len() + 4, types.len() + 5);
    loop {
        let remaining = DRY_RUN_SCAN_LIMIT - result.scanned;
        let batch = DRY_RUN_BATCH.min(remaining as i64);
        let after = if cursor.is_some() { format!(" AND (occurred_at < ${ct} OR (occurred_at = ${ct} AND id < ${cid}))") } else { String::new() };
        let select = |table: &str, archived: i64| {
            format!(
                "SELECT {}, CAST({archived} AS BIGINT) AS archived FROM {table}
                 WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND type IN ({}){after}",
                crate::ssr::bus::store::EVENT_COLUMNS,
                type_marks.join(", ")
            )
        };
        let sql = format!("{} UNION ALL {} ORDER BY occurred_at DESC, id DESC LIMIT {batch}", select("events", 0), select("events_archive", 1));
        let mut q = sqlx::query_as::<_, ScanRow>(&sql).bind(access.tenant_id.as_str()).bind(from).bind(now + 1);
        for t in &types {
            q = q.bind(t.name());
        }
        if let Some((t, id)) = &cursor {
            q = q.bind(*t).bind(id.clone());
        }
        let rows = q.fetch_all(&state.db.pool).await?;
        let full = rows.len() as i64 == batch;
        for row in &rows {
            result.scanned += 1;
            let Ok(envelope) = envelope_from_row(&row.event) else { continue };
            let Ok(doc) = serde_json::to_value(&envelope) else { continue };
            if pattern.matches(&doc) {
                result.matched += 1;
                if result.samples.len() < DRY_RUN_SAMPLES {
                    result.samples.push(queries::event_out(&row.event, row.archived != 0)?);
                }
            }
        }
        if let Some(last) = rows.last() {
            cursor = Some((last.event.occurred_at, last.event.id.clone()));
        }
        if !full {
            break;
        }
        if result.scanned >= DRY_RUN_SCAN_LIMIT {
            result.truncated = true;
            result.next_cursor = cursor.map(|(t, id)| format!("{t}:{id}"));
            break;
        }
    }
    Ok(result)
}

/// A rule's daily counters over the last `days` (1 to 90, default 30), and its latest errors.
pub async fn stats(state: &AppState, access: &TenantAccess, id: &str, days: Option<u32>) -> AppResult<RuleStatsOut> {
    access.require(Action::RulesRead)?;
    let days = match days {
        None => 30,
        Some(d) if (1..=MAX_DRY_RUN_DAYS).contains(&d) => d,
        Some(_) => return Err(AppError::invalid("parameter_invalid_integer", format!("days must be between 1 and {MAX_DRY_RUN_DAYS}"), Some("days"))),
    };
    let row = find(state, access, id).await?;
    let tenant = access.tenant_id.as_str();
    let since = store::day_of(state.bus.now_ms() - i64::from(days - 1) * DAY_MS);
    let day_rows = store::days(&state.db, tenant, &row.id, &since).await?;
    let errors = store::recent_errors(&state.db, tenant, &row.id, 10).await?;
    let days: Vec<RuleDayOut> = day_rows
        .into_iter()
        .map(|d| RuleDayOut { day: d.day, matched: d.matched as u64, delivered: d.delivered as u64, failed: d.failed as u64 })
        .collect();
    Ok(RuleStatsOut {
        rule_id: row.id.clone(),
        matched: days.iter().map(|d| d.matched).sum(),
        delivered: days.iter().map(|d| d.delivered).sum(),
        failed: days.iter().map(|d| d.failed).sum(),
        days,
        undelivered: store::undelivered(&state.db, tenant, &row.id).await? as u64,
        recent_errors: errors
            .into_iter()
            .map(|e| RuleErrorOut {
                event_id: e.event_id,
                event_type: e.event_type,
                attempts: e.attempts as u32,
                error: e.last_error.unwrap_or_default(),
                at: from_ms(e.updated_at),
            })
            .collect(),
    })
}

/// What a rule with the archive target kept, newest first.
pub async fn archive(state: &AppState, access: &TenantAccess, id: &str, page: &PageParams) -> AppResult<List<ArchivedEventOut>> {
    access.require(Action::RulesRead)?;
    access.require(Action::EventsRead)?;
    let row = find(state, access, id).await?;
    let listing = crate::ssr::db::page::Listing {
        columns: store::ARCHIVE_COLUMNS,
        from_where: "FROM rule_archive WHERE rule_id = $1 AND tenant_id = $2",
        time_column: "archived_at",
        key_column: "event_id",
        binds: vec![row.id.as_str().into(), access.tenant_id.as_str().into()],
    };
    let (rows, has_more): (Vec<store::ArchiveRow>, bool) = listing.fetch(&state.db, page).await?;
    let data = rows
        .into_iter()
        .map(|r| ArchivedEventOut {
            event_id: r.event_id,
            event_type: r.event_type,
            payload_style: r.payload_style,
            body: serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
            occurred_at: from_ms(r.occurred_at),
            archived_at: from_ms(r.archived_at),
        })
        .collect();
    Ok(List::new(data, has_more))
}

/// The rules section of the event-bus statistics: per rule over the window. Empty for a role
/// that may not read rules.
pub async fn window_stats(state: &AppState, access: &TenantAccess, tenant: Option<&str>, window_minutes: u32) -> AppResult<Vec<RuleWindowStats>> {
    if !access.role.can(Action::RulesRead) {
        return Ok(Vec::new());
    }
    let since = state.bus.now_ms() - i64::from(window_minutes) * 60_000;
    let rows = store::window(&state.db, tenant, since, 100).await?;
    Ok(rows
        .into_iter()
        .map(|r| RuleWindowStats { rule_id: r.rule_id, name: r.name, matched: r.matched as u64, delivered: r.delivered as u64, failed: r.failed as u64 })
        .collect())
}
