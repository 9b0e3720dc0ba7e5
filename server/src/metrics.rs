//! Prometheus text at `/metrics`: counters and histograms recorded by the bus as it works, plus
//! backlog and dead-letter gauges read from the database at scrape time (so every replica
//! reports the shared queue, not only its own share).

use std::sync::OnceLock;

use app::ssr::{
    bus::queries::{self, Scope},
    AppState,
};
use axum::{extract::State, http::header, response::IntoResponse, routing::get, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (tests start many servers in one process).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0])
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(health) = queries::health(&state.db, &Scope::Global, state.bus.now_ms()).await {
        metrics::gauge!("paybus_bus_backlog").set(health.backlog as f64);
        metrics::gauge!("paybus_bus_dead").set(health.dead as f64);
        metrics::gauge!("paybus_bus_oldest_pending_age_seconds").set(health.oldest_pending_age_seconds.unwrap_or(0) as f64);
    }
    let body = handle().map(|h| h.render()).unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
