//! 503 `shutting_down`: once a `Drain` is triggered, new requests are refused with
//! `Connection: close` (HTTP/1.1) while the ones in flight finish; over real sockets.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{collect, request, send, send_h2, serve, waiting_router};
use http::StatusCode;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;
use tower::Layer;
use tower_api_errors::overload::{Drain, Limit};
use tower_api_errors::ApiErrorLayer;

#[tokio::test]
async fn a_triggered_drain_refuses_new_requests_and_closes_http1_connections() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let drain = Drain::with_retry_after(Duration::from_secs(3));
    let app = ApiErrorLayer::new()
        .limit(Limit::fixed(64))
        .drain(drain.clone())
        .layer(waiting_router(started.clone(), release.clone()));
    let addr = serve(app).await;

    // A keep-alive HTTP/1.1 connection, used once before the drain.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let hello = || {
        http::Request::get("/hello")
            .header("host", addr.to_string())
            .body(Full::<Bytes>::default())
            .unwrap()
    };
    let reply = collect(sender.send_request(hello()).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.headers.contains_key("connection"));

    // One request in flight when the drain starts.
    let in_flight = tokio::spawn(send(addr, request("GET", "/wait")));
    started.notified().await;
    assert_eq!(drain.in_flight(), 1);
    drain.trigger();

    // The kept-alive connection's next request: 503, Connection: close, and the server closes.
    let reply = collect(sender.send_request(hello()).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["connection"], "close");
    assert_eq!(reply.headers["retry-after"], "3");
    let body = reply.error_body();
    assert_eq!(body["error"], "shutting_down");
    assert_eq!(body["retry_after"], 3);
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the server closes the connection")
        .unwrap()
        .unwrap();

    // A new HTTP/2 connection is refused too, without the connection-specific header.
    let reply = send_h2(addr, request("GET", "/hello")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!reply.headers.contains_key("connection"));

    // The request that was in flight finishes normally, and the drain sees it go.
    assert_eq!(drain.in_flight(), 1);
    release.notify_one();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "released");
    tokio::time::timeout(Duration::from_secs(10), drain.drained())
        .await
        .expect("nothing left in flight");
    assert_eq!(drain.in_flight(), 0);
}

#[tokio::test]
async fn a_drain_counts_without_a_limit() {
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let drain = Drain::new();
    let layer = ApiErrorLayer::new().drain(drain.clone());
    let app = layer.layer(waiting_router(started.clone(), release.clone()));
    let gauge = app.in_flight().expect("the drain counts").clone();
    assert_eq!(gauge.limit(), usize::MAX);
    let addr = serve(app).await;
    let waiting = tokio::spawn(send(addr, request("GET", "/wait")));
    started.notified().await;
    assert_eq!(drain.in_flight(), 1);
    release.notify_one();
    assert_eq!(waiting.await.unwrap().status, StatusCode::OK);
    assert_eq!(
        send(addr, request("GET", "/hello")).await.status,
        StatusCode::OK
    );
}

/// Issue 21, item 6: `Drain::triggered` starts the server's graceful shutdown the moment the
/// drain begins, so an HTTP/2 client gets a `GOAWAY` and moves on, instead of getting
/// `503 shutting_down` on the same connection for as long as it keeps it open.
#[tokio::test]
async fn a_triggered_drain_sends_http2_clients_a_goaway() {
    use hyper_util::rt::TokioExecutor;
    use hyper_util::server::conn::auto;
    use hyper_util::server::graceful::GracefulShutdown;
    use hyper_util::service::TowerToHyperService;

    let drain = Drain::new();
    let router = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    let service = TowerToHyperService::new(ApiErrorLayer::new().drain(drain.clone()).layer(router));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let triggered = drain.triggered();
    let server = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut triggered = std::pin::pin!(triggered);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted.unwrap();
                    let connection = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service.clone())
                        .into_owned();
                    tokio::spawn(graceful.watch(connection));
                }
                () = &mut triggered => break,
            }
        }
        // GOAWAY to every HTTP/2 connection; in-flight streams may finish.
        graceful.shutdown().await;
    });

    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let get = || {
        http::Request::get(format!("http://{addr}/hello"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let reply = collect(sender.send_request(get()).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);

    drain.trigger();
    // The server ends the connection (GOAWAY, then close) without the client closing it.
    tokio::time::timeout(Duration::from_secs(10), connection)
        .await
        .expect("the server sends GOAWAY and closes the connection")
        .unwrap()
        .unwrap();
    assert!(
        sender.send_request(get()).await.is_err(),
        "no new stream after GOAWAY"
    );
    server.await.unwrap();
}

/// `triggered` completes at once for a drain already triggered, and for every waiter.
#[tokio::test]
async fn triggered_wakes_every_waiter() {
    let drain = Drain::new();
    let first = tokio::spawn(drain.triggered());
    let second = tokio::spawn(drain.triggered());
    tokio::task::yield_now().await;
    assert!(!first.is_finished());
    drain.trigger();
    first.await.unwrap();
    second.await.unwrap();
    drain.triggered().await;
}

#[path = "../examples/graceful_shutdown.rs"]
#[allow(dead_code)]
mod graceful_shutdown;

/// Issue 21, item 6: `examples/graceful_shutdown.rs`'s `serve`, with the drain triggered by the
/// test instead of a signal, over 127.0.0.1 (HTTP/1.1 and h2c): the request in flight
/// completes, new requests during the drain get `503 shutting_down` with `Retry-After`, and
/// once nothing is in flight the server shuts down (the h2 client gets its `GOAWAY`) and its
/// future ends by itself, long before the grace period's end or the hard stop. Tokio's paused
/// clock, held still while the sockets are waited on ([`StillClock`]): it does not move at all,
/// since the drain is woken by the last request, not by a timer.
#[tokio::test(start_paused = true)]
async fn the_graceful_shutdown_example_drains_then_closes() {
    use hyper_util::rt::TokioExecutor;

    const HOUR: Duration = Duration::from_secs(3600);
    let clock = StillClock::hold();
    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let drain = Drain::with_retry_after(Duration::from_secs(3));
    let app = ApiErrorLayer::new()
        .drain(drain.clone())
        .wrap(waiting_router(started.clone(), release.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (signal, signalled) = tokio::sync::oneshot::channel::<()>();
    let signalled = async move {
        let _ = signalled.await;
    };
    let server = tokio::spawn(graceful_shutdown::serve(
        listener,
        app,
        drain.clone(),
        signalled,
        HOUR,
        HOUR,
    ));

    // An HTTP/2 connection, used once before the drain.
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2, h2_connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let h2_connection = tokio::spawn(h2_connection);
    let hello = || {
        http::Request::get(format!("http://{addr}/hello"))
            .body(Full::new(Bytes::new()))
            .unwrap()
    };
    let reply = collect(h2.send_request(hello()).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);

    // One request in flight when the signal comes.
    let in_flight = tokio::spawn(send(addr, request("GET", "/wait")));
    started.notified().await;
    let triggered_at = tokio::time::Instant::now();
    signal.send(()).unwrap();
    drain.triggered().await;

    // While it drains, the server still accepts, and answers every new request 503.
    let refused = send(addr, request("GET", "/hello")).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "3");
    assert_eq!(refused.headers["connection"], "close");
    assert_eq!(refused.error_body()["error"], "shutting_down");
    let refused = collect(h2.send_request(hello()).await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers["retry-after"], "3");
    assert_eq!(refused.error_body()["error"], "shutting_down");
    assert!(!server.is_finished(), "a request is still in flight");

    // The request in flight completes normally; then the server shuts down by itself.
    release.notify_one();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "released");
    assert_eq!(drain.in_flight(), 0);
    // The last request to finish wakes the drain (no polling), and the graceful shutdown
    // begins: the server future ends with the clock where it was.
    server.await.unwrap().expect("served");
    assert_eq!(triggered_at.elapsed(), Duration::ZERO);
    // The h2 client got its GOAWAY: its connection ended, no new stream opens.
    h2_connection.await.unwrap().unwrap();
    assert!(
        h2.send_request(hello()).await.is_err(),
        "no stream after GOAWAY"
    );
    drop(clock);
}

/// Keeps tokio's paused clock from advancing by itself while the runtime waits for sockets: a
/// running blocking task inhibits auto-advance (`tokio::time::pause`'s documentation), and this
/// one runs until the guard is dropped. The test then moves the clock with `advance`.
struct StillClock {
    /// Dropped with the guard: the blocking task's `recv` returns, and it ends.
    _release: std::sync::mpsc::Sender<()>,
}

impl StillClock {
    fn hold() -> Self {
        let (release, held) = std::sync::mpsc::channel::<()>();
        tokio::task::spawn_blocking(move || {
            let _ = held.recv();
        });
        Self { _release: release }
    }
}
