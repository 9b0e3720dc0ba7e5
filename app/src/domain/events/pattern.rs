//! Subscription patterns: an exact name (`payment.captured`), a whole domain (`payment.*`) or
//! everything (`*`). Parsed against the catalog, so a typo is an error, not a silent
//! subscription to nothing.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use super::EventType;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventPattern {
    Exact(EventType),
    Domain(&'static str),
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("`{0}` is not an event type; use a name like payment.captured, a domain like payment.*, or *")]
    UnknownType(String),
    #[error("no event type starts with `{0}.`")]
    UnknownDomain(String),
}

impl EventPattern {
    pub fn parse(raw: &str) -> Result<Self, PatternError> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(EventPattern::All);
        }
        if let Some(domain) = raw.strip_suffix(".*") {
            return EventType::ALL
                .iter()
                .map(|t| t.domain())
                .find(|d| *d == domain)
                .map(EventPattern::Domain)
                .ok_or_else(|| PatternError::UnknownDomain(domain.to_owned()));
        }
        EventType::parse(raw).map(EventPattern::Exact).ok_or_else(|| PatternError::UnknownType(raw.to_owned()))
    }

    pub fn matches(&self, event_type: EventType) -> bool {
        match self {
            EventPattern::Exact(t) => *t == event_type,
            EventPattern::Domain(d) => event_type.domain() == *d,
            EventPattern::All => true,
        }
    }

    /// Every catalog type this pattern matches.
    pub fn expand(&self) -> Vec<EventType> {
        EventType::ALL.iter().copied().filter(|t| self.matches(*t)).collect()
    }
}

/// Whether any of `patterns` matches (an empty list matches nothing).
pub fn any_matches(patterns: &[EventPattern], event_type: EventType) -> bool {
    patterns.iter().any(|p| p.matches(event_type))
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventPattern::Exact(t) => f.write_str(t.name()),
            EventPattern::Domain(d) => write!(f, "{d}.*"),
            EventPattern::All => f.write_str("*"),
        }
    }
}

impl Serialize for EventPattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EventPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        EventPattern::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventType::*;

    #[test]
    fn matching_table() {
        let table: &[(&str, EventType, bool)] = &[
            ("payment.captured", PaymentCaptured, true),
            ("payment.captured", PaymentRefunded, false),
            ("payment.captured", DisputeCreated, false),
            ("payment.*", PaymentCaptured, true),
            ("payment.*", PaymentPartiallyRefunded, true),
            ("payment.*", RefundCreated, false),
            ("payment.*", CheckoutSessionCompleted, false),
            ("refund.*", RefundFailed, true),
            ("refund.*", PaymentRefunded, false),
            ("org.*", OrgMemberJoined, true),
            ("org.*", AuthUserSignedUp, false),
            ("api_key.*", ApiKeyRevoked, true),
            ("*", PaymentCaptured, true),
            ("*", WebhookFailed, true),
            ("*", BusDeliveryDead, true),
        ];
        for (pattern, event_type, expected) in table {
            let parsed = EventPattern::parse(pattern).unwrap();
            assert_eq!(parsed.matches(*event_type), *expected, "{pattern} vs {event_type}");
        }
    }

    #[test]
    fn unknown_names_and_domains_are_rejected() {
        assert_eq!(EventPattern::parse("payment.capture"), Err(PatternError::UnknownType("payment.capture".into())));
        assert_eq!(EventPattern::parse("paymnt.*"), Err(PatternError::UnknownDomain("paymnt".into())));
        assert!(EventPattern::parse("").is_err());
        assert!(EventPattern::parse("payment").is_err());
        assert!(EventPattern::parse("*.captured").is_err());
        assert!(EventPattern::parse("payment.**").is_err());
    }

    #[test]
    fn a_pattern_prints_as_it_was_written() {
        for raw in ["payment.captured", "payment.*", "*"] {
            assert_eq!(EventPattern::parse(raw).unwrap().to_string(), raw);
        }
    }

    #[test]
    fn a_domain_expands_to_exactly_its_types() {
        let expanded = EventPattern::parse("dispute.*").unwrap().expand();
        assert!(expanded.iter().all(|t| t.domain() == "dispute"));
        assert_eq!(expanded.len(), EventType::ALL.iter().filter(|t| t.name().starts_with("dispute.")).count());
    }
}
