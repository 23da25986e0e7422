//! 503 `overloaded`: the in-flight limit, load shedding, and permits given back on completion
//! and on cancellation (in process and over real sockets).

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::{call, collect, request, send, serve, Reply};
use http::{Request, Response, StatusCode};
use tokio::sync::Notify;
use tower::{Layer, Service, ServiceExt};
use tower_api_errors::ApiErrorLayer;

/// A Router whose `/wait` handler signals `started`, then waits for `release`.
fn waiting_router(started: Arc<Notify>, release: Arc<Notify>) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/wait",
            get(move || {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    "released"
                }
            }),
        )
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn assert_overloaded(reply: &Reply, retry_after: u64) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let header: u64 = reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(header, retry_after);
    let body = reply.error_body();
    assert_eq!(body["error"], "overloaded");
    assert_eq!(body["message"], "Service Unavailable");
    assert_eq!(body["retry_after"], retry_after);
}

#[tokio::test]
async fn over_the_limit_is_503_at_once_and_completion_frees_the_place() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let layer = ApiErrorLayer::new()
        .max_in_flight(1)
        .retry_after(Duration::from_secs(3));
    let gauge = layer.in_flight().unwrap();
    let app = layer.layer(waiting_router(started.clone(), release.clone()));

    let first = tokio::spawn(app.clone().oneshot(get_req("/wait")));
    started.notified().await;
    assert_eq!(gauge.current(), 1);

    assert_overloaded(&call(app.clone(), get_req("/hello")).await, 3);

    release.notify_one();
    let reply = collect(first.await.unwrap().unwrap()).await;
    assert_eq!(reply.body, "released");
    assert_eq!(gauge.current(), 0);
    assert_eq!(call(app, get_req("/hello")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_response_future_gives_its_place_back() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let layer = ApiErrorLayer::new().max_in_flight(1);
    let gauge = layer.in_flight().unwrap();
    let mut app = layer.layer(waiting_router(started.clone(), release));

    let ready = ServiceExt::<Request<Body>>::ready(&mut app).await.unwrap();
    let mut future = Box::pin(ready.call(get_req("/wait")));
    // Poll once: the handler starts and holds the only place.
    assert!(futures_poll(&mut future).is_pending());
    assert_eq!(gauge.current(), 1);
    assert_overloaded(&call(app.clone(), get_req("/hello")).await, 1);

    drop(future);
    assert_eq!(gauge.current(), 0);
    assert_eq!(call(app, get_req("/hello")).await.status, StatusCode::OK);
}

fn futures_poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx)
}

#[tokio::test]
async fn a_client_that_disconnects_gives_its_place_back() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let layer = ApiErrorLayer::new().max_in_flight(1);
    let gauge = layer.in_flight().unwrap();
    let addr = serve(layer.layer(waiting_router(started.clone(), release))).await;

    for _ in 0..3 {
        let client = tokio::spawn(send(addr, request("GET", "/wait")));
        started.notified().await;
        assert_eq!(gauge.current(), 1);
        // Over the limit while the first request waits: a complete 503 over the socket.
        assert_overloaded(&send(addr, request("GET", "/hello")).await, 1);
        // The client goes away; the server drops the request's future, and the permit.
        client.abort();
        let _ = client.await;
        wait_until(|| gauge.current() == 0).await;
    }
    assert_eq!(
        send(addr, request("GET", "/hello")).await.status,
        StatusCode::OK
    );
}

/// Waits (on the runtime, not on a timer) until `condition` holds; the connection task needs
/// some turns to see the disconnect.
async fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..10_000 {
        if condition() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("condition never held");
}

/// A service that is never ready.
#[derive(Clone)]
struct NeverReady;

impl Service<Request<Body>> for NeverReady {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Pending
    }

    fn call(&mut self, _req: Request<Body>) -> Self::Future {
        unreachable!("never ready, never called")
    }
}

#[tokio::test]
async fn shedding_answers_503_when_the_inner_service_is_not_ready() {
    let app = ApiErrorLayer::new().shed_when_not_ready().layer(NeverReady);
    assert_overloaded(&call(app, get_req("/")).await, 1);

    // Without shedding, the caller waits, as with any tower service.
    let mut waiting = ApiErrorLayer::new().layer(NeverReady);
    let mut ready = pin!(ServiceExt::<Request<Body>>::ready(&mut waiting));
    assert!(futures_poll(&mut ready).is_pending());
}

/// A service whose readiness fails.
#[derive(Clone)]
struct BrokenReadiness;

impl Service<Request<Body>> for BrokenReadiness {
    type Response = Response<Body>;
    type Error = tower::BoxError;
    type Future = std::future::Ready<Result<Response<Body>, tower::BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), tower::BoxError>> {
        Poll::Ready(Err(tower::load_shed::error::Overloaded::new().into()))
    }

    fn call(&mut self, _req: Request<Body>) -> Self::Future {
        unreachable!("never ready, never called")
    }
}

#[tokio::test]
async fn a_readiness_error_is_classified_like_a_call_error() {
    let app = ApiErrorLayer::new().layer(BrokenReadiness);
    assert_overloaded(&call(app, get_req("/")).await, 1);
}

#[tokio::test]
async fn tower_load_shed_inside_the_layer_is_503() {
    let inner = tower::ServiceBuilder::new().load_shed().service(NeverReady);
    let app = ApiErrorLayer::new().layer(inner);
    assert_overloaded(&call(app, get_req("/")).await, 1);
}
