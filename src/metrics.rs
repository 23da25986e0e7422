//! Metrics (feature `metrics`), through the [`metrics`] facade: the application
//! installs the recorder (Prometheus with `metrics-exporter-prometheus`, StatsD…), the layer
//! only records.
//!
//! | metric | kind | labels | what it counts |
//! |---|---|---|---|
//! | `api_errors_total` | counter | `status`, `error` | every error response the layer sends: its own answers, the handlers' [`ApiError`](crate::ApiError)s it renders, the inner error responses it normalizes (the same responses as the [error events](crate#observability)) |
//! | `api_shed_total` | counter | `reason`: `overloaded`, `maintenance`, `deadline`, `shutting_down` | requests the layer refused before calling the inner service: over the in-flight limit (or not ready, with [`shed_when_not_ready`](crate::ApiErrorLayer::shed_when_not_ready)), in maintenance, with a deadline too short to be met, while draining |
//! | `api_in_flight` | gauge | `resource` (adaptive limit with a route table) | requests in flight, when the layer counts them ([`max_in_flight`](crate::ApiErrorLayer::max_in_flight), [`adaptive_concurrency`](crate::ApiErrorLayer::adaptive_concurrency) or [`drain`](crate::ApiErrorLayer::drain)) |
//! | `api_concurrency_limit` | gauge | `resource` (likewise) | the in-flight limit: the fixed one, or where the adaptive controller has put it |
//!
//! With an adaptive limit and a route table, each resource has its own limit, and the gauges
//! are per resource: `resource` is the route pattern as declared (`/reports/{id}/result`,
//! never a raw path, so the series stay few), and `(unmatched)` for the requests no resource
//! matches. There is then no unlabelled series beside them, so that `sum(api_in_flight)` is the
//! layer's total.
//!
//! The counters are recorded with the recorder current when the response is made. The gauges
//! are updated on every admission and release, so their handles are registered once, with
//! the recorder current when the layer makes its first service (`layer.layer(router)`, once
//! the configuration is final): install the recorder before that. Without the feature none of this is compiled.
//!
//! ```
//! use metrics_util::debugging::{DebugValue, DebuggingRecorder};
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_api_errors::{ApiError, ApiErrorLayer};
//!
//! let recorder = DebuggingRecorder::new();
//! let snapshotter = recorder.snapshotter();
//! metrics::with_local_recorder(&recorder, || {
//!     let app = ApiErrorLayer::new().layer(service_fn(|_req: http::Request<()>| async {
//!         Err::<http::Response<String>, _>(ApiError::not_found())
//!     }));
//!     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//!     runtime.block_on(app.oneshot(http::Request::new(()))).unwrap();
//! });
//! let counted = snapshotter.snapshot().into_vec().into_iter().any(|(key, _, _, value)| {
//!     let labels: Vec<_> = key.key().labels().map(|l| (l.key(), l.value())).collect();
//!     key.key().name() == "api_errors_total"
//!         && labels == [("status", "404"), ("error", "not_found")]
//!         && value == DebugValue::Counter(1)
//! });
//! assert!(counted);
//! ```

use std::borrow::Cow;

use http::StatusCode;

use crate::observe::ShedReason;

impl ShedReason {
    pub(crate) fn label(self) -> &'static str {
        match self {
            ShedReason::Overloaded => "overloaded",
            ShedReason::Maintenance => "maintenance",
            ShedReason::Deadline => "deadline",
            ShedReason::ShuttingDown => "shutting_down",
        }
    }
}

/// Counts one error response.
#[allow(clippy::ptr_arg)] // a `&'static` code is kept without copying it
pub(crate) fn error_response(status: StatusCode, code: &Cow<'static, str>) {
    metrics::counter!(
        "api_errors_total",
        "status" => crate::render::status_digits(status),
        "error" => code.clone(),
    )
    .increment(1);
}

/// Counts one refusal.
pub(crate) fn shed(reason: ShedReason) {
    metrics::counter!("api_shed_total", "reason" => reason.label()).increment(1);
}

/// The `resource` label of the requests no resource of the route table matches.
pub(crate) const UNMATCHED: &str = "(unmatched)";

/// The gauge handles of one in-flight limit (a layer's, or one resource's), registered when the
/// layer is built.
#[derive(Debug, Clone)]
pub(crate) struct Gauges {
    in_flight: metrics::Gauge,
    limit: metrics::Gauge,
}

impl Gauges {
    /// The gauges, labelled with `resource` when there is one; showing `limit` and nothing in
    /// flight.
    pub(crate) fn register(resource: Option<&str>, limit: usize) -> Self {
        let gauges = match resource {
            None => Self {
                in_flight: metrics::gauge!("api_in_flight"),
                limit: metrics::gauge!("api_concurrency_limit"),
            },
            Some(resource) => {
                let resource = resource.to_owned();
                Self {
                    in_flight: metrics::gauge!("api_in_flight", "resource" => resource.clone()),
                    limit: metrics::gauge!("api_concurrency_limit", "resource" => resource),
                }
            }
        };
        gauges.in_flight.set(0.0);
        gauges.limit(limit);
        gauges
    }

    /// One more in flight. An increment, not a `set` of the count read before: two requests
    /// admitted and released at once on two threads can never leave a stale value behind.
    pub(crate) fn admitted(&self) {
        self.in_flight.increment(1.0);
    }

    /// One fewer in flight.
    pub(crate) fn released(&self) {
        self.in_flight.decrement(1.0);
    }

    pub(crate) fn limit(&self, limit: usize) {
        // An unlimited count (for a drain only) has no limit to show.
        if limit != usize::MAX {
            self.limit.set(limit as f64);
        }
    }
}
