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
//! the configuration is final): install the recorder before that. Without the feature none of
//! this is compiled.
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

// The counters and gauges are recorded by `respond::observe`, where every error response
// passes; this module is their documentation.
