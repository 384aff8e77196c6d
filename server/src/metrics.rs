//! `GET /metrics` for operators' Prometheus, on `OUTREACH_METRICS_ADDR`: a
//! listener of its own, so the numbers are never on the public address.

use std::sync::OnceLock;

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use domain::db::Pool;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The process's recorder, installed on first use: one per process, as
/// Prometheus expects (it adds processes up).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                // Histograms with buckets (not summaries), so Prometheus
                // can add several processes' up.
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .expect("buckets are given")
                .set_buckets_for_metric(
                    Matcher::Full(domain::metrics::GROUP_COMMIT_WRITES.to_owned()),
                    &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
                )
                .expect("buckets are given")
                .install_recorder()
                .expect("the metrics recorder is installed once");
            for (name, help) in domain::metrics::DESCRIPTIONS {
                metrics::describe_counter!(*name, *help);
            }
            handle
        })
        .clone()
}

pub fn router(pool: Pool) -> Router {
    let handle = handle();
    Router::new()
        .route("/metrics", get(render))
        .with_state((pool, handle))
}

async fn render(State((pool, handle)): State<(Pool, PrometheusHandle)>) -> Response {
    match domain::outbound::queue_depth(&pool).await {
        Ok(depth) => {
            for (state, messages) in depth {
                domain::metrics::queue_depth(state.as_str(), messages);
            }
        }
        Err(e) => tracing::error!(error = ?e, "could not count the queue for /metrics"),
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Counts every answered request by its route's pattern (never the path
/// itself: a webhook's path holds an organisation's public id).
pub async fn count_request(request: Request, next: Next) -> Response {
    // Without OUTREACH_METRICS_ADDR nothing records: no labels to build.
    if HANDLE.get().is_none() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    domain::metrics::http_request(route, response.status().as_u16());
    response
}
