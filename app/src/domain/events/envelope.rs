//! The versioned envelope every event travels in (ARCHITECTURE.md, "Event envelope").

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::EventType;
use crate::domain::{EventId, TenantId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    User,
    ApiKey,
    System,
    Webhook,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::User => "user",
            ActorType::ApiKey => "api_key",
            ActorType::System => "system",
            ActorType::Webhook => "webhook",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [ActorType::User, ActorType::ApiKey, ActorType::System, ActorType::Webhook].into_iter().find(|a| a.as_str() == raw)
    }
}

/// Where the change came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    Api,
    Webhook,
    Dashboard,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    #[serde(default)]
    pub request_id: Option<String>,
    pub source: EventSource,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl EventMetadata {
    pub fn system() -> Self {
        Self { request_id: None, source: EventSource::System, ip: None, user_agent: None }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope {
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub version: u16,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub tenant_id: Option<TenantId>,
    pub actor: Option<String>,
    pub actor_type: ActorType,
    pub payload: serde_json::Value,
    pub metadata: EventMetadata,
}
