//! What the API and the dashboard show of the bus: events, their deliveries and attempts,
//! replay jobs and statistics.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

use super::{ActorType, EventMetadata};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EventOut {
    #[cfg_attr(feature = "ssr", schema(example = "evt_9aK…"))]
    pub id: String,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", schema(example = "payment.captured"))]
    pub event_type: String,
    pub version: u16,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    pub tenant_id: Option<String>,
    pub actor: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "user"))]
    pub actor_type: ActorType,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub payload: serde_json::Value,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub metadata: EventMetadata,
    /// Past retention: kept in the archive, still replayable.
    pub archived: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct AttemptOut {
    pub attempt: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub started_at: OffsetDateTime,
    pub duration_ms: i64,
    /// succeeded, failed, timed_out, panicked or skipped.
    pub outcome: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DeliveryOut {
    #[cfg_attr(feature = "ssr", schema(example = "dlv_2Lm…"))]
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub listener: String,
    /// The replay job that made this delivery, if any.
    pub replay_id: Option<String>,
    /// pending, running, succeeded, skipped or dead.
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub duration_ms: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub completed_at: Option<OffsetDateTime>,
    /// Filled when the delivery is fetched on its own or with its event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempt_log: Vec<AttemptOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct EventDetailOut {
    #[serde(flatten)]
    pub event: EventOut,
    pub deliveries: Vec<DeliveryOut>,
}

/// What a replay re-delivers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplayFilter {
    /// Event types or patterns (`payment.captured`, `payment.*`, `*`); at least one.
    #[serde(default)]
    pub types: Vec<String>,
    pub actor: Option<String>,
    /// Only events at or after this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub from: Option<OffsetDateTime>,
    /// Only events before this time (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub to: Option<OffsetDateTime>,
    /// Only to this listener (else to every listener the events are routed to).
    pub listener: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ReplayOut {
    #[cfg_attr(feature = "ssr", schema(example = "rpl_7Qs…"))]
    pub id: String,
    pub tenant_id: Option<String>,
    /// queued, running, completed, failed or canceled.
    pub status: String,
    pub filter: ReplayFilter,
    /// Events matched so far.
    pub matched: u64,
    /// Deliveries enqueued so far.
    pub enqueued: u64,
    /// Events the filter matched when the job started.
    pub total: Option<u64>,
    /// 0.0 to 1.0.
    pub progress: f64,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct TypeCount {
    #[serde(rename = "type")]
    pub event_type: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ListenerStats {
    pub listener: String,
    /// Deliveries that ended well (in the window).
    pub ok: u64,
    /// Attempts that failed, timed out or panicked (in the window).
    pub failed: u64,
    /// Deliveries that needed more than one attempt (in the window).
    pub retried: u64,
    /// Deliveries dead-lettered (in the window).
    pub dead: u64,
    pub pending: u64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub p99_ms: Option<i64>,
}

/// One minute of the window.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct MinutePoint {
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub minute: OffsetDateTime,
    /// Events per type in this minute (types with none omitted).
    pub events: Vec<TypeCount>,
    pub failures: u64,
    /// Deliveries not yet finished at the end of this minute.
    pub backlog: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BusStatsOut {
    /// `tenant` or `global`.
    pub scope: String,
    pub window_minutes: u32,
    pub emitted: Vec<TypeCount>,
    pub listeners: Vec<ListenerStats>,
    /// Deliveries pending or running now.
    pub backlog: u64,
    pub oldest_pending_age_seconds: Option<i64>,
    /// Dead deliveries waiting for a retry.
    pub dead: u64,
    pub series: Vec<MinutePoint>,
    /// Per rule: matched, delivered and failed over the window (only for roles that read rules).
    #[serde(default)]
    pub rules: Vec<crate::domain::rules::views::RuleWindowStats>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BusHealthOut {
    pub backlog: u64,
    pub dead: u64,
    pub oldest_pending_age_seconds: Option<i64>,
}
