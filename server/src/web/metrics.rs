//! Prometheus metrics for HTTP traffic, labelled by route template so that no
//! path (which could carry an ICN) ever becomes a label.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

use super::error::ApiError;
use super::Operations;

/// The label of requests no route matched: static files and not-found pages.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Clone)]
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Default for HttpMetrics {
    fn default() -> Self {
        let registry = Registry::new();
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &labels,
        )
        .expect("metric definition is valid");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &labels,
        )
        .expect("metric definition is valid");
        registry
            .register(Box::new(requests.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("metric registered once");
        Self {
            registry,
            requests,
            latency,
        }
    }
}

impl HttpMetrics {
    fn render(&self) -> String {
        let mut families = self.registry.gather();
        families.extend(crate::metrics::gather());
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut out)
            .expect("text encoding of gathered metrics works");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The method as a label: a closed set, so that no client can make new
/// series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn track(State(ops): State<Operations>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [method, route.as_str(), status.as_str()];
    ops.metrics.requests.with_label_values(&labels).inc();
    ops.metrics
        .latency
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

pub async fn render(State(ops): State<Operations>) -> Result<impl IntoResponse, ApiError> {
    // Job figures are read at scrape time; a database that does not answer
    // leaves the last figures in place rather than failing the scrape.
    if let Ok(Ok(counts)) =
        tokio::time::timeout(std::time::Duration::from_secs(2), ops.store.job_counts()).await
    {
        crate::metrics::jobs(&counts, chrono::Utc::now());
    }
    Ok((
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        ops.metrics.render(),
    ))
}
