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
use common::{call, collect, request, send, serve, waiting_router, Reply};
use http::{Request, Response, StatusCode};
use tokio::sync::Notify;
use tower::{Layer, Service, ServiceExt};
use tower_api_errors::overload::{InFlight, Limit};
use tower_api_errors::ApiErrorLayer;

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
    let layer = ApiErrorLayer::new().limit(Limit::fixed(1).retry_after(Duration::from_secs(3)));
    let app = layer.layer(waiting_router(started.clone(), release.clone()));
    let gauge = app.in_flight().unwrap().clone();

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
    let layer = ApiErrorLayer::new().limit(Limit::fixed(1));
    let mut app = layer.layer(waiting_router(started.clone(), release));
    let gauge = app.in_flight().unwrap().clone();

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

/// Issue 20, item 2: layers derived from one base configuration do not share a place by
/// accident (an admin router answered 503 while the public one held the only place); a count
/// is shared only when the handle is given to each layer.
#[tokio::test]
async fn layers_share_a_count_only_when_given_one() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let base = ApiErrorLayer::new().limit(Limit::fixed(1));
    let public = base
        .clone()
        .layer(waiting_router(started.clone(), release.clone()));
    let admin = base.layer(waiting_router(started.clone(), release.clone()));
    let holding = tokio::spawn(call(public.clone(), get_req("/wait")));
    started.notified().await;
    assert_overloaded(&call(public.clone(), get_req("/hello")).await, 1);
    assert_eq!(call(admin, get_req("/hello")).await.status, StatusCode::OK);
    release.notify_one();
    assert_eq!(holding.await.unwrap().status, StatusCode::OK);

    let shared = InFlight::new(Limit::fixed(1));
    let public = ApiErrorLayer::new()
        .shared_limit(shared.clone())
        .layer(waiting_router(started.clone(), release.clone()));
    let admin = ApiErrorLayer::new()
        .shared_limit(shared.clone())
        .layer(waiting_router(started.clone(), release.clone()));
    let holding = tokio::spawn(call(public, get_req("/wait")));
    started.notified().await;
    assert_eq!(shared.current(), 1);
    assert_overloaded(&call(admin, get_req("/hello")).await, 1);
    release.notify_one();
    assert_eq!(holding.await.unwrap().status, StatusCode::OK);
    assert_eq!(shared.current(), 0);
}

fn futures_poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    std::pin::Pin::new(future).poll(&mut cx)
}

#[tokio::test]
async fn a_client_that_disconnects_gives_its_place_back() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let layer = ApiErrorLayer::new().limit(Limit::fixed(1));
    let app = layer.layer(waiting_router(started.clone(), release));
    let gauge = app.in_flight().unwrap().clone();
    let addr = serve(app).await;

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

/// The route table of the priority tests: `/health` critical, `/reports` sheddable, the rest
/// normal.
fn priority_policy() -> tower_api_errors::policy::MethodPolicy {
    use http::Method;
    use tower_api_errors::policy::{MethodPolicy, Resource};
    MethodPolicy::builder()
        .resource("/health", Resource::allow([Method::GET]).critical())
        .resource("/reports", Resource::allow([Method::GET]).sheddable())
        .resource("/hello", Resource::allow([Method::GET]))
        .resource("/wait", Resource::allow([Method::GET]))
        .build()
        .unwrap()
}

#[tokio::test]
async fn critical_requests_are_never_shed_and_sheddable_ones_go_first() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let router = waiting_router(started.clone(), release.clone())
        .route("/health", get(|| async { "ok" }))
        .route("/reports", get(|| async { "report" }));
    let layer = ApiErrorLayer::new()
        .limit(Limit::fixed(4))
        .method_policy(priority_policy());
    let app = layer.layer(router);
    let gauge = app.in_flight().unwrap().clone();

    let mut waiting = Vec::new();
    for in_flight in 1..=4 {
        waiting.push(tokio::spawn(app.clone().oneshot(get_req("/wait"))));
        started.notified().await;
        assert_eq!(gauge.current(), in_flight);
        let sheddable = call(app.clone(), get_req("/reports")).await.status;
        let normal = call(app.clone(), get_req("/hello")).await.status;
        let critical = call(app.clone(), get_req("/health")).await.status;
        // Sheddable fills 3 of 4 places, normal all 4, critical goes over.
        assert_eq!(sheddable == StatusCode::OK, in_flight < 3, "{in_flight}");
        assert_eq!(normal == StatusCode::OK, in_flight < 4, "{in_flight}");
        assert_eq!(critical, StatusCode::OK);
    }
    // A request extension overrides the route table, both ways.
    let mut marked = get_req("/hello");
    marked
        .extensions_mut()
        .insert(tower_api_errors::overload::Criticality::Critical);
    assert_eq!(call(app.clone(), marked).await.status, StatusCode::OK);
    let mut marked = get_req("/health");
    marked
        .extensions_mut()
        .insert(tower_api_errors::overload::Criticality::Normal);
    assert_overloaded(&call(app.clone(), marked).await, 1);

    for _ in 0..4 {
        release.notify_one();
    }
    for task in waiting {
        assert_eq!(collect(task.await.unwrap().unwrap()).await.body, "released");
    }
    assert_eq!(gauge.current(), 0);
}

/// A Router whose `/reports/{id}/result` queues for one of `pool` connections and holds it
/// 10 ms, counting the queries it runs; `/health` answers at once.
fn database_router(pool: usize, queries: Arc<std::sync::atomic::AtomicUsize>) -> Router {
    let pool = Arc::new(tokio::sync::Semaphore::new(pool));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/reports/{id}/result",
            get(move || {
                let (pool, queries) = (pool.clone(), queries.clone());
                async move {
                    let _connection = pool.acquire().await.unwrap();
                    queries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    "complete"
                }
            }),
        )
}

#[tokio::test(start_paused = true)]
async fn the_adaptive_limit_finds_the_pool_and_refuses_short_deadlines() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower_api_errors::overload::AdaptiveConcurrency;
    use tower_api_errors::policy::{MethodPolicy, Resource};

    let queries = Arc::new(AtomicUsize::new(0));
    let policy = MethodPolicy::builder()
        .resource("/health", Resource::allow([http::Method::GET]).critical())
        .resource("/reports/{id}/result", Resource::allow([http::Method::GET]))
        .build()
        .unwrap();
    let layer = ApiErrorLayer::new()
        .timeout(Duration::from_secs(2))
        .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
        .limit(Limit::adaptive(AdaptiveConcurrency::default()))
        .method_policy(policy);
    let app = layer.layer(database_router(4, queries.clone()));
    let gauge = app.in_flight().unwrap().clone();

    // 32 clients in a closed loop for 3 s of the paused clock; a refused one waits 5 ms.
    let (ok, refused) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let (app, ok, refused) = (app.clone(), ok.clone(), refused.clone());
            tokio::spawn(async move {
                let end = tokio::time::Instant::now() + Duration::from_secs(3);
                while tokio::time::Instant::now() < end {
                    let reply = call(app.clone(), get_req("/reports/1/result")).await;
                    if reply.status == StatusCode::OK {
                        ok.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
                        if refused.fetch_add(1, Ordering::Relaxed) == 0 {
                            assert_eq!(reply.error_body()["error"], "overloaded");
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    // 4 connections × 10 ms: 400 per second is the capacity, 1 200 in 3 s.
    let served = ok.load(Ordering::Relaxed);
    assert!(served >= 1_080, "{served} served");
    assert!(refused.load(Ordering::Relaxed) > 0);
    // The report resource's own limit found the pool; the others were never busy.
    let reports = gauge.resource(Some("/reports/{id}/result")).unwrap();
    assert!((4..=8).contains(&reports.limit), "{reports:?}");
    assert_eq!(reports.min_latency, Some(Duration::from_millis(10)));
    assert_eq!(gauge.min_latency(), Some(Duration::from_millis(10)));
    assert_eq!(gauge.current(), 0);

    // A deadline shorter than the measured 10 ms is refused at once: 504, no query run.
    let before = queries.load(Ordering::Relaxed);
    let short = || {
        Request::get("/reports/1/result")
            .header("x-request-timeout-ms", "5")
            .body(Body::empty())
            .unwrap()
    };
    let reply = call(app.clone(), short()).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.error_body()["error"], "gateway_timeout");
    // The same request with the same deadline would fail again.
    assert_eq!(reply.error_body()["retryable"], false);
    assert_eq!(queries.load(Ordering::Relaxed), before);
    // A critical request with the same deadline is not judged by the others' latency.
    let health = Request::get("/health")
        .header("x-request-timeout-ms", "5")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(app.clone(), health).await.status, StatusCode::OK);
    // A malformed deadline is the client's mistake.
    let garbage = Request::get("/reports/1/result")
        .header("x-request-timeout-ms", "5ms")
        .body(Body::empty())
        .unwrap();
    let reply = call(app, garbage).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    reply.error_body();
}

/// The deadline check compares with the request's own resource: a fast route with a short
/// deadline is served after a slow route taught its controller 250 ms.
#[tokio::test(start_paused = true)]
async fn a_short_deadline_is_judged_by_its_own_resources_latency() {
    use tower_api_errors::overload::AdaptiveConcurrency;
    use tower_api_errors::policy::{MethodPolicy, Resource};

    let policy = MethodPolicy::builder()
        .resource("/slow", Resource::allow([http::Method::GET]))
        .resource("/fast", Resource::allow([http::Method::GET]))
        .build()
        .unwrap();
    let layer = ApiErrorLayer::new()
        .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
        .limit(Limit::adaptive(AdaptiveConcurrency::default()))
        .method_policy(policy);
    let router = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(250)).await;
                "slow"
            }),
        )
        .route("/fast", get(|| async { "fast" }));
    let app = layer.layer(router);
    let gauge = app.in_flight().unwrap().clone();
    // Enough traffic on /slow for its baseline: 8 at a time for 3 s.
    for _ in 0..12 {
        let batch: Vec<_> = (0..8)
            .map(|_| tokio::spawn(call(app.clone(), get_req("/slow"))))
            .collect();
        for reply in batch {
            assert_eq!(reply.await.unwrap().status, StatusCode::OK);
        }
    }
    let slow = gauge.resource(Some("/slow")).unwrap();
    assert_eq!(slow.min_latency, Some(Duration::from_millis(250)));
    let with_deadline = |path: &str, ms: &str| {
        Request::get(path)
            .header("x-request-timeout-ms", ms)
            .body(Body::empty())
            .unwrap()
    };
    // 50 ms is plenty for /fast, whatever /slow takes.
    let reply = call(app.clone(), with_deadline("/fast", "50")).await;
    assert_eq!(reply.status, StatusCode::OK);
    // And too little for /slow: refused at once, not retryable.
    let reply = call(app.clone(), with_deadline("/slow", "50")).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.error_body()["retryable"], false);
    // A zero deadline can never be met, on any resource.
    let reply = call(app, with_deadline("/fast", "0")).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply.error_body()["retryable"], false);
}
