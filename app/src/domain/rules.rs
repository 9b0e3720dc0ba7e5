//! Rules, EventBridge-like: a tenant's event pattern (type patterns AND field conditions) with a
//! target. Pure code that compiles for wasm too, so the dashboard's editor evaluates a sample
//! event with exactly the matcher the bus runs.
//!
//! ```text
//! types:      payment.captured | payment.* | invoice.payment_* | *          (any one)
//! conditions: { path: "payload.amount", operator: "gte", value: 1000 }        (all of them)
//! ```
//!
//! A rule is evaluated against the event envelope as JSON (`type`, `actor_type`, `payload.…`,
//! `metadata.source`, …). Comparisons are typed: the number `1000` does not equal the string
//! `"1000"`. A `null` counts as absent. When the value at a path is a list, a condition holds when
//! it holds for any element (`anything_but`: for none).

pub mod views;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{events::EventType, webhooks::PayloadStyle};
use crate::error::AppError;

pub const MAX_TYPE_PATTERNS: usize = 20;
pub const MAX_CONDITIONS: usize = 20;
pub const MAX_VALUES: usize = 50;
pub const MAX_PATH_DEPTH: usize = 8;
pub const MAX_DESCRIPTION_LEN: usize = 500;

/// The top-level fields of an envelope a path may start with.
pub const PATH_ROOTS: &[&str] = &["id", "type", "version", "occurred_at", "tenant_id", "actor", "actor_type", "payload", "metadata"];

/// Every operator, as written in a condition.
pub const OPERATORS: &[&str] = &["equals", "anything_but", "prefix", "gt", "gte", "lt", "lte", "between", "numeric", "exists"];

/// A rule that failed to parse, with the field (`pattern.conditions[1].value`) to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    pub code: &'static str,
    pub message: String,
    pub param: String,
}

impl RuleError {
    fn new(code: &'static str, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), param: param.into() }
    }
}

impl From<RuleError> for AppError {
    fn from(e: RuleError) -> Self {
        AppError::invalid(e.code, e.message, Some(&e.param))
    }
}

// ---------------------------------------------------------------------------------------------
// Type patterns

/// One type pattern: an exact catalog name, a name prefix ending in `*` (`payment.*`,
/// `invoice.payment_*`), or `*` for everything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypePattern {
    All,
    Exact(EventType),
    /// The text before the `*`.
    Prefix(String),
}

impl TypePattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("a type pattern must not be empty".into());
        }
        if raw == "*" {
            return Ok(TypePattern::All);
        }
        let (body, wildcard) = match raw.strip_suffix('*') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        if body.contains('*') {
            return Err(format!("`{raw}`: a * may only end a pattern (payment.*, invoice.payment_*)"));
        }
        if !body.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_') {
            return Err(format!("`{raw}`: event types are lowercase letters, digits, dots and underscores"));
        }
        if !wildcard {
            return EventType::parse(body)
                .map(TypePattern::Exact)
                .ok_or_else(|| format!("`{raw}` is not an event type; use a name like payment.captured, a prefix like payment.* or invoice.payment_*, or *"));
        }
        if body.is_empty() || body.starts_with('.') || body.contains("..") {
            return Err(format!("`{raw}` is not a well-formed wildcard; use a prefix like payment.* or invoice.payment_*"));
        }
        if !EventType::ALL.iter().any(|t| t.name().starts_with(body)) {
            return Err(format!("`{raw}` matches no event type: none starts with `{body}`"));
        }
        Ok(TypePattern::Prefix(body.to_owned()))
    }

    pub fn matches_name(&self, name: &str) -> bool {
        match self {
            TypePattern::All => true,
            TypePattern::Exact(t) => t.name() == name,
            TypePattern::Prefix(p) => name.starts_with(p.as_str()),
        }
    }

    pub fn matches(&self, t: EventType) -> bool {
        self.matches_name(t.name())
    }

    /// Every catalog type this pattern matches.
    pub fn expand(&self) -> Vec<EventType> {
        EventType::ALL.iter().copied().filter(|t| self.matches(*t)).collect()
    }
}

impl fmt::Display for TypePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypePattern::All => f.write_str("*"),
            TypePattern::Exact(t) => f.write_str(t.name()),
            TypePattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conditions

/// A value a condition compares with.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Str(String),
    Num(f64),
    Bool(bool),
}

impl Scalar {
    fn from_json(v: &Value) -> Option<Scalar> {
        match v {
            Value::String(s) => Some(Scalar::Str(s.clone())),
            Value::Number(n) => n.as_f64().map(Scalar::Num),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            _ => None,
        }
    }

    fn equals(&self, actual: &Value) -> bool {
        match (self, actual) {
            (Scalar::Str(s), Value::String(a)) => s == a,
            (Scalar::Num(n), Value::Number(a)) => a.as_f64() == Some(*n),
            (Scalar::Bool(b), Value::Bool(a)) => b == a,
            _ => false,
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Num(n) => f.write_str(&fmt_num(*n)),
            Scalar::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn holds(self, actual: f64, bound: f64) -> bool {
        match self {
            Cmp::Gt => actual > bound,
            Cmp::Gte => actual >= bound,
            Cmp::Lt => actual < bound,
            Cmp::Lte => actual <= bound,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Gte => "≥",
            Cmp::Lt => "<",
            Cmp::Lte => "≤",
        }
    }

    fn parse_symbol(raw: &str) -> Option<Cmp> {
        match raw {
            ">" => Some(Cmp::Gt),
            ">=" => Some(Cmp::Gte),
            "<" => Some(Cmp::Lt),
            "<=" => Some(Cmp::Lte),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Equal to any of these (one value or a list).
    Equals(Vec<Scalar>),
    /// Present and equal to none of these.
    AnythingBut(Vec<Scalar>),
    /// A string starting with this.
    Prefix(String),
    /// A number within every bound (`gte 100` and `lt 500` is a range).
    Numeric(Vec<(Cmp, f64)>),
    /// Present (and not null), or absent.
    Exists(bool),
}

/// One field condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub path: String,
    segments: Vec<String>,
    pub operator: String,
    pub op: Op,
}

/// A condition as written (the API's and the stored shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConditionSpec {
    /// Dotted path into the envelope: `payload.amount`, `payload.currency`, `actor_type`, `metadata.source`.
    pub path: String,
    /// equals, anything_but, prefix, gt, gte, lt, lte, between, numeric, exists.
    pub operator: String,
    /// equals / anything_but: a string, number or boolean, or a list of them (any of);
    /// prefix: a string; gt, gte, lt, lte: a number; between: `[low, high]` (inclusive);
    /// numeric: `[">=", 100, "<", 500]`; exists: true or false.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub value: Value,
}

/// A rule's pattern as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PatternSpec {
    /// Type patterns, any of which must match: `payment.captured`, `payment.*`, `invoice.payment_*`, `*`.
    #[serde(default)]
    pub types: Vec<String>,
    /// Field conditions, all of which must hold.
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
}

fn parse_path(raw: &str, param: &str) -> Result<Vec<String>, RuleError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(RuleError::new("rule_path_invalid", param, "a condition needs a path like payload.amount"));
    }
    let segments: Vec<String> = raw.split('.').map(str::to_owned).collect();
    if segments.len() > MAX_PATH_DEPTH {
        return Err(RuleError::new("rule_path_invalid", param, format!("`{raw}` is deeper than {MAX_PATH_DEPTH} levels")));
    }
    if segments.iter().any(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')) {
        return Err(RuleError::new(
            "rule_path_invalid",
            param,
            format!("`{raw}` is not a dotted path; segments are letters, digits, _ and - (payload.amount, metadata.source)"),
        ));
    }
    if !PATH_ROOTS.contains(&segments[0].as_str()) {
        return Err(RuleError::new(
            "rule_path_invalid",
            param,
            format!("`{raw}` must start with one of the envelope's fields: {}", PATH_ROOTS.join(", ")),
        ));
    }
    Ok(segments)
}

fn number(v: &Value, param: &str, op: &str) -> Result<f64, RuleError> {
    v.as_f64().ok_or_else(|| RuleError::new("rule_value_invalid", param, format!("`{op}` compares with a number, not {}", describe(v))))
}

fn scalars(v: &Value, param: &str, op: &str) -> Result<Vec<Scalar>, RuleError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return Err(RuleError::new("rule_value_invalid", param, format!("`{op}` needs at least one value")));
    }
    if items.len() > MAX_VALUES {
        return Err(RuleError::new("rule_value_invalid", param, format!("`{op}` takes at most {MAX_VALUES} values")));
    }
    items
        .into_iter()
        .map(|i| {
            Scalar::from_json(i).ok_or_else(|| {
                RuleError::new("rule_value_invalid", param, format!("`{op}` takes strings, numbers or booleans (or a list of them), not {}", describe(i)))
            })
        })
        .collect()
}

impl Condition {
    pub fn parse(spec: &ConditionSpec, param: &str) -> Result<Self, RuleError> {
        let segments = parse_path(&spec.path, &format!("{param}.path"))?;
        let vparam = format!("{param}.value");
        let operator = spec.operator.trim().to_owned();
        let v = &spec.value;
        let op = match operator.as_str() {
            "equals" => Op::Equals(scalars(v, &vparam, "equals")?),
            "anything_but" => Op::AnythingBut(scalars(v, &vparam, "anything_but")?),
            "prefix" => match v {
                Value::String(s) if !s.is_empty() => Op::Prefix(s.clone()),
                other => return Err(RuleError::new("rule_value_invalid", vparam, format!("`prefix` takes a non-empty string, not {}", describe(other)))),
            },
            "gt" => Op::Numeric(vec![(Cmp::Gt, number(v, &vparam, "gt")?)]),
            "gte" => Op::Numeric(vec![(Cmp::Gte, number(v, &vparam, "gte")?)]),
            "lt" => Op::Numeric(vec![(Cmp::Lt, number(v, &vparam, "lt")?)]),
            "lte" => Op::Numeric(vec![(Cmp::Lte, number(v, &vparam, "lte")?)]),
            "between" => {
                let pair = v.as_array().filter(|a| a.len() == 2);
                let Some(pair) = pair else {
                    return Err(RuleError::new("rule_value_invalid", vparam, "`between` takes [low, high] (both included)"));
                };
                let (lo, hi) = (number(&pair[0], &vparam, "between")?, number(&pair[1], &vparam, "between")?);
                if lo > hi {
                    return Err(RuleError::new("rule_value_invalid", vparam, "`between`: low must not exceed high"));
                }
                Op::Numeric(vec![(Cmp::Gte, lo), (Cmp::Lte, hi)])
            }
            "numeric" => {
                let items = v.as_array().filter(|a| !a.is_empty() && a.len() % 2 == 0 && a.len() <= 4);
                let Some(items) = items else {
                    return Err(RuleError::new("rule_value_invalid", vparam, "`numeric` takes one or two [operator, number] pairs, e.g. [\">=\", 100, \"<\", 500]"));
                };
                let mut bounds = Vec::new();
                for pair in items.chunks(2) {
                    let cmp = pair[0].as_str().and_then(Cmp::parse_symbol).ok_or_else(|| {
                        RuleError::new("rule_value_invalid", vparam.clone(), format!("`numeric`: {} is not one of >, >=, <, <=", describe(&pair[0])))
                    })?;
                    bounds.push((cmp, number(&pair[1], &vparam, "numeric")?));
                }
                Op::Numeric(bounds)
            }
            "exists" => match v {
                Value::Bool(b) => Op::Exists(*b),
                other => return Err(RuleError::new("rule_value_invalid", vparam, format!("`exists` takes true or false, not {}", describe(other)))),
            },
            other => {
                return Err(RuleError::new(
                    "rule_operator_invalid",
                    format!("{param}.operator"),
                    format!("`{other}` is not an operator; use one of {}", OPERATORS.join(", ")),
                ))
            }
        };
        Ok(Self { path: spec.path.trim().to_owned(), segments, operator, op })
    }

    /// The value at this condition's path, if present and not null.
    pub fn lookup<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        let mut cur = event;
        for seg in &self.segments {
            cur = match cur {
                Value::Object(m) => m.get(seg)?,
                Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        (!cur.is_null()).then_some(cur)
    }

    fn holds_on(&self, actual: &Value) -> bool {
        if let Value::Array(items) = actual {
            return match &self.op {
                Op::AnythingBut(_) => !items.is_empty() && items.iter().all(|i| self.holds_on(i)),
                _ => items.iter().any(|i| self.holds_on(i)),
            };
        }
        match &self.op {
            Op::Equals(vals) => vals.iter().any(|v| v.equals(actual)),
            Op::AnythingBut(vals) => !vals.iter().any(|v| v.equals(actual)),
            Op::Prefix(p) => actual.as_str().is_some_and(|s| s.starts_with(p.as_str())),
            Op::Numeric(bounds) => actual.is_number() && actual.as_f64().is_some_and(|n| bounds.iter().all(|(c, b)| c.holds(n, *b))),
            Op::Exists(want) => *want,
        }
    }

    /// Whether the condition holds on `event` (the envelope as JSON).
    pub fn holds(&self, event: &Value) -> bool {
        match (self.lookup(event), &self.op) {
            (None, Op::Exists(want)) => !*want,
            (None, _) => false,
            (Some(actual), _) => self.holds_on(actual),
        }
    }

    fn expected(&self) -> String {
        let list = |vals: &[Scalar]| vals.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ");
        match &self.op {
            Op::Equals(v) if v.len() == 1 => format!("equal to {}", list(v)),
            Op::Equals(v) => format!("one of {}", list(v)),
            Op::AnythingBut(v) => format!("anything but {}", list(v)),
            Op::Prefix(p) => format!("a string starting with {p:?}"),
            Op::Numeric(b) => b.iter().map(|(c, n)| format!("{} {}", c.symbol(), fmt_num(*n))).collect::<Vec<_>>().join(" and "),
            Op::Exists(true) => "present".into(),
            Op::Exists(false) => "absent".into(),
        }
    }

    /// Whether it holds, and why, in a sentence.
    pub fn explain(&self, event: &Value) -> ConditionResult {
        let actual = self.lookup(event).cloned();
        let passed = self.holds(event);
        let reason = match (&actual, &self.op, passed) {
            (None, Op::Exists(false), true) => format!("`{}` is absent", self.path),
            (None, Op::Exists(true), _) => format!("`{}` is missing, expected it to be present", self.path),
            (None, _, _) => format!("`{}` is missing, expected {}", self.path, self.expected()),
            (Some(_), Op::Exists(true), _) => format!("`{}` is present", self.path),
            (Some(a), Op::Exists(false), _) => format!("`{}` is {}, expected it to be absent", self.path, describe(a)),
            (Some(a), _, true) => format!("`{}` is {}: {}", self.path, describe(a), self.expected()),
            (Some(a), _, false) => format!("`{}` is {}, expected {}", self.path, describe(a), self.expected()),
        };
        ConditionResult { path: self.path.clone(), operator: self.operator.clone(), passed, actual, reason }
    }
}

/// A JSON value in words, for reasons: `the string "1000"`, `1500`, `a list of 3`.
fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.as_f64().map(fmt_num).unwrap_or_else(|| n.to_string()),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(a) => format!("a list of {}", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns

/// A parsed pattern: any type pattern, and every condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub types: Vec<TypePattern>,
    pub conditions: Vec<Condition>,
}

/// How a sample event fared against a pattern, condition by condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Evaluation {
    pub matched: bool,
    pub type_matched: bool,
    /// Which type pattern matched, or why none did.
    pub type_reason: String,
    pub conditions: Vec<ConditionResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConditionResult {
    pub path: String,
    pub operator: String,
    pub passed: bool,
    /// The value found at the path (absent when missing or null).
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub actual: Option<Value>,
    pub reason: String,
}

impl Pattern {
    /// Parses a written pattern; `param` prefixes the field names in errors (`pattern`).
    pub fn parse(spec: &PatternSpec, param: &str) -> Result<Self, RuleError> {
        if spec.types.is_empty() {
            return Err(RuleError::new("rule_pattern_invalid", format!("{param}.types"), "a rule needs at least one type pattern (use * for every event)"));
        }
        if spec.types.len() > MAX_TYPE_PATTERNS {
            return Err(RuleError::new("rule_pattern_invalid", format!("{param}.types"), format!("at most {MAX_TYPE_PATTERNS} type patterns")));
        }
        if spec.conditions.len() > MAX_CONDITIONS {
            return Err(RuleError::new("rule_pattern_invalid", format!("{param}.conditions"), format!("at most {MAX_CONDITIONS} conditions")));
        }
        let types = spec
            .types
            .iter()
            .enumerate()
            .map(|(i, raw)| TypePattern::parse(raw).map_err(|m| RuleError::new("rule_pattern_invalid", format!("{param}.types[{i}]"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let conditions = spec
            .conditions
            .iter()
            .enumerate()
            .map(|(i, c)| Condition::parse(c, &format!("{param}.conditions[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { types, conditions })
    }

    pub fn type_matches(&self, event_type: &str) -> bool {
        self.types.iter().any(|t| t.matches_name(event_type))
    }

    /// Every catalog type the type patterns admit (to narrow a scan by type).
    pub fn expand_types(&self) -> Vec<EventType> {
        EventType::ALL.iter().copied().filter(|t| self.type_matches(t.name())).collect()
    }

    /// Whether `event` (an envelope as JSON) matches: fast path, stops at the first failure.
    pub fn matches(&self, event: &Value) -> bool {
        let event_type = event.get("type").and_then(Value::as_str).unwrap_or_default();
        self.type_matches(event_type) && self.conditions.iter().all(|c| c.holds(event))
    }

    /// Whether `event` matches, with every condition's verdict (none skipped).
    pub fn evaluate(&self, event: &Value) -> Evaluation {
        let event_type = event.get("type").and_then(Value::as_str);
        let hit = event_type.and_then(|t| self.types.iter().find(|p| p.matches_name(t)));
        let type_reason = match (event_type, hit) {
            (None, _) => "the event has no `type`".to_owned(),
            (Some(t), Some(p)) => format!("`{t}` matches `{p}`"),
            (Some(t), None) => {
                format!("`{t}` matches none of {}", self.types.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", "))
            }
        };
        let conditions: Vec<ConditionResult> = self.conditions.iter().map(|c| c.explain(event)).collect();
        let type_matched = hit.is_some();
        Evaluation { matched: type_matched && conditions.iter().all(|c| c.passed), type_matched, type_reason, conditions }
    }

    /// A one-line summary for lists: `payment.*, refund.created · 2 conditions`.
    pub fn summary(spec: &PatternSpec) -> String {
        let mut s = spec.types.join(", ");
        match spec.conditions.len() {
            0 => {}
            1 => s.push_str(" · 1 condition"),
            n => s.push_str(&format!(" · {n} conditions")),
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Targets

/// Where a matching event goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An outbound webhook endpoint (`we_…`) of the same tenant.
    WebhookEndpoint(String),
    /// A plugin by name, with the tenant's configuration for it.
    Plugin(String),
    /// The rule's own archive (`GET /api/v1/rules/{id}/archive`).
    Archive,
}

/// A target as written: `{"type": "webhook_endpoint", "endpoint_id": "we_…"}`,
/// `{"type": "plugin", "plugin": "slack"}`, `{"type": "archive"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TargetSpec {
    /// webhook_endpoint, plugin or archive.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

impl Target {
    pub fn parse(spec: &TargetSpec) -> Result<Self, RuleError> {
        let needs = |v: &Option<String>, field: &str, kind: &str| -> Result<String, RuleError> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| RuleError::new("parameter_missing", format!("target.{field}"), format!("a {kind} target needs `{field}`")))
        };
        let stray = |v: &Option<String>, field: &str| -> Result<(), RuleError> {
            match v {
                Some(_) => Err(RuleError::new("parameter_unknown", format!("target.{field}"), format!("`{field}` does not belong to a {} target", spec.kind))),
                None => Ok(()),
            }
        };
        match spec.kind.trim() {
            "webhook_endpoint" => {
                stray(&spec.plugin, "plugin")?;
                Ok(Target::WebhookEndpoint(needs(&spec.endpoint_id, "endpoint_id", "webhook_endpoint")?))
            }
            "plugin" => {
                stray(&spec.endpoint_id, "endpoint_id")?;
                Ok(Target::Plugin(needs(&spec.plugin, "plugin", "plugin")?))
            }
            "archive" => {
                stray(&spec.endpoint_id, "endpoint_id")?;
                stray(&spec.plugin, "plugin")?;
                Ok(Target::Archive)
            }
            "" => Err(RuleError::new("parameter_missing", "target.type", "a rule needs a target: webhook_endpoint, plugin or archive")),
            other => Err(RuleError::new("rule_target_invalid", "target.type", format!("`{other}` is not a target; use webhook_endpoint, plugin or archive"))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Target::WebhookEndpoint(_) => "webhook_endpoint",
            Target::Plugin(_) => "plugin",
            Target::Archive => "archive",
        }
    }

    /// The endpoint id or plugin name.
    pub fn reference(&self) -> Option<&str> {
        match self {
            Target::WebhookEndpoint(id) | Target::Plugin(id) => Some(id),
            Target::Archive => None,
        }
    }

    pub fn from_stored(kind: &str, reference: Option<&str>) -> Option<Self> {
        match (kind, reference) {
            ("webhook_endpoint", Some(r)) => Some(Target::WebhookEndpoint(r.to_owned())),
            ("plugin", Some(r)) => Some(Target::Plugin(r.to_owned())),
            ("archive", _) => Some(Target::Archive),
            _ => None,
        }
    }

    pub fn spec(&self) -> TargetSpec {
        match self {
            Target::WebhookEndpoint(id) => TargetSpec { kind: "webhook_endpoint".into(), endpoint_id: Some(id.clone()), plugin: None },
            Target::Plugin(p) => TargetSpec { kind: "plugin".into(), endpoint_id: None, plugin: Some(p.clone()) },
            Target::Archive => TargetSpec { kind: "archive".into(), endpoint_id: None, plugin: None },
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::WebhookEndpoint(id) => write!(f, "endpoint {id}"),
            Target::Plugin(p) => write!(f, "plugin {p}"),
            Target::Archive => f.write_str("archive"),
        }
    }
}

/// Parses a payload style; plugins always receive the whole event.
pub fn parse_payload_style(raw: Option<&str>, target: &Target) -> Result<PayloadStyle, RuleError> {
    let style = match raw.map(str::trim) {
        None | Some("") => PayloadStyle::Snapshot,
        Some(s) => PayloadStyle::parse(s)
            .ok_or_else(|| RuleError::new("parameter_invalid", "payload_style", format!("`{s}` is not a payload style; use snapshot or thin")))?,
    };
    if style == PayloadStyle::Thin && matches!(target, Target::Plugin(_)) {
        return Err(RuleError::new(
            "parameter_invalid",
            "payload_style",
            "a plugin receives the whole event; thin applies to webhook_endpoint and archive targets",
        ));
    }
    Ok(style)
}

/// Checks a description: at most 500 characters, no control characters but newlines.
pub fn parse_description(raw: Option<&str>) -> Result<String, RuleError> {
    let d = raw.unwrap_or_default().trim();
    if d.chars().count() > MAX_DESCRIPTION_LEN || d.chars().any(|c| c.is_control() && c != '\n') {
        return Err(RuleError::new("parameter_invalid", "description", format!("description must be at most {MAX_DESCRIPTION_LEN} printable characters")));
    }
    Ok(d.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(path: &str, operator: &str, value: Value) -> ConditionSpec {
        ConditionSpec { path: path.into(), operator: operator.into(), value }
    }

    fn pattern(types: &[&str], conditions: Vec<ConditionSpec>) -> Pattern {
        Pattern::parse(&PatternSpec { types: types.iter().map(|s| s.to_string()).collect(), conditions }, "pattern").unwrap()
    }

    fn event(t: &str, payload: Value) -> Value {
        json!({
            "id": "evt_1", "type": t, "version": 1, "occurred_at": "2026-03-01T10:00:00Z", "tenant_id": "ten_1",
            "actor": "usr_1", "actor_type": "user", "payload": payload,
            "metadata": {"request_id": "req_1", "source": "api", "ip": null, "user_agent": null},
        })
    }

    fn payment() -> Value {
        event(
            "payment.captured",
            json!({"payment_id": "pay_1", "stripe_id": "pi_123", "amount": 1000, "amount_captured": 1000, "amount_refunded": 0,
                   "currency": "usd", "status": "succeeded", "customer_email": null, "connected_account": "acct_9",
                   "tags": ["vip", "eu"], "ratio": 0.5}),
        )
    }

    #[test]
    fn type_pattern_table() {
        let table: &[(&str, &str, bool)] = &[
            ("payment.captured", "payment.captured", true),
            ("payment.captured", "payment.captured_late", false),
            ("payment.captured", "payment.refunded", false),
            ("payment.*", "payment.captured", true),
            ("payment.*", "payment.partially_refunded", true),
            ("payment.*", "refund.created", false),
            ("payment.*", "payout.paid", false),
            ("invoice.payment_*", "invoice.payment_failed", true),
            ("invoice.payment_*", "invoice.paid", false),
            ("invoice.payment_*", "payment.failed", false),
            ("invoice.*", "invoice.paid", true),
            ("pay*", "payout.paid", true),
            ("pay*", "payment.failed", true),
            ("pay*", "refund.failed", false),
            ("*", "payment.captured", true),
            ("*", "bus.delivery_dead", true),
        ];
        for (raw, name, expected) in table {
            let p = TypePattern::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(p.matches_name(name), *expected, "{raw} vs {name}");
            assert_eq!(p.to_string(), *raw, "prints as written");
        }
    }

    #[test]
    fn bad_type_patterns_are_refused_with_a_reason() {
        let table: &[(&str, &str)] = &[
            ("", "empty"),
            ("payment.capture", "not an event type"),
            ("paymnt.*", "matches no event type"),
            ("invoice.pay_*", "matches no event type"),
            ("*.captured", "may only end"),
            ("payment.**", "may only end"),
            ("pay*ment", "may only end"),
            (".*", "well-formed"),
            ("Payment.*", "lowercase"),
            ("payment captured", "lowercase"),
        ];
        for (raw, needle) in table {
            let err = TypePattern::parse(raw).unwrap_err();
            assert!(err.contains(needle), "{raw:?}: {err}");
        }
    }

    #[test]
    fn a_pattern_needs_types_and_names_the_bad_one() {
        let err = Pattern::parse(&PatternSpec::default(), "pattern").unwrap_err();
        assert_eq!(err.param, "pattern.types");
        let spec = PatternSpec { types: vec!["payment.*".into(), "nope".into()], conditions: vec![] };
        assert_eq!(Pattern::parse(&spec, "pattern").unwrap_err().param, "pattern.types[1]");
    }

    /// Each operator at the edge where it stops holding.
    #[test]
    fn condition_table() {
        let e = payment();
        let table: Vec<(&str, &str, Value, bool)> = vec![
            // equals: typed, any-of
            ("payload.currency", "equals", json!("usd"), true),
            ("payload.currency", "equals", json!("USD"), false),
            ("payload.currency", "equals", json!(["eur", "usd"]), true),
            ("payload.currency", "equals", json!(["eur", "gbp"]), false),
            ("payload.amount", "equals", json!(1000), true),
            ("payload.amount", "equals", json!(1000.0), true),
            ("payload.amount", "equals", json!("1000"), false),
            ("payload.status", "equals", json!(1000), false),
            ("payload.ratio", "equals", json!(0.5), true),
            ("actor_type", "equals", json!("user"), true),
            ("metadata.source", "equals", json!("api"), true),
            ("metadata.source", "equals", json!("webhook"), false),
            ("payload.tags", "equals", json!("vip"), true),
            ("payload.tags", "equals", json!("us"), false),
            ("payload.missing", "equals", json!("x"), false),
            ("payload.customer_email", "equals", json!("a@b.c"), false),
            // anything_but
            ("payload.currency", "anything_but", json!("eur"), true),
            ("payload.currency", "anything_but", json!(["eur", "usd"]), false),
            ("payload.missing", "anything_but", json!("x"), false),
            ("payload.tags", "anything_but", json!("us"), true),
            ("payload.tags", "anything_but", json!("eu"), false),
            // prefix
            ("payload.stripe_id", "prefix", json!("pi_"), true),
            ("payload.stripe_id", "prefix", json!("pi_123"), true),
            ("payload.stripe_id", "prefix", json!("pi_1234"), false),
            ("payload.stripe_id", "prefix", json!("ch_"), false),
            ("payload.amount", "prefix", json!("10"), false),
            ("payload.missing", "prefix", json!("x"), false),
            // numeric, at the edge
            ("payload.amount", "gte", json!(1000), true),
            ("payload.amount", "gte", json!(1001), false),
            ("payload.amount", "gt", json!(1000), false),
            ("payload.amount", "gt", json!(999), true),
            ("payload.amount", "lte", json!(1000), true),
            ("payload.amount", "lte", json!(999), false),
            ("payload.amount", "lt", json!(1000), false),
            ("payload.amount", "lt", json!(1001), true),
            ("payload.amount", "between", json!([1000, 2000]), true),
            ("payload.amount", "between", json!([0, 1000]), true),
            ("payload.amount", "between", json!([1001, 2000]), false),
            ("payload.amount", "numeric", json!([">", 500, "<=", 1000]), true),
            ("payload.amount", "numeric", json!([">", 500, "<", 1000]), false),
            ("payload.currency", "gte", json!(0), false),
            ("payload.missing", "lt", json!(10), false),
            ("payload.ratio", "lt", json!(1), true),
            // exists; null counts as absent
            ("payload.connected_account", "exists", json!(true), true),
            ("payload.connected_account", "exists", json!(false), false),
            ("payload.customer_email", "exists", json!(true), false),
            ("payload.customer_email", "exists", json!(false), true),
            ("payload.missing", "exists", json!(false), true),
            ("payload.missing", "exists", json!(true), false),
            ("payload.amount.deeper", "exists", json!(true), false),
            // list indices
            ("payload.tags.0", "equals", json!("vip"), true),
            ("payload.tags.5", "exists", json!(true), false),
        ];
        for (path, op, value, expected) in table {
            let c = Condition::parse(&cond(path, op, value.clone()), "c").unwrap_or_else(|e| panic!("{path} {op} {value}: {e}"));
            assert_eq!(c.holds(&e), expected, "{path} {op} {value}");
            let explained = c.explain(&e);
            assert_eq!(explained.passed, expected, "explain agrees: {path} {op} {value}");
            assert!(explained.reason.contains(path), "{}", explained.reason);
        }
    }

    #[test]
    fn bad_conditions_are_refused_naming_the_field() {
        let table: Vec<(ConditionSpec, &str, &str)> = vec![
            (cond("payload.amount", "greater", json!(1)), "c.operator", "rule_operator_invalid"),
            (cond("", "equals", json!(1)), "c.path", "rule_path_invalid"),
            (cond("amount", "equals", json!(1)), "c.path", "rule_path_invalid"),
            (cond("payload..amount", "equals", json!(1)), "c.path", "rule_path_invalid"),
            (cond("payload.a b", "equals", json!(1)), "c.path", "rule_path_invalid"),
            (cond("payload.amount", "gte", json!("1000")), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "equals", json!(null)), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "equals", json!([])), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "equals", json!({"a": 1})), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "prefix", json!("")), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "between", json!([5, 1])), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "between", json!([5])), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "numeric", json!(["=>", 5])), "c.value", "rule_value_invalid"),
            (cond("payload.amount", "exists", json!("yes")), "c.value", "rule_value_invalid"),
        ];
        for (spec, param, code) in table {
            let err = Condition::parse(&spec, "c").unwrap_err();
            assert_eq!((err.param.as_str(), err.code), (param, code), "{spec:?}: {}", err.message);
        }
    }

    #[test]
    fn all_conditions_must_hold_and_the_evaluation_says_which_failed() {
        let p = pattern(
            &["refund.*", "payment.*"],
            vec![cond("payload.amount", "gte", json!(500)), cond("payload.currency", "equals", json!("eur")), cond("metadata.source", "equals", json!("api"))],
        );
        let e = payment();
        assert!(!p.matches(&e));
        let ev = p.evaluate(&e);
        assert!(!ev.matched && ev.type_matched);
        assert_eq!(ev.type_reason, "`payment.captured` matches `payment.*`");
        assert_eq!(ev.conditions.iter().map(|c| c.passed).collect::<Vec<_>>(), vec![true, false, true]);
        assert_eq!(ev.conditions[1].reason, "`payload.currency` is the string \"usd\", expected equal to \"eur\"");
        assert_eq!(ev.conditions[1].actual, Some(json!("usd")));

        let ok = pattern(&["payment.*"], vec![cond("payload.amount", "gte", json!(500)), cond("payload.currency", "equals", json!("usd"))]);
        assert!(ok.matches(&e) && ok.evaluate(&e).matched);

        let other_type = pattern(&["refund.*", "dispute.created"], vec![]);
        let ev = other_type.evaluate(&e);
        assert!(!ev.matched && !ev.type_matched);
        assert_eq!(ev.type_reason, "`payment.captured` matches none of `refund.*`, `dispute.created`");
    }

    #[test]
    fn a_pattern_with_no_conditions_matches_on_type_alone() {
        assert!(pattern(&["*"], vec![]).matches(&payment()));
        assert!(!pattern(&["payment.captured"], vec![]).matches(&event("payment.refunded", json!({}))));
    }

    #[test]
    fn a_pattern_expands_to_catalog_types() {
        let p = pattern(&["invoice.payment_*", "payment.captured"], vec![]);
        assert_eq!(p.expand_types(), vec![EventType::PaymentCaptured, EventType::InvoicePaymentFailed]);
    }

    #[test]
    fn targets_parse_with_their_reference_and_refuse_strays() {
        let t = |kind: &str, e: Option<&str>, p: Option<&str>| TargetSpec { kind: kind.into(), endpoint_id: e.map(Into::into), plugin: p.map(Into::into) };
        assert_eq!(Target::parse(&t("archive", None, None)), Ok(Target::Archive));
        assert_eq!(Target::parse(&t("plugin", None, Some("slack"))), Ok(Target::Plugin("slack".into())));
        assert_eq!(Target::parse(&t("webhook_endpoint", Some("we_1"), None)), Ok(Target::WebhookEndpoint("we_1".into())));
        assert_eq!(Target::parse(&t("webhook_endpoint", None, None)).unwrap_err().param, "target.endpoint_id");
        assert_eq!(Target::parse(&t("plugin", Some("we_1"), Some("x"))).unwrap_err().param, "target.endpoint_id");
        assert_eq!(Target::parse(&t("email", None, None)).unwrap_err().param, "target.type");
        assert_eq!(Target::parse(&t("", None, None)).unwrap_err().param, "target.type");
        for target in [Target::Archive, Target::Plugin("x".into()), Target::WebhookEndpoint("we_1".into())] {
            assert_eq!(Target::from_stored(target.kind(), target.reference()), Some(target.clone()));
            assert_eq!(Target::parse(&target.spec()), Ok(target));
        }
    }

    #[test]
    fn thin_is_refused_for_plugins() {
        assert_eq!(parse_payload_style(Some("thin"), &Target::Archive), Ok(PayloadStyle::Thin));
        assert_eq!(parse_payload_style(None, &Target::Archive), Ok(PayloadStyle::Snapshot));
        assert_eq!(parse_payload_style(Some("thin"), &Target::Plugin("x".into())).unwrap_err().param, "payload_style");
        assert_eq!(parse_payload_style(Some("fat"), &Target::Archive).unwrap_err().param, "payload_style");
    }

    #[test]
    fn an_envelope_serialises_to_the_shape_paths_address() {
        use crate::domain::{events::*, EventId, PrefixedId};
        let env = EventEnvelope {
            id: EventId::parse("evt_1").unwrap(),
            event_type: EventType::PaymentCaptured,
            version: 1,
            occurred_at: time::macros::datetime!(2026-03-01 10:00 UTC),
            tenant_id: None,
            actor: None,
            actor_type: ActorType::Webhook,
            payload: json!({"amount": 5}),
            metadata: EventMetadata { request_id: None, source: EventSource::Webhook, ip: None, user_agent: None },
        };
        let doc = serde_json::to_value(&env).unwrap();
        let p = pattern(&["payment.captured"], vec![cond("actor_type", "equals", json!("webhook")), cond("metadata.source", "equals", json!("webhook")), cond("payload.amount", "lt", json!(6))]);
        assert!(p.matches(&doc), "{doc}");
    }
}
