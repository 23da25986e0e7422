//! A tower [`Layer`](tower_layer::Layer) that makes every failure of an HTTP service leave as
//! one consistent JSON error body: domain errors, timeouts, overload, maintenance, panics,
//! unsupported methods, and the empty or plain-text error responses of the inner service.
//!
//! ```json
//! {
//!   "ok": false,
//!   "status": 405,
//!   "error": "method_not_allowed",
//!   "message": "Method Not Allowed",
//!   "detail": "POST is not supported for this resource.",
//!   "allowed": ["GET", "HEAD", "OPTIONS"],
//!   "retryable": false,
//!   "request_id": "4f1c2e9a"
//! }
//! ```
//!
//! `ok`, `status`, `error` (a stable code to switch on), `message`, `detail` and `retryable`
//! are always there; `allowed` (405, 501), `retry_after` (503), `request_id` (from
//! `x-request-id`), `errors` (field-level problems) and an error's own members when they apply.
//! `Accept: application/problem+json` gets the same facts as an RFC 9457 problem document.
//!
//! | failure | status | `error` |
//! |---|---|---|
//! | [`ApiError`] returned by a handler | its own | its own |
//! | inner response >= 400 with an empty or non-JSON body | unchanged | the status's code |
//! | method the [`MethodPolicy`] refuses for a resource, or the inner service's own 405 | 405 | `method_not_allowed` |
//! | method the [`MethodPolicy`] plans for a resource | 501 | `not_implemented` |
//! | method the server does not recognize (`BREW`, `get`; `QUERY` is recognized) | 501 | `not_implemented` |
//! | [deadline](ApiErrorLayer::timeout) elapsed while the handler waited for the request body ([`SlowClientLayer`] inside) | 408 | `request_timeout` |
//! | [deadline](ApiErrorLayer::timeout) elapsed, or an inner timeout error | 504 | `gateway_timeout` |
//! | [too many requests in flight](ApiErrorLayer::max_in_flight), or inner `Overloaded` | 503 | `overloaded` |
//! | [`Drain`] triggered (shutting down) | 503 | `shutting_down` |
//! | [`Maintenance`] switched on | 503 | `maintenance` |
//! | handler panicked | 500 | `internal_error` |
//! | any other inner error | 500 | `internal_error` |
//!
//! A 5xx body the layer writes never carries internal text: panic messages and error texts are
//! logged with [tracing](https://docs.rs/tracing), not sent. (An inner response that is already
//! JSON passes untouched.)
//!
//! # Serving an axum app
//!
//! Wrap the whole `Router` (not with `Router::layer`, so that its own 404s and 405s go through
//! the layer too), then [`into_router`](ApiErrorService::into_router) (feature `axum`) gives an
//! axum `Router` back, for `axum::serve` and for the layers that go outside (CORS, tracing,
//! request ids):
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use tower::Layer;
//! use tower_api_errors::{ApiError, ApiErrorLayer};
//!
//! async fn note() -> Result<String, ApiError> {
//!     Err(ApiError::not_found())
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let routes = Router::new().route("/notes/{id}", get(note));
//! let app: Router = ApiErrorLayer::new()
//!     .timeout(Duration::from_secs(2))
//!     .max_in_flight(512)
//!     .layer(routes)
//!     .into_router();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # Example
//!
//! The same stack called directly, as a test would:
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use http::{Method, Request, StatusCode};
//! use http_body_util::BodyExt;
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_api_errors::{ApiError, ApiErrorLayer, MethodPolicy, Resource};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let router = Router::new()
//!     .route("/payments", get(|| async { "[]" }))
//!     .route("/notes/{id}", get(|| async { Err::<(), _>(ApiError::not_found()) }));
//!
//! let policy = MethodPolicy::builder()
//!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
//!     .build()
//!     .unwrap();
//!
//! // Wrap the whole Router, so that its own 404s and 405s are normalized too.
//! let app = ServiceBuilder::new()
//!     .layer(
//!         ApiErrorLayer::new()
//!             .timeout(Duration::from_secs(2))
//!             .max_in_flight(512)
//!             .method_policy(policy),
//!     )
//!     .service(router);
//!
//! let response = app
//!     .oneshot(Request::post("/payments").body(axum::body::Body::empty()).unwrap())
//!     .await
//!     .unwrap();
//! assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
//! assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(body["error"], "not_implemented");
//! assert_eq!(body["message"], "Not Implemented");
//! # }
//! ```
//!
//! # Observability
//!
//! Every error response the layer sends — its own answers (405, 501, 503, 504…), the handlers'
//! [`ApiError`]s it renders, the inner error responses it normalizes — is one `tracing` event,
//! `error response`, with the fields `status`, `error` (the body's code), `method`, `path`
//! (without the query) and `request_id` (when the request had a safe `x-request-id`):
//!
//! - a **5xx** at `WARN`: the layer's 503s under overload or maintenance are expected, and the
//!   faults behind a 500 (a panic, an inner error, a replaced 5xx body) have an `ERROR` line of
//!   their own with the cause, which no body carries;
//! - a **4xx** at `DEBUG`: the clients' mistakes, for when you look for them.
//!
//! A success has no event, and neither has an inner error response that is already JSON (it
//! passes untouched: its code is not the layer's to know) nor the `204` the layer answers to
//! `OPTIONS`. The path is kept for the event only while a subscriber takes `WARN` events:
//! without one, the happy path does not even count a reference for it. Next to tower-http's
//! `TraceLayer` (one span per request), filter with `tower_api_errors=debug` to see the 4xx
//! (`examples/axum.rs`). With the `metrics` feature, the same responses are counted: see
//! `metrics` (`api_errors_total`, `api_shed_total`, `api_in_flight`,
//! `api_concurrency_limit`).
//!
//! ```
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_api_errors::{ApiError, ApiErrorLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = ApiErrorLayer::new().layer(service_fn(|_req: http::Request<()>| async {
//!     Err::<http::Response<String>, _>(ApiError::not_found())
//! }));
//! let req = http::Request::get("/notes/7?full=1")
//!     .header("x-request-id", "4f1c2e9a")
//!     .body(())
//!     .unwrap();
//! // DEBUG tower_api_errors::observe: error response status=404 error="not_found"
//! //       method="GET" path="/notes/7" request_id="4f1c2e9a"
//! let response = app.oneshot(req).await.unwrap();
//! assert_eq!(response.status(), 404);
//! # }
//! ```
//!
//! # Cost
//!
//! A request that succeeds (status < 400) costs a status check, one `matchit` lookup when a
//! method policy is set, an atomic increment when an in-flight limit is set, and no heap
//! allocation: the response future is a state machine and the body an enum of the inner body
//! and the error body. `benches/overhead.rs` measures it against a bare service and the tower
//! composition people write today.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// One public path per type: the modules are private, and everything public is at the root.
mod body;
mod catalog;
mod check_policy;
mod classify;
mod deadline;
mod drain;
mod error;
mod field_errors;
mod future;
mod layer;
mod maintenance;
mod methods;
mod normalize;
mod observe;
mod overload;
mod render;
mod service;
mod slow_client;

#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "axum")]
pub use crate::axum::{AxumFuture, AxumService};
#[cfg(feature = "axum")]
mod json;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "utoipa")]
pub mod openapi;
#[cfg(feature = "axum")]
pub mod routing;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "axum")]
pub use crate::json::Json;

pub use crate::body::{ErrorBody, ResponseBody};
pub use crate::check_policy::{check_policy, PolicyMismatch};
pub use crate::classify::{ClassifyError, DefaultClassifier};
pub use crate::drain::Drain;
pub use crate::error::{ApiError, MAX_RETRY_AFTER, RESERVED_MEMBERS};
pub use crate::field_errors::FieldError;
pub use crate::future::ResponseFuture;
pub use crate::layer::ApiErrorLayer;
pub use crate::maintenance::Maintenance;
pub use crate::methods::{MethodPolicy, MethodPolicyBuilder, PolicyError, Resource};
pub use crate::normalize::DETAIL_LIMIT;
pub use crate::overload::{
    AdaptiveConcurrency, Criticality, InFlight, ResourceLoad, SHEDDABLE_SHARE_PERCENT,
};
pub use crate::render::{Format, MAX_REQUEST_ID_LEN};
pub use crate::service::ApiErrorService;
pub use crate::slow_client::{SlowClient, SlowClientLayer, WatchedBody};

/// The error type inner services' errors are converted into before classification.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
