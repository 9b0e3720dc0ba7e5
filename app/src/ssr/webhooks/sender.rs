//! The sender: claims due messages endpoint by endpoint (each endpoint served by one task at a
//! time, a few requests in flight, its own rate limit and circuit breaker — so one slow or dead
//! endpoint never holds up another), POSTs them signed, records every attempt and moves each
//! message and endpoint on. Time is the bus clock (tests drive it); the rate limit is real time.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    sync::{watch, Semaphore},
    task::JoinSet,
};

use super::{
    policy::{self, Breaker, BreakerState, RateBucket, Verdict},
    secret_context, signing, ssrf,
    store::{self, Claimed, EndpointRow},
    trigger,
};
use crate::{
    domain::{
        events::{payloads::EndpointDisabled, DomainEvent},
        PrefixedId, TenantId, WebhookAttemptId,
    },
    error::{AppError, AppResult},
    ssr::{bus::EventContext, ids::new_id, ids::random_base62, mail::OutgoingMail, AppState},
};

/// Longest response excerpt kept per attempt.
pub const EXCERPT_BYTES: usize = 1024;
/// Turns one endpoint task takes before giving other endpoints a go.
const TURNS_PER_VISIT: usize = 16;

pub fn user_agent() -> String {
    format!("paybus-webhooks/{}", env!("CARGO_PKG_VERSION"))
}

/// The HTTP client every webhook goes through: no redirects, the SSRF-guarded resolver, the
/// configured timeout.
pub fn http_client(state: &AppState) -> reqwest::Client {
    let timeout = state.config.webhooks.timeout;
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .dns_resolver(Arc::new(ssrf::GuardedResolver { allow_private: state.config.allow_private_webhook_targets }))
        .user_agent(user_agent())
        .build()
        .expect("the webhook HTTP client builds")
}

pub struct Sender {
    state: AppState,
    client: reqwest::Client,
    worker: String,
    breaker: Breaker,
    buckets: Mutex<HashMap<String, RateBucket>>,
    serving: Mutex<HashSet<String>>,
}

/// What one HTTP attempt came to.
#[derive(Debug, Clone)]
struct Sent {
    status: Option<u16>,
    latency_ms: i64,
    excerpt: Option<String>,
    error: Option<String>,
    retry_after: Option<Duration>,
}

impl Sender {
    pub fn new(state: AppState) -> Arc<Self> {
        let config = &state.config.webhooks;
        let breaker = Breaker { failures_to_open: config.breaker_failures, cooldown_ms: config.breaker_cooldown.as_millis() as i64 };
        Arc::new(Self {
            client: http_client(&state),
            worker: format!("whw_{}", random_base62(12)),
            breaker,
            buckets: Mutex::default(),
            serving: Mutex::default(),
            state,
        })
    }

    fn now(&self) -> i64 {
        self.state.bus.now_ms()
    }

    /// Runs until `shutdown` turns true; then waits (up to the bus drain timeout) for requests
    /// in flight. Unfinished messages keep their lease and go again after it expires.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let config = &self.state.config.webhooks;
        let slots = Arc::new(Semaphore::new(config.concurrency));
        let mut tasks = JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = self.now();
            match store::due_endpoints(&self.state.db, now, 500).await {
                Ok(due) => {
                    for endpoint in due {
                        if !self.serving.lock().expect("serving set").insert(endpoint.id.clone()) {
                            continue;
                        }
                        let Ok(permit) = slots.clone().try_acquire_owned() else {
                            self.serving.lock().expect("serving set").remove(&endpoint.id);
                            break;
                        };
                        let this = self.clone();
                        tasks.spawn(async move {
                            let id = endpoint.id.clone();
                            if let Err(e) = this.serve(endpoint).await {
                                tracing::warn!(endpoint = %id, error = %e, "serving a webhook endpoint failed");
                            }
                            this.serving.lock().expect("serving set").remove(&id);
                            drop(permit);
                            this.state.webhooks.wake();
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "finding due webhook messages failed"),
            }
            while tasks.try_join_next().is_some() {}
            let wait = self.idle_wait().await;
            tokio::select! {
                _ = self.state.webhooks.woken() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
        let drain = self.state.config.bus.drain_timeout;
        if tokio::time::timeout(drain, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!("webhook sender drain timed out; unfinished messages go again after their lease");
            tasks.abort_all();
        }
    }

    async fn idle_wait(&self) -> Duration {
        let poll = self.state.config.webhooks.poll_interval;
        match store::next_due_at(&self.state.db).await {
            Ok(Some(at)) if at > self.now() => poll.min(Duration::from_millis((at - self.now()) as u64)),
            _ => poll,
        }
    }

    /// Sends what one endpoint has due, a few at a time, within its breaker and rate limit.
    async fn serve(&self, due: store::DueEndpoint) -> AppResult<()> {
        let in_flight = self.state.config.webhooks.in_flight_per_endpoint;
        for _ in 0..TURNS_PER_VISIT {
            let now = self.now();
            let breaker_state = BreakerState { consecutive_failures: due.consecutive_failures, open_until: due.circuit_open_until };
            let allowance = self.breaker.allowance(breaker_state, now, in_flight);
            if allowance == 0 {
                return Ok(());
            }
            let granted = self.take_tokens(&due.id, due.rate_limit_per_sec, allowance).await;
            if granted == 0 {
                return Ok(());
            }
            let lease_until = now + self.state.config.webhooks.timeout.as_millis() as i64 + 60_000;
            let claimed = store::claim(&self.state.db, &self.worker, &due.id, now, lease_until, granted as i64).await?;
            if claimed.is_empty() {
                return Ok(());
            }
            let Some(endpoint) = store::endpoint_for_update(&self.state.db.pool, &due.id, "").await? else { return Ok(()) };
            let secrets = self.signing_secrets(&endpoint, now)?;
            let sends = claimed.iter().map(|m| self.send(&endpoint, &secrets, m));
            let results = futures_join_all(sends).await;
            let batch: Vec<(&Claimed, Sent)> = claimed.iter().zip(results).collect();
            // A failure may have changed the endpoint's breaker or throttle: the next visit
            // re-reads them.
            let keep_going = self.record(&due.id, &batch).await? && claimed.len() == granted;
            // Half-open allows a single probe per visit.
            if !keep_going || (allowance == 1 && in_flight > 1) {
                return Ok(());
            }
        }
        Ok(())
    }

    async fn take_tokens(&self, endpoint: &str, per_sec: i64, want: usize) -> usize {
        let per_sec = u32::try_from(per_sec.max(1)).unwrap_or(u32::MAX);
        for _ in 0..2 {
            let wait = {
                let mut buckets = self.buckets.lock().expect("rate buckets");
                let bucket = buckets.entry(endpoint.to_owned()).or_insert_with(|| RateBucket::new(per_sec, Instant::now()));
                bucket.set_rate(per_sec);
                let granted = bucket.take(want, Instant::now());
                if granted > 0 {
                    return granted;
                }
                bucket.wait(Instant::now())
            };
            tokio::time::sleep(wait.min(Duration::from_secs(1))).await;
        }
        0
    }

    /// The secrets that sign now: the current one, and the previous one during its overlap.
    fn signing_secrets(&self, endpoint: &EndpointRow, now: i64) -> AppResult<Vec<String>> {
        let context = secret_context(&endpoint.tenant_id, &endpoint.id);
        let mut secrets = vec![self.state.secrets.open(&endpoint.secret, &context)?];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_expires_at) {
            if now < until {
                secrets.push(self.state.secrets.open(previous, &context)?);
            }
        }
        Ok(secrets)
    }

    async fn send(&self, endpoint: &EndpointRow, secrets: &[String], message: &Claimed) -> Sent {
        let started = Instant::now();
        let failed = |error: String| Sent { status: None, latency_ms: started.elapsed().as_millis() as i64, excerpt: None, error: Some(error), retry_after: None };
        // Literal addresses never reach the resolver: check the URL again before every send.
        let url = match ssrf::validate_url(&endpoint.url, self.state.config.allow_private_webhook_targets) {
            Ok(url) => url,
            Err(problem) => return failed(format!("refused: {problem}")),
        };
        let timestamp = self.now().div_euclid(1000);
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let Some(signature) = signing::signature_header(&refs, &message.id, timestamp, message.body.as_bytes()) else {
            return failed("the endpoint's signing secret is unusable".into());
        };
        let mut request = self
            .client
            .post(url)
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(message.body.clone());
        if let Some(sequence) = message.sequence {
            request = request.header("webhook-sequence", sequence.to_string());
            if let Some(previous) = &message.previous_id {
                request = request.header("webhook-previous-id", previous);
            }
        }
        match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| policy::parse_retry_after(v, timestamp, self.state.config.webhooks.max_retry_after));
                // The first kilobyte is kept; the rest is never downloaded. A body that breaks off
                // does not change what the status code said.
                let mut excerpt = Vec::new();
                while excerpt.len() < EXCERPT_BYTES {
                    match response.chunk().await {
                        Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk[..chunk.len().min(EXCERPT_BYTES - excerpt.len())]),
                        Ok(None) | Err(_) => break,
                    }
                }
                let excerpt = (!excerpt.is_empty()).then(|| String::from_utf8_lossy(&excerpt).into_owned());
                let error = match policy::verdict(Some(status)) {
                    Verdict::Delivered => None,
                    _ if (300..400).contains(&status) => Some(format!("the endpoint answered {status} (redirects are not followed)")),
                    Verdict::Gone => Some("the endpoint answered 410 Gone".into()),
                    _ => Some(format!("the endpoint answered {status}")),
                };
                Sent { status: Some(status), latency_ms: started.elapsed().as_millis() as i64, excerpt, error, retry_after }
            }
            Err(e) => failed(describe(&e)),
        }
    }

    /// Records a batch of attempts to one endpoint and moves the messages and the endpoint on,
    /// in one transaction (one commit per batch rather than per message). Returns whether every
    /// message was delivered.
    async fn record(&self, endpoint_id: &str, batch: &[(&Claimed, Sent)]) -> AppResult<bool> {
        let config = &self.state.config.webhooks;
        let mut tx = self.state.db.begin().await?;
        let now = self.now();
        let mut endpoint = store::endpoint_for_update(&mut *tx, endpoint_id, self.state.db.dialect.for_update()).await?;
        let mut all_delivered = true;
        let mut disabled_because: Option<String> = None;
        for (message, sent) in batch {
            let verdict = policy::verdict(sent.status);
            all_delivered &= verdict == Verdict::Delivered;
            let attempt_trigger = match message.next_trigger.as_str() {
                trigger::MANUAL => trigger::MANUAL,
                trigger::TEST => trigger::TEST,
                _ => trigger::SCHEDULED,
            };
            store::insert_attempt(
                &mut *tx,
                &store::AttemptRow {
                    id: new_id::<WebhookAttemptId>().to_string(),
                    message_id: message.id.clone(),
                    endpoint_id: message.endpoint_id.clone(),
                    tenant_id: message.tenant_id.clone(),
                    attempt: message.attempts,
                    trigger_kind: attempt_trigger.to_owned(),
                    status: if verdict == Verdict::Delivered { "succeeded" } else { "failed" }.to_owned(),
                    status_code: sent.status.map(i64::from),
                    latency_ms: sent.latency_ms,
                    response_excerpt: sent.excerpt.clone(),
                    error: sent.error.clone(),
                    created_at: now,
                },
            )
            .await?;
            let code = sent.status.map(i64::from);
            let error = sent.error.as_deref();
            let Some(endpoint) = endpoint.as_mut() else {
                // Deleted meanwhile: the message stops here.
                store::finish_message(&mut *tx, &message.id, &self.worker, message.attempts, "disabled", None, code, Some("endpoint deleted"), now).await?;
                continue;
            };
            let made = u32::try_from(message.attempts).unwrap_or(u32::MAX);
            match verdict {
                Verdict::Delivered => {
                    store::finish_message(&mut *tx, &message.id, &self.worker, message.attempts, "succeeded", None, code, None, now).await?;
                    let closed = self.breaker.on_success();
                    endpoint.consecutive_failures = closed.consecutive_failures;
                    endpoint.circuit_open_until = closed.open_until;
                    endpoint.failing_since = None;
                }
                Verdict::Gone => {
                    store::finish_message(&mut *tx, &message.id, &self.worker, message.attempts, "failed", None, code, error, now).await?;
                    disabled_because = Some("the endpoint answered 410 Gone".into());
                }
                Verdict::SlowDown | Verdict::Failed => {
                    let scheduled = policy::next_delay(made);
                    let delay = match (verdict, sent.retry_after, scheduled) {
                        (_, _, None) => None,
                        (Verdict::SlowDown, Some(asked), Some(_)) => Some(asked),
                        (_, _, Some(d)) => Some(d),
                    };
                    let (status, next) = match delay {
                        Some(d) => ("pending", Some(now + d.as_millis() as i64)),
                        None => ("failed", None),
                    };
                    store::finish_message(&mut *tx, &message.id, &self.worker, message.attempts, status, next, code, error, now).await?;
                    if verdict == Verdict::SlowDown {
                        let pause = sent.retry_after.or(scheduled).unwrap_or(Duration::ZERO);
                        let until = now + pause.as_millis() as i64;
                        endpoint.throttled_until = Some(endpoint.throttled_until.map_or(until, |t| t.max(until)));
                    }
                    let opened = self.breaker.on_failure(
                        BreakerState { consecutive_failures: endpoint.consecutive_failures, open_until: endpoint.circuit_open_until },
                        now,
                    );
                    endpoint.consecutive_failures = opened.consecutive_failures;
                    endpoint.circuit_open_until = opened.open_until;
                    let since = *endpoint.failing_since.get_or_insert(now);
                    if now - since >= config.disable_after.as_millis() as i64 && disabled_because.is_none() {
                        disabled_because = Some(format!("it failed for {} days without a successful delivery", config.disable_after.as_secs() / 86_400));
                    }
                }
            }
        }
        let Some(mut endpoint) = endpoint else {
            tx.commit().await?;
            return Ok(all_delivered);
        };
        endpoint.updated_at = now;
        if let Some(reason) = &disabled_because {
            if endpoint.status == store::STATUS_ACTIVE {
                endpoint.status = store::STATUS_DISABLED.into();
                endpoint.disabled_reason = Some(reason.clone());
                store::disable_pending(&mut *tx, &endpoint.id, &format!("endpoint disabled: {reason}"), now).await?;
                let payload = EndpointDisabled { endpoint_id: endpoint.id.clone(), url: endpoint.url.clone(), reason: reason.clone() };
                let tenant = TenantId::parse(&endpoint.tenant_id).map_err(|_| AppError::Internal)?;
                self.state.bus.publish(&mut tx, &EventContext::system(Some(tenant)), DomainEvent::EndpointDisabled(payload)).await?;
            } else {
                disabled_because = None;
            }
        }
        store::save_endpoint(&mut *tx, &endpoint).await?;
        self.state.bus.commit(tx).await?;
        if let Some(reason) = disabled_because {
            tracing::warn!(endpoint = %endpoint.id, reason = %reason, "webhook endpoint disabled");
            notify_disabled(&self.state, &endpoint, &reason).await;
        }
        Ok(all_delivered)
    }
}

/// `join_all` without a dependency: the futures run concurrently on this task.
async fn futures_join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

/// A transport error in words, without secrets (URLs carry none: credentials are refused).
fn describe(err: &reqwest::Error) -> String {
    if let Some(refused) = ssrf::refusal_in(err) {
        return refused;
    }
    if err.is_timeout() {
        return "timed out".into();
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if err.is_connect() {
        format!("connection failed ({text})")
    } else {
        text
    }
}

/// Tells the tenant's notification addresses that an endpoint was disabled (best effort).
async fn notify_disabled(state: &AppState, endpoint: &EndpointRow, reason: &str) {
    let emails: Option<String> = sqlx::query_scalar("SELECT notification_emails FROM tenant_settings WHERE tenant_id = $1")
        .bind(&endpoint.tenant_id)
        .fetch_optional(&state.db.pool)
        .await
        .ok()
        .flatten();
    let emails: Vec<String> = emails.and_then(|e| serde_json::from_str(&e).ok()).unwrap_or_default();
    for to in emails {
        let mail = OutgoingMail {
            to,
            subject: format!("Webhook endpoint disabled: {}", endpoint.url),
            text: format!(
                "paybus stopped sending webhooks to {} ({}) because {reason}.\n\nFix the receiver, then enable the endpoint again in the dashboard: {}/webhook-endpoints/{}\n",
                endpoint.url, endpoint.id, state.config.public_url, endpoint.id
            ),
        };
        if let Err(e) = state.mailer.send(mail).await {
            tracing::warn!(endpoint = %endpoint.id, error = %e, "could not email the endpoint-disabled notice");
        }
    }
}
