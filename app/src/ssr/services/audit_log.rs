//! The tenant's audit trail: search (free text, event type pattern, actor, time range), cursor
//! pages newest first, and CSV export. Rows are written by the `audit-log` plugin.

use crate::{
    domain::{audit_log::AuditLogEntryOut, dto::List, events::EventPattern, Action, PrefixedId},
    error::{AppError, AppResult},
    ssr::{
        auth::TenantAccess,
        db::{
            page::{Bind, Listing},
            PageParams,
        },
        time_util::{from_ms, to_ms},
        AppState,
    },
};

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct AuditLogQuery {
    /// Text found in the summary, the actor or the object id (case-insensitive).
    pub q: Option<String>,
    /// An event type (`payment.refunded`), a domain (`payment.*`) or `*`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", param(rename = "type"))]
    pub event_type: Option<String>,
    /// Exactly this actor (`usr_…`, `key_…`).
    pub actor: Option<String>,
    /// At or after (RFC 3339).
    pub from: Option<String>,
    /// Before (RFC 3339).
    pub to: Option<String>,
    pub limit: Option<i64>,
    pub starting_after: Option<String>,
    pub ending_before: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    event_id: String,
    event_type: String,
    actor: Option<String>,
    actor_type: String,
    source: Option<String>,
    ip: Option<String>,
    summary: String,
    object_id: Option<String>,
    occurred_at: i64,
}

const COLUMNS: &str = "id, event_id, event_type, actor, actor_type, source, ip, summary, object_id, occurred_at";

impl From<Row> for AuditLogEntryOut {
    fn from(r: Row) -> Self {
        AuditLogEntryOut {
            id: r.id,
            object: "audit_log_entry".into(),
            event_id: r.event_id,
            event_type: r.event_type,
            actor: r.actor,
            actor_type: r.actor_type,
            source: r.source,
            ip: r.ip,
            summary: r.summary,
            object_id: r.object_id,
            occurred_at: from_ms(r.occurred_at),
        }
    }
}

fn time_param(raw: &str, param: &str) -> AppResult<i64> {
    time::OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339)
        .map(to_ms)
        .map_err(|_| AppError::invalid("parameter_invalid_time", format!("{param} must be an RFC 3339 time"), Some(param)))
}

/// `%text%` for `LIKE … ESCAPE '\'`, the text's own wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn filter(tenant: &str, q: &AuditLogQuery) -> AppResult<(String, Vec<Bind>)> {
    let mut sql = "FROM audit_log WHERE tenant_id = $1".to_owned();
    let mut binds: Vec<Bind> = vec![tenant.into()];
    let mut and = |clause: &str, value: Bind, binds: &mut Vec<Bind>| {
        binds.push(value);
        sql.push_str(&format!(" AND {}", clause.replace('?', &format!("${}", binds.len()))));
    };
    if let Some(text) = given(&q.q) {
        if text.chars().count() > 200 {
            return Err(AppError::invalid("parameter_too_long", "q is longer than 200 characters", Some("q")));
        }
        and(
            "(LOWER(summary) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(actor, '')) LIKE ? ESCAPE '\\' OR LOWER(COALESCE(object_id, '')) LIKE ? ESCAPE '\\')",
            contains_pattern(text).into(),
            &mut binds,
        );
    }
    if let Some(raw) = given(&q.event_type) {
        match EventPattern::parse(raw).map_err(|e| AppError::invalid("parameter_invalid", e.to_string(), Some("type")))? {
            EventPattern::All => {}
            EventPattern::Domain(d) => and("event_type LIKE ?", format!("{d}.%").into(), &mut binds),
            EventPattern::Exact(t) => and("event_type = ?", t.name().into(), &mut binds),
        }
    }
    if let Some(actor) = given(&q.actor) {
        and("actor = ?", actor.into(), &mut binds);
    }
    if let Some(from) = given(&q.from) {
        and("occurred_at >= ?", time_param(from, "from")?.into(), &mut binds);
    }
    if let Some(to) = given(&q.to) {
        and("occurred_at < ?", time_param(to, "to")?.into(), &mut binds);
    }
    Ok((sql, binds))
}

#[tracing::instrument(name = "audit_log.list", skip_all, fields(tenant = %access.tenant_id))]
pub async fn list(state: &AppState, access: &TenantAccess, q: &AuditLogQuery) -> AppResult<List<AuditLogEntryOut>> {
    access.require(Action::AuditLogRead)?;
    let (from_where, binds) = filter(access.tenant_id.as_str(), q)?;
    let page = PageParams { limit: q.limit, starting_after: q.starting_after.clone(), ending_before: q.ending_before.clone() };
    let listing = Listing { columns: COLUMNS, from_where: &from_where, time_column: "occurred_at", key_column: "id", binds };
    let (rows, has_more): (Vec<Row>, bool) = listing.fetch(&state.db, &page).await?;
    Ok(List::new(rows.into_iter().map(Into::into).collect(), has_more))
}

pub const CSV_HEADER: &str = "id,occurred_at,event_type,actor_type,actor,source,ip,object_id,summary,event_id\n";

/// The whole filtered trail as CSV, newest first, read page by page.
#[tracing::instrument(name = "audit_log.export", skip_all, fields(tenant = %access.tenant_id))]
pub async fn export(state: &AppState, access: &TenantAccess, q: &AuditLogQuery) -> AppResult<String> {
    access.require(Action::AuditLogRead)?;
    let mut out = String::from(CSV_HEADER);
    let mut query = AuditLogQuery { limit: Some(100), starting_after: None, ending_before: None, ..q.clone() };
    loop {
        let page = list(state, access, &query).await?;
        for e in &page.data {
            let fields = [
                e.id.clone(),
                e.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                e.event_type.clone(),
                e.actor_type.clone(),
                e.actor.clone().unwrap_or_default(),
                e.source.clone().unwrap_or_default(),
                e.ip.clone().unwrap_or_default(),
                e.object_id.clone().unwrap_or_default(),
                e.summary.clone(),
                e.event_id.clone(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        match (page.has_more, page.data.last()) {
            (true, Some(last)) => query.starting_after = Some(last.id.clone()),
            _ => return Ok(out),
        }
    }
}

/// Quoted when needed; a leading `=`, `+`, `-` or `@` is neutralised so a spreadsheet does not
/// run it as a formula (summaries contain customers' text).
pub fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) && v.parse::<f64>().is_err() { format!("'{v}") } else { v.to_owned() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_taken_literally() {
        assert_eq!(contains_pattern("Pay_1%"), "%pay\\_1\\%%");
    }

    #[test]
    fn filters_bind_their_values_and_refuse_bad_ones() {
        let q = AuditLogQuery { q: Some(" refund ".into()), event_type: Some("payment.*".into()), actor: Some("usr_1".into()), ..Default::default() };
        let (sql, binds) = filter("ten_1", &q).unwrap();
        assert!(sql.contains("LIKE $2 ESCAPE") && sql.contains("event_type LIKE $3") && sql.contains("actor = $4"), "{sql}");
        assert_eq!(binds, vec![Bind::from("ten_1"), Bind::from("%refund%"), Bind::from("payment.%"), Bind::from("usr_1")]);
        for bad in [
            AuditLogQuery { event_type: Some("paymnt.*".into()), ..Default::default() },
            AuditLogQuery { from: Some("yesterday".into()), ..Default::default() },
        ] {
            assert!(matches!(filter("ten_1", &bad), Err(AppError::InvalidRequest { .. })));
        }
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("-12.5"), "-12.5");
    }
}
