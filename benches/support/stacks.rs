//! The stacks that `benches/overhead.rs`, `tests/allocations.rs` and `examples/load_server.rs`
//! compare, built in one place so that every measurement sees the same code.
//!
//! Included with `#[path = ...] mod stacks;`: it is not a target of its own (cargo only treats
//! files directly under `benches/` as benchmarks).
//!
//! - `bare`: the axum `Router` alone (`GET /hello` → 200 "hello").
//! - `layer`: the Router inside `ApiErrorLayer` with a timeout, an in-flight limit and a method
//!   policy of 20 resources: the realistic setup.
//! - `layer_adaptive`: the `layer` configuration with the adaptive limit instead of the fixed one.
//! - `layer_minimal`: the Router inside `ApiErrorLayer::new()`.
//! - `layer_overloaded`, `layer_maintenance`: the `layer` configuration with `Limit::fixed(0)`,
//!   and with a [`Maintenance`] switch that is on: every request gets the layer's own 503.
//! - `layer_stalled`: the `layer` configuration around a service that never answers (an upstream
//!   that hangs), so that the deadline elapses and the layer answers 504. It needs a runtime with
//!   a clock; on a paused clock (`start_paused`) the 30 s pass at once and deterministically.
//! - `layer_zero_deadline`: the `layer` configuration with a deadline already elapsed (zero): the
//!   layer's 504 without a timer. `layer_timed_out`: around a service that fails with tower's
//!   `Elapsed`, the 504 of an upstream that timed out.
//! - `catch_panic_only`, `timeout_only`: the Router inside tower-http's `CatchPanicLayer` alone,
//!   and inside tower's `Timeout` alone: what a single ecosystem middleware doing one of the
//!   layer's jobs costs, for reference.
//! - `map_response_only`: the Router inside tower's `MapResponse` with a function that changes
//!   nothing: what wrapping a service at all costs, the floor under any middleware.
//! - `peer_stack`: what users compose today for the same guarantees (PERF-BASELINE's
//!   `peer_stack_json`), outermost first: an `axum::middleware::from_fn` turning empty 4xx/5xx
//!   bodies into JSON, `HandleErrorLayer` (`Elapsed` → 504, `Overloaded` → 503, JSON bodies),
//!   tower-http `CatchPanicLayer::custom`, tower `LoadShed`, `ConcurrencyLimit(1024)` and tower
//!   `Timeout(30 s)`. tower's `Timeout` rather than tower-http's `TimeoutLayer`: it polls the
//!   inner future first and never touches the timer when the handler is ready at once, so it is
//!   the cheaper of the two, and the peer is measured at its best.
//!
//! Every stack wraps the whole Router, as `ServiceBuilder::new().layer(..).service(router)`.

#![allow(dead_code)]

use std::any::Any;
use std::convert::Infallible;
use std::fmt::Debug;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::middleware::{from_fn, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{BoxError, Json, Router};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, RETRY_AFTER};
use http::{HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use tower::timeout::Timeout;
use tower::util::MapResponse;
use tower::{Service, ServiceBuilder, ServiceExt};
use tower_api_errors::classify::DefaultClassifier;
use tower_api_errors::overload::{AdaptiveConcurrency, Limit, Maintenance};
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiErrorLayer, ApiErrorService};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer, DefaultResponseForPanic};

/// The deadline every stack that has one uses.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The in-flight limit every stack that has one uses.
pub const MAX_IN_FLIGHT: usize = 1024;

/// The application every stack serves: one route, `GET /hello` → 200 "hello".
pub fn router() -> Router {
    Router::new().route("/hello", get(|| async { "hello" }))
}

/// A route table of 20 resources, `/hello` among them. `/reports/{id}/result` is GET-only and
/// refuses POST (405), and `/payments` plans POST (501).
pub fn policy() -> MethodPolicy {
    let get = || Resource::allow([Method::GET]);
    let crud = || Resource::allow([Method::GET, Method::PUT, Method::PATCH, Method::DELETE]);
    MethodPolicy::builder()
        .resource("/hello", get())
        .resource("/health", get())
        .resource("/payments", get().plan([Method::POST]))
        .resource("/payments/{id}", get().plan([Method::DELETE]))
        .resource("/payments/{id}/refunds", get().plan([Method::POST]))
        .resource("/reports", Resource::allow([Method::GET, Method::POST]))
        .resource("/reports/{id}", get())
        .resource("/reports/{id}/result", get().refuse([Method::POST]))
        .resource("/notes", Resource::allow([Method::GET, Method::POST]))
        .resource("/notes/{id}", crud())
        .resource("/users", Resource::allow([Method::GET, Method::POST]))
        .resource("/users/{id}", crud())
        .resource("/users/{id}/orders", get())
        .resource("/orders", Resource::allow([Method::GET, Method::POST]))
        .resource("/orders/{id}", crud())
        .resource("/orders/{id}/items/{item}", crud())
        .resource("/customers/{id}", crud())
        .resource("/invoices/{id}", get().plan([Method::PUT]))
        .resource(
            "/files/{*path}",
            Resource::allow([Method::GET, Method::PUT]),
        )
        .resource("/search", get().plan([Method::POST]))
        .build()
        .expect("a valid route table")
}

/// The `layer` configuration: timeout, in-flight limit and the 20-resource policy.
pub fn full_layer() -> ApiErrorLayer {
    ApiErrorLayer::new()
        .timeout(TIMEOUT)
        .limit(Limit::fixed(MAX_IN_FLIGHT))
        .method_policy(policy())
}

/// `bare`: the Router alone.
pub fn bare() -> Router {
    router()
}

/// `layer`: the Router inside the fully configured layer.
pub fn layer() -> ApiErrorService<Router, DefaultClassifier> {
    ServiceBuilder::new().layer(full_layer()).service(router())
}

/// `layer_adaptive`: the Router inside the layer with the adaptive limit (one per resource of
/// the 20-resource policy) and the timeout: every request is looked up in the route table for
/// its resource, admitted under its limit and the cap, and 1 in 16 is timed.
pub fn layer_adaptive() -> ApiErrorService<Router, DefaultClassifier> {
    ServiceBuilder::new()
        .layer(
            ApiErrorLayer::new()
                .timeout(TIMEOUT)
                .limit(Limit::adaptive(AdaptiveConcurrency::default()))
                .method_policy(policy()),
        )
        .service(router())
}

/// `layer_minimal`: the Router inside `ApiErrorLayer::new()`.
pub fn layer_minimal() -> ApiErrorService<Router, DefaultClassifier> {
    ServiceBuilder::new()
        .layer(ApiErrorLayer::new())
        .service(router())
}

/// `layer_overloaded`: the `layer` configuration with no place in flight, so every request is
/// answered `503 overloaded` by the layer (after the method policy let it through).
pub fn layer_overloaded() -> ApiErrorService<Router, DefaultClassifier> {
    ServiceBuilder::new()
        .layer(full_layer().limit(Limit::fixed(0)))
        .service(router())
}

/// `layer_maintenance`: the `layer` configuration with maintenance switched on, so every request
/// is answered `503 maintenance` by the layer.
pub fn layer_maintenance() -> ApiErrorService<Router, DefaultClassifier> {
    let maintenance = Maintenance::new();
    maintenance.enable();
    ServiceBuilder::new()
        .layer(full_layer().maintenance(maintenance))
        .service(router())
}

/// A service that never answers: an upstream that hangs. Its future is pending forever and
/// costs nothing to poll, so what a 504 through it costs is the layer's own work.
#[derive(Debug, Clone, Copy)]
pub struct Stalled;

impl Service<Request> for Stalled {
    type Response = Response;
    type Error = Infallible;
    type Future = std::future::Pending<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request) -> Self::Future {
        std::future::pending()
    }
}

/// `layer_stalled`: the `layer` configuration (deadline [`TIMEOUT`]) around [`Stalled`], so every
/// request ends in the layer's `504 gateway_timeout`. Drive it on a paused clock.
pub fn layer_stalled() -> ApiErrorService<Stalled, DefaultClassifier> {
    ServiceBuilder::new().layer(full_layer()).service(Stalled)
}

/// `layer_zero_deadline`: the `layer` configuration with a deadline that has elapsed before the
/// request arrives (a zero timeout, as a zero deadline header would give): every request is
/// answered `504 gateway_timeout` at once, without a timer and without calling the Router.
pub fn layer_zero_deadline() -> ApiErrorService<Router, DefaultClassifier> {
    ServiceBuilder::new()
        .layer(full_layer().timeout(Duration::ZERO))
        .service(router())
}

/// A service that fails at once with tower's `Elapsed`: an upstream client that timed out.
#[derive(Debug, Clone, Copy)]
pub struct TimedOut;

impl Service<Request> for TimedOut {
    type Response = Response;
    type Error = tower::timeout::error::Elapsed;
    type Future = std::future::Ready<Result<Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request) -> Self::Future {
        std::future::ready(Err(tower::timeout::error::Elapsed::new()))
    }
}

/// `layer_timed_out`: the `layer` configuration around [`TimedOut`]: every request ends in the
/// layer's `504 gateway_timeout`, with no timer involved.
pub fn layer_timed_out() -> ApiErrorService<TimedOut, DefaultClassifier> {
    ServiceBuilder::new().layer(full_layer()).service(TimedOut)
}

/// `catch_panic_only`: the Router inside tower-http's `CatchPanicLayer` and nothing else: what one
/// ecosystem middleware doing one of the layer's jobs costs (for reference).
pub fn catch_panic_only() -> CatchPanic<Router, DefaultResponseForPanic> {
    ServiceBuilder::new()
        .layer(CatchPanicLayer::new())
        .service(router())
}

/// `timeout_only`: the Router inside tower's `Timeout` (the cheapest timeout: it never touches
/// the timer when the handler answers at once) and nothing else, for reference.
pub fn timeout_only() -> Timeout<Router> {
    ServiceBuilder::new().timeout(TIMEOUT).service(router())
}

/// `map_response_only`: the Router inside tower's `MapResponse` with a function that returns the
/// response as it is: the least any middleware that wraps the response future costs, for
/// reference.
pub fn map_response_only() -> MapResponse<Router, fn(Response) -> Response> {
    let unchanged: fn(Response) -> Response = |response| response;
    ServiceBuilder::new()
        .map_response(unchanged)
        .service(router())
}

/// `peer_stack`: the composition of tower, tower-http and axum pieces described above.
pub fn peer_stack() -> impl Service<
    Request,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone
       + Send
       + Sync
       + 'static {
    ServiceBuilder::new()
        .layer(from_fn(json_error_bodies))
        .layer(HandleErrorLayer::new(handle_error))
        .layer(CatchPanicLayer::custom(panic_response))
        .load_shed()
        .concurrency_limit(MAX_IN_FLIGHT)
        .timeout(TIMEOUT)
        .service(router())
}

/// The JSON error body the peer stack writes, built the way such middleware usually is.
fn error_json(status: StatusCode) -> Json<serde_json::Value> {
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::SERVICE_UNAVAILABLE => "overloaded",
        StatusCode::GATEWAY_TIMEOUT => "gateway_timeout",
        StatusCode::INTERNAL_SERVER_ERROR => "internal_error",
        _ if status.is_client_error() => "bad_request",
        _ => "internal_error",
    };
    let message = status.canonical_reason().unwrap_or("Error");
    Json(serde_json::json!({
        "ok": false,
        "status": status.as_u16(),
        "error": code,
        "message": message,
        "detail": message,
    }))
}

/// `HandleErrorLayer`'s function: `Elapsed` → 504, `Overloaded` → 503 with `Retry-After`.
async fn handle_error(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        (
            StatusCode::GATEWAY_TIMEOUT,
            error_json(StatusCode::GATEWAY_TIMEOUT),
        )
            .into_response()
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, HeaderValue::from_static("1"))],
            error_json(StatusCode::SERVICE_UNAVAILABLE),
        )
            .into_response()
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            error_json(StatusCode::INTERNAL_SERVER_ERROR),
        )
            .into_response()
    }
}

/// `CatchPanicLayer::custom`'s handler: a JSON 500, the payload is not sent.
fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        error_json(StatusCode::INTERNAL_SERVER_ERROR),
    )
        .into_response()
}

/// The `from_fn` middleware: an empty 4xx/5xx body becomes the JSON error body.
async fn json_error_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if is_error && http_body::Body::size_hint(response.body()).exact() == Some(0) {
        let (mut parts, _empty) = response.into_parts();
        parts.headers.remove(CONTENT_LENGTH);
        return (parts, error_json(status)).into_response();
    }
    response
}

/// A fresh request, as a server would hand one over.
pub fn request(method: Method, uri: &str) -> Request {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .expect("a valid request")
}

/// One request through `service`, the way a server drives it: clone the service, wait until it
/// is ready, call it, then poll the body frame by frame, as hyper does when it writes one out.
/// Returns the status and the body's length.
///
/// The frames are dropped, not gathered (`BodyExt::collect` would push every data frame into a
/// buffer list, one allocation that a server never makes and that only bodies with data pay).
pub async fn send<S, B>(service: &S, request: Request) -> (StatusCode, usize)
where
    S: Service<Request, Response = http::Response<B>> + Clone,
    S::Error: Debug,
    B: http_body::Body<Data = Bytes>,
    B::Error: Debug,
{
    let mut service = service.clone();
    let response = service
        .ready()
        .await
        .expect("the service is ready")
        .call(request)
        .await
        .expect("the service answers");
    let status = response.status();
    let mut body = std::pin::pin!(response.into_body());
    let mut len = 0;
    while let Some(frame) = body.as_mut().frame().await {
        if let Ok(data) = frame.expect("the body is read").into_data() {
            len += data.len();
        }
    }
    (status, len)
}

/// The requests the benchmarks send.
pub mod requests {
    use super::*;

    /// `GET /hello`: 200 on every stack.
    pub fn hello() -> Request {
        request(Method::GET, "/hello")
    }

    /// `GET /missing`: axum's empty 404, rewritten to JSON by every stack but `bare`.
    pub fn missing() -> Request {
        request(Method::GET, "/missing")
    }

    /// `POST /reports/1234/result`: GET-only in the policy, so `layer` answers 405.
    pub fn not_allowed() -> Request {
        request(Method::POST, "/reports/1234/result")
    }

    /// `POST /payments`: planned in the policy, so `layer` answers 501.
    pub fn planned() -> Request {
        request(Method::POST, "/payments")
    }

    /// `BREW /hello`: a method no server recognizes, so every layer answers 501.
    pub fn unrecognized() -> Request {
        request(
            Method::from_bytes(b"BREW").expect("a valid method token"),
            "/hello",
        )
    }
}
