//! A stream of `POST /api/v1/api-keys` requests from a few concurrent tasks. Each key is created
//! in the same transaction as its `api_key.created` event, so every `201 Created` is one event
//! the server has acknowledged — the ledger records which.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::support::http;

/// What the client saw.
#[derive(Debug, Default)]
pub struct Ledger {
    /// The ids of the keys whose creation was answered `201` (the acknowledged events).
    pub acknowledged: Vec<String>,
    /// Acknowledgements per target server (same order as the targets).
    pub acknowledged_by: Vec<usize>,
    /// Requests that got no (complete) answer: their server died under them. Their key and event
    /// may or may not have been committed — but never one without the other.
    pub unanswered: usize,
    /// Answers other than `201`, as `status body` (a healthy server gives none).
    pub refused: Vec<String>,
}

struct Target {
    base: String,
    down: AtomicBool,
}

struct Shared {
    targets: Vec<Target>,
    token: String,
    total: usize,
    next: AtomicUsize,
    acknowledged: AtomicUsize,
    tag: String,
}

impl Shared {
    /// Request `i` goes to target `i mod n`, or to the next one still up.
    fn pick(&self, i: usize) -> Option<usize> {
        let n = self.targets.len();
        (0..n).map(|k| (i + k) % n).find(|&t| !self.targets[t].down.load(Ordering::SeqCst))
    }
}

pub struct KeyStream {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<Ledger>>,
}

impl KeyStream {
    /// Starts `concurrency` tasks that together send `total` key creations, alternating between
    /// `targets`. A target that fails to answer is considered dead and skipped from then on; the
    /// stream ends when all requests are sent or no target is left.
    pub fn start(tag: &str, targets: &[&str], token: &str, total: usize, concurrency: usize) -> KeyStream {
        let shared = Arc::new(Shared {
            targets: targets.iter().map(|b| Target { base: (*b).to_owned(), down: AtomicBool::new(false) }).collect(),
            token: token.to_owned(),
            total,
            next: AtomicUsize::new(0),
            acknowledged: AtomicUsize::new(0),
            tag: tag.to_owned(),
        });
        let tasks = (0..concurrency).map(|_| tokio::spawn(send_until_done(shared.clone()))).collect();
        KeyStream { shared, tasks }
    }

    pub fn acknowledged(&self) -> usize {
        self.shared.acknowledged.load(Ordering::SeqCst)
    }

    /// Polls until at least `n` creations were acknowledged (the moment to pull the plug).
    pub async fn wait_until_acknowledged(&self, n: usize, timeout: Duration) {
        let started = Instant::now();
        while self.acknowledged() < n {
            assert!(self.tasks.iter().any(|t| !t.is_finished()), "the stream ended after {} acknowledgements, before {n}", self.acknowledged());
            assert!(started.elapsed() < timeout, "only {} of {n} acknowledgements after {timeout:?}", self.acknowledged());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for every task and merges what they saw.
    pub async fn finish(self) -> Ledger {
        let mut ledger = Ledger { acknowledged_by: vec![0; self.shared.targets.len()], ..Ledger::default() };
        for task in self.tasks {
            let part = task.await.expect("a stream task panicked");
            ledger.acknowledged.extend(part.acknowledged);
            for (all, mine) in ledger.acknowledged_by.iter_mut().zip(part.acknowledged_by) {
                *all += mine;
            }
            ledger.unanswered += part.unanswered;
            ledger.refused.extend(part.refused);
        }
        ledger
    }
}

async fn send_until_done(shared: Arc<Shared>) -> Ledger {
    let client = http();
    let mut ledger = Ledger { acknowledged_by: vec![0; shared.targets.len()], ..Ledger::default() };
    loop {
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        if i >= shared.total {
            break;
        }
        let Some(t) = shared.pick(i) else { break };
        let target = &shared.targets[t];
        let sent = client
            .post(format!("{}/api/v1/api-keys", target.base))
            .bearer_auth(&shared.token)
            .json(&json!({ "name": format!("{}-{i}", shared.tag), "role": "developer" }))
            .send()
            .await;
        let answer = match sent {
            Ok(res) => {
                let status = res.status();
                res.text().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        match answer {
            Ok((StatusCode::CREATED, body)) => {
                let created: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("a 201 without JSON ({e}): {body}"));
                let id = created["id"].as_str().unwrap_or_else(|| panic!("a 201 without the key's id: {body}"));
                ledger.acknowledged.push(id.to_owned());
                ledger.acknowledged_by[t] += 1;
                shared.acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok((status, body)) => ledger.refused.push(format!("{status} {body}")),
            Err(_) => {
                // No answer: this server is gone. Count it as unacknowledged, move on to another.
                target.down.store(true, Ordering::SeqCst);
                ledger.unanswered += 1;
            }
        }
    }
    ledger
}
