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
