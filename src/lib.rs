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
//! | method the [`MethodPolicy`](policy::MethodPolicy) refuses for a resource, or the inner service's own 405 | 405 | `method_not_allowed` |
//! | method the [`MethodPolicy`](policy::MethodPolicy) plans for a resource | 501 | `not_implemented` |
//! | method the server does not recognize (`BREW`, `get`; `QUERY` is recognized) | 501 | `not_implemented` |
//! | [deadline](ApiErrorLayer::timeout) elapsed while the handler waited for the request body ([`watch_request_body`](ApiErrorLayer::watch_request_body), [`SlowClientLayer`](overload::SlowClientLayer) inside) | 408 | `request_timeout` |
//! | [deadline](ApiErrorLayer::timeout) elapsed, or an inner timeout error | 504 | `gateway_timeout` |
//! | [too many requests in flight](ApiErrorLayer::limit), or inner `Overloaded` | 503 | `overloaded` |
//! | [`Drain`](overload::Drain) triggered (shutting down) | 503 | `shutting_down` |
//! | [`Maintenance`](overload::Maintenance) switched on | 503 | `maintenance` |
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
//! use tower_api_errors::overload::Limit;
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
//!     .limit(Limit::fixed(512))
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
//! use tower_api_errors::overload::Limit;
//! use tower_api_errors::policy::{MethodPolicy, Resource};
//! use tower_api_errors::{ApiError, ApiErrorLayer};
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
//!             .limit(Limit::fixed(512))
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
//! `api_metrics` (`api_errors_total`, `api_shed_total`, `api_in_flight`,
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
//!
//! # Where the types are
//!
//! The everyday types are at the root: [`ApiError`] (what a handler returns), [`FieldError`]
//! (one entry of its `errors`), [`ApiErrorLayer`] and the [`ApiErrorService`] it makes,
//! and [`Format`] (the body's format). The rest is in a module per concept, each
//! type at one path:
//!
//! | module | what is in it |
//! |---|---|
//! | [`policy`] | [`MethodPolicy`](policy::MethodPolicy), its builder and [`Resource`](policy::Resource)s: which method each resource allows (`405`) or plans (`501`) |
//! | [`overload`] | admission: the in-flight [`Limit`](overload::Limit) and its gauge, [`Criticality`](overload::Criticality), [`Drain`](overload::Drain), [`Maintenance`](overload::Maintenance), [`SlowClientLayer`](overload::SlowClientLayer) |
//! | [`shape`] | [`ErrorShape`](shape::ErrorShape): a body shape of your own, [`shape_fn`](shape::shape_fn), and the bundled [`Aip193`](shape::Aip193) and [`JsonApi`](shape::JsonApi) |
//! | [`classify`] | [`ClassifyError`](classify::ClassifyError): which [`ApiError`] an inner service's error ([`BoxError`](classify::BoxError)) becomes |
//! | [`body`] | the response and error bodies, and the bounds an error body keeps ([`MAX_DETAIL_CHARS`](body::MAX_DETAIL_CHARS)…) |
//! | [`future`] | the response futures |
//! | [`extract`] (`axum`) | the `Json`, `Path` and `Query` extractors whose rejections are [`ApiError`]s |
//! | [`routing`] (`axum`) | [`ApiRouter`](routing::ApiRouter) and `get`, `post`…: routes and policy declared once; [`AxumService`](routing::AxumService) |
//! | [`openapi`] (`utoipa`) | what the layer answers, added to an OpenAPI document |
//! | [`api_metrics`] (`metrics`) | the counters and gauges the layer records |
//! | [`testing`] (`testing`) | `check_contract`, `check_policy`, `check_router`: tests for your app |
//!
//! # Features
//!
//! | feature | default | what it adds | dependencies |
//! |---|---|---|---|
//! | `axum` | no | `IntoResponse` for [`ApiError`], `into_router`/`wrap`, `extract`, `routing` | axum 0.8 |
//! | `utoipa` | no | `ToSchema` for the bodies, `openapi` | utoipa 5 |
//! | `metrics` | no | counters and gauges through the `metrics` facade, `api_metrics` | metrics 0.24 |
//! | `testing` | no | the conformance kit and the route-table checks, `testing` | jsonschema |

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// One public path per type. The implementation's modules are private; what is public is
// either here at the root (the everyday types) or in one of the public modules below, named
// for its concept, which only re-export. The floors, from the ground up (see GUIDE.md's
// "Layout"): `contract`, `respond`, `admission` (with `overload`) / `methods`, `middleware`; the
// `integrations` beside the last.
mod admission;
mod contract;
mod integrations;
mod methods;
mod middleware;
mod respond;

pub use crate::contract::api_error::ApiError;
pub use crate::contract::field_errors::FieldError;
pub use crate::middleware::layer::ApiErrorLayer;
pub use crate::middleware::service::ApiErrorService;
pub use crate::respond::settings::Format;

#[cfg(feature = "metrics")]
pub use crate::integrations::api_metrics;
#[cfg(feature = "utoipa")]
pub use crate::integrations::openapi;
#[cfg(feature = "axum")]
pub use crate::integrations::routing;
#[cfg(feature = "testing")]
pub use crate::integrations::testing;

pub mod policy {
    //! Which methods each resource allows, plans (`501`) or refuses (`405`): the
    //! [`MethodPolicy`] given to [`ApiErrorLayer::method_policy`](crate::ApiErrorLayer::method_policy),
    //! built from [`Resource`]s by a [`MethodPolicyBuilder`]; [`PolicyError`] is why a route
    //! table was refused.
    //!
    //! ```
    //! use http::Method;
    //! use tower_api_errors::policy::{MethodPolicy, Resource};
    //!
    //! let policy = MethodPolicy::builder()
    //!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
    //!     .build()
    //!     .unwrap();
    //! # let _ = policy;
    //! ```
    pub use crate::methods::policy::{
        MethodPolicy, MethodPolicyBuilder, PolicyError, PolicyErrorKind, Resource,
    };
}

pub mod overload {
    //! Admission: what is refused before the handler runs, and why. The in-flight [`Limit`]
    //! (fixed or [adaptive](AdaptiveConcurrency), with [`Criticality`] priorities; its gauge
    //! [`InFlight`]) answers `503 overloaded`, a [`Drain`] `503 shutting_down`, a
    //! [`Maintenance`] switch `503 maintenance`; [`SlowClientLayer`] tells a client slow to
    //! send its body (`408`) from a slow handler (`504`).
    //!
    //! ```
    //! use std::time::Duration;
    //! use tower_api_errors::overload::{Drain, Limit, Maintenance};
    //! use tower_api_errors::ApiErrorLayer;
    //!
    //! let drain = Drain::new();
    //! let maintenance = Maintenance::new();
    //! let layer = ApiErrorLayer::new()
    //!     .limit(Limit::fixed(64).retry_after(Duration::from_secs(2)))
    //!     .drain(drain.clone())
    //!     .maintenance(maintenance.clone());
    //! # let _ = layer;
    //! ```
    pub use crate::admission::drain::Drain;
    pub use crate::admission::maintenance::{Maintenance, MaintenanceBuilder};
    pub use crate::admission::overload::{
        AdaptiveConcurrency, Criticality, InFlight, Limit, ResourceLoad, SHEDDABLE_SHARE_PERCENT,
    };
    pub use crate::admission::slow_client::{SlowClient, SlowClientLayer, WatchedBody};
}

pub mod shape {
    //! The body's shape: the crate's own JSON (the default) or RFC 9457 problem+json (see
    //! [`Format`](crate::Format)), or one of yours, an [`ErrorShape`] rendering the
    //! [`ErrorFacts`] of each error (or a closure, through [`shape_fn`]). [`Aip193`]
    //! (`google.rpc.Status`) and [`JsonApi`] come with the crate.
    //!
    //! ```
    //! use tower_api_errors::shape::JsonApi;
    //! use tower_api_errors::ApiErrorLayer;
    //!
    //! let layer = ApiErrorLayer::new().offer_shape(JsonApi);
    //! # let _ = layer;
    //! ```
    pub use crate::respond::shape::aip193::Aip193;
    pub use crate::respond::shape::json_api::JsonApi;
    pub use crate::respond::shape::{shape_fn, ErrorFacts, ErrorShape, ShapeFn};
}

pub mod body {
    //! The bodies: [`ResponseBody`], the body of every response the layer's service returns
    //! (the inner body, or an error body), and [`ErrorBody`], the body of an error alone (what
    //! an [`ApiError`](crate::ApiError) becomes). And the bounds the contract keeps an error
    //! body within.
    //!
    //! ```
    //! use tower_api_errors::body::{ErrorBody, MAX_DETAIL_CHARS};
    //! use tower_api_errors::ApiError;
    //!
    //! let long = "x".repeat(MAX_DETAIL_CHARS + 1);
    //! let response: http::Response<ErrorBody> = ApiError::bad_request().with_detail(long).into();
    //! assert_eq!(response.status(), 400);
    //! ```
    pub use crate::contract::api_error::{MAX_RETRY_AFTER, RESERVED_MEMBERS};
    pub use crate::contract::text::MAX_DETAIL_CHARS;
    pub use crate::middleware::body::ResponseBody;
    pub use crate::respond::context::MAX_REQUEST_ID_LEN;
    pub use crate::respond::error_body::ErrorBody;
    pub use crate::respond::normalize::DETAIL_LIMIT;
}

pub mod future {
    //! The response futures: [`ResponseFuture`], of [`ApiErrorService`](crate::ApiErrorService),
    //! and (feature `axum`) [`AxumFuture`], of [`AxumService`](crate::routing::AxumService).
    pub use crate::middleware::future::ResponseFuture;

    #[cfg(feature = "axum")]
    pub use crate::integrations::axum::AxumFuture;
}

pub mod classify {
    //! What counts as which failure: an inner service's error is turned into an
    //! [`ApiError`](crate::ApiError) by a [`ClassifyError`], [`DefaultClassifier`] unless
    //! [`ApiErrorLayer::classify_errors`](crate::ApiErrorLayer::classify_errors) says otherwise.
    pub use crate::respond::classify::{ClassifyError, DefaultClassifier};

    /// The error type inner services' errors are converted into before classification (the
    /// same type as `tower::BoxError` and `axum::BoxError`; named here, not at the crate root,
    /// so that `use tower_api_errors::*` beside `use axum::*` leaves `BoxError` unambiguous).
    pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
}

#[cfg(feature = "axum")]
pub mod extract {
    //! axum extractors whose rejections are [`ApiError`](crate::ApiError)s (feature `axum`):
    //! [`Json`], [`Path`] and [`Query`], which name where a request went wrong (`errors`).
    //! Named here, not at the root, so that `use tower_api_errors::*` next to `use axum::*`
    //! leaves `Json` unambiguous.
    //!
    //! ```
    //! use tower_api_errors::extract::Json;
    //!
    //! async fn create(Json(note): Json<serde_json::Value>) -> Json<serde_json::Value> {
    //!     Json(note)
    //! }
    //! let _app: axum::Router = axum::Router::new().route("/notes", axum::routing::post(create));
    //! ```
    pub use crate::integrations::json::Json;
    pub use crate::integrations::params::{Path, Query};
}
