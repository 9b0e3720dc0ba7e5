//! `bus-probe`: a listener that records every delivery in the idempotency table and does nothing
//! else. Enabled with `PAYBUS_BUS_PROBE=true` for crash and scale-out tests and smoke checks: the
//! receipts show which deliveries ran, and a redelivery shows up as a receipt that already
//! existed, not as a second row.

use async_trait::async_trait;

use super::{
    listener::{Delivery, Listener, ListenerError},
    receipts,
};
use crate::{domain::events::EventPattern, ssr::db::Db};

pub const NAME: &str = "bus-probe";

pub struct ProbeListener {
    db: Db,
}

impl ProbeListener {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Listener for ProbeListener {
    fn name(&self) -> &'static str {
        NAME
    }

    fn patterns(&self) -> Vec<EventPattern> {
        vec![EventPattern::All]
    }

    async fn handle(&self, delivery: &Delivery) -> Result<(), ListenerError> {
        let first = receipts::record_once(&self.db.pool, NAME, &delivery.id, &delivery.event.id, crate::ssr::time_util::now_ms()).await?;
        if !first {
            tracing::info!(delivery = %delivery.id, "bus-probe: redelivery recognised by its delivery id");
        }
        Ok(())
    }
}
