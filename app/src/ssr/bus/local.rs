//! The in-memory bus: routes an event to in-process subscribers through bounded channels, one
//! task per subscriber. Nothing here is durable — the dispatcher feeds it events that are already
//! committed (live counters, the dashboard's live view); durable work goes through deliveries.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
};

use tokio::sync::mpsc;

use crate::domain::events::{EventEnvelope, EventPattern, EventType};

type Handler = Box<dyn FnMut(&EventEnvelope) + Send + 'static>;

pub struct LocalBusBuilder {
    subscribers: Vec<(Vec<EventPattern>, Handler)>,
    capacity: usize,
}

impl LocalBusBuilder {
    pub fn new(capacity: usize) -> Self {
        Self { subscribers: Vec::new(), capacity }
    }

    pub fn subscribe(mut self, patterns: Vec<EventPattern>, handler: impl FnMut(&EventEnvelope) + Send + 'static) -> Self {
        self.subscribers.push((patterns, Box::new(handler)));
        self
    }

    /// Spawns one task per subscriber; each ends when the bus is dropped and its queue drained.
    pub fn start(self) -> LocalBus {
        let mut routes = vec![Vec::new(); EventType::ALL.len()];
        let mut lanes = Vec::with_capacity(self.subscribers.len());
        for (index, (patterns, mut handler)) in self.subscribers.into_iter().enumerate() {
            for event_type in EventType::ALL {
                if patterns.iter().any(|p| p.matches(*event_type)) {
                    routes[event_type.index()].push(index);
                }
            }
            let (tx, mut rx) = mpsc::channel::<Arc<EventEnvelope>>(self.capacity);
            lanes.push(tx);
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    // A panicking subscriber loses this event, not its lane or anyone else's.
                    if catch_unwind(AssertUnwindSafe(|| handler(&event))).is_err() {
                        tracing::error!(event = %event.id, "in-process subscriber panicked");
                    }
                }
            });
        }
        LocalBus { routes, lanes }
    }
}

pub struct LocalBus {
    routes: Vec<Vec<usize>>,
    lanes: Vec<mpsc::Sender<Arc<EventEnvelope>>>,
}

impl LocalBus {
    /// Hands the event to every matching subscriber, waiting while a subscriber's queue is full
    /// (backpressure, never an unbounded buffer).
    pub async fn publish(&self, event: Arc<EventEnvelope>) {
        for &lane in &self.routes[event.event_type.index()] {
            // A closed lane means its subscriber task is gone (runtime shutdown): nothing to do.
            let _ = self.lanes[lane].send(event.clone()).await;
        }
    }

    pub fn subscriber_count(&self) -> usize {
        self.lanes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        events::{ActorType, EventMetadata},
        EventId, PrefixedId,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn event(event_type: EventType) -> Arc<EventEnvelope> {
        Arc::new(EventEnvelope {
            id: EventId::parse("evt_test").unwrap(),
            event_type,
            version: 1,
            occurred_at: time::OffsetDateTime::UNIX_EPOCH,
            tenant_id: None,
            actor: None,
            actor_type: ActorType::System,
            payload: serde_json::Value::Null,
            metadata: EventMetadata::system(),
        })
    }

    #[tokio::test]
    async fn events_reach_matching_subscribers_only_and_a_panic_stays_in_its_lane() {
        let payments = Arc::new(AtomicUsize::new(0));
        let all = Arc::new(AtomicUsize::new(0));
        let (p, a) = (payments.clone(), all.clone());
        let bus = LocalBusBuilder::new(16)
            .subscribe(vec![EventPattern::parse("payment.*").unwrap()], move |_| {
                p.fetch_add(1, Ordering::SeqCst);
            })
            .subscribe(vec![EventPattern::All], move |e| {
                a.fetch_add(1, Ordering::SeqCst);
                if e.event_type == EventType::DisputeCreated {
                    panic!("boom");
                }
            })
            .start();
        bus.publish(event(EventType::PaymentCaptured)).await;
        bus.publish(event(EventType::DisputeCreated)).await;
        bus.publish(event(EventType::PaymentRefunded)).await;
        drop(bus);
        for _ in 0..100 {
            if all.load(Ordering::SeqCst) == 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert_eq!(payments.load(Ordering::SeqCst), 2);
        assert_eq!(all.load(Ordering::SeqCst), 3);
    }
}
