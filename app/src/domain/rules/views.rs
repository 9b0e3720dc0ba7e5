//! What the API and the dashboard send and show of rules.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

use super::{Evaluation, PatternSpec, TargetSpec};
use crate::domain::events::views::EventOut;

/// A rule to create; `PATCH` takes the same fields, each optional.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Default true; create it disabled to dry-run it first.
    pub enabled: Option<bool>,
    pub pattern: Option<PatternSpec>,
    pub target: Option<TargetSpec>,
    /// `snapshot` (default: the whole envelope) or `thin` (id, type, time, object, essentials).
    pub payload_style: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleOut {
    #[cfg_attr(feature = "ssr", schema(example = "rul_4Fq…"))]
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub pattern: PatternSpec,
    pub target: TargetSpec,
    /// snapshot or thin.
    pub payload_style: String,
    /// `payment.*, refund.created · 2 conditions`.
    pub summary: String,
    /// Events matched in the last 7 days.
    pub matched_7d: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub updated_at: OffsetDateTime,
}

/// `POST /api/v1/rules/test`: a pattern against one event, given whole or by id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleTestIn {
    pub pattern: Option<PatternSpec>,
    /// A sample envelope (`type`, `payload`, and any of `actor_type`, `metadata`, …).
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub event: Option<serde_json::Value>,
    /// Or a stored event of the tenant (`evt_…`).
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleTestOut {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// The event evaluated (the stored one when `event_id` was given).
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub event: serde_json::Value,
}

/// A dry run over the tenant's stored events (and archive).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DryRunIn {
    /// For `POST /api/v1/rules/dry-run` (an unsaved rule); ignored fields of a saved rule.
    pub pattern: Option<PatternSpec>,
    /// Days back from now, 1 to 90 (default 7).
    pub days: Option<u32>,
    /// The `next_cursor` of a previous run, to continue a scan that hit the limit.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DryRunOut {
    pub matched: u64,
    /// Events read (only events whose type the pattern admits are read).
    pub scanned: u64,
    /// The scan stopped at its limit before the window's end; continue with `next_cursor`.
    pub truncated: bool,
    pub next_cursor: Option<String>,
    /// Most recent matches first, at most 20.
    pub samples: Vec<EventOut>,
    pub days: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub to: OffsetDateTime,
    /// The most events one run reads.
    pub scan_limit: u64,
}

/// One day of a rule's counters (UTC).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleDayOut {
    #[cfg_attr(feature = "ssr", schema(example = "2026-03-01"))]
    pub day: String,
    pub matched: u64,
    pub delivered: u64,
    /// Failed attempts (a delivery retried twice and then delivered counts 2 here).
    pub failed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleStatsOut {
    pub rule_id: String,
    pub days: Vec<RuleDayOut>,
    pub matched: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Matches whose target has not succeeded yet (pending or failing).
    pub undelivered: u64,
    /// The most recent errors, newest first.
    pub recent_errors: Vec<RuleErrorOut>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleErrorOut {
    pub event_id: String,
    pub event_type: String,
    pub attempts: u32,
    pub error: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
}

/// A rule's line in the event-bus statistics (over the stats window).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleWindowStats {
    pub rule_id: String,
    pub name: String,
    pub matched: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// One event a rule archived, in the rule's payload style.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ArchivedEventOut {
    pub event_id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub payload_style: String,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub body: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = DateTime))]
    pub archived_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct RuleDeletedOut {
    pub id: String,
    pub deleted: bool,
}
