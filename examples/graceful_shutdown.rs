//! `cargo run --example graceful_shutdown`: axum 0.8 behind the layer, stopped gracefully on
//! Ctrl-C or SIGTERM.
//!
//! 1. The signal triggers the [`Drain`]: every new request, a load balancer's health check
//!    too, gets `503 shutting_down` with `Retry-After` (and `Connection: close` on HTTP/1.1),
//!    while the server still accepts connections, so the balancer reads the 503 and moves on.
//! 2. The requests in flight finish: the server waits until none is left, at most [`GRACE`].
//! 3. Then axum's graceful shutdown: it stops accepting, sends HTTP/2 clients a `GOAWAY` (they
//!    would keep their connection, and its 503s, otherwise), closes idle HTTP/1.1 connections,
//!    and `serve` returns once every connection is closed; a [hard stop](HARD_STOP) bounds that
//!    too.
//!
//! ```text
//! $ cargo run --example graceful_shutdown &
//! $ curl -s localhost:3000/slow & sleep 0.5; kill -TERM %1; curl -si localhost:3000/
//! HTTP/1.1 503 Service Unavailable
//! connection: close
//! retry-after: 1
//! ...
//! {"ok":false,"status":503,"error":"shutting_down",...}
//! slow, but done                      <- the request in flight finished
//! ```
//!
//! `tests/drain.rs` runs [`serve`] over 127.0.0.1 with a drain it triggers itself.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_api_errors::overload::Drain;
use tower_api_errors::ApiErrorLayer;

/// How long the requests in flight get once the drain begins: longer than the layer's timeout,
/// so that every one of them can end (in a `504` at worst).
pub const GRACE: Duration = Duration::from_secs(10);

/// How long the connections get to close after that (an HTTP/2 client that keeps a stream
/// open, a request past its grace): then `serve` returns anyway, and with it the process.
pub const HARD_STOP: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Installed before listening: a SIGTERM right after start drains instead of killing.
    let signal = shutdown_signal();
    let drain = Drain::new(); // Retry-After: 1
    let app = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .drain(drain.clone())
        .wrap(routes());
    let listener = TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, app, drain, signal, GRACE, HARD_STOP).await?;
    println!("stopped");
    Ok(())
}

/// `/` at once, `/slow` in two seconds: a request to be in flight when the signal comes.
pub fn routes() -> Router {
    Router::new().route("/", get(|| async { "hello" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "slow, but done"
        }),
    )
}

/// Serves `app` (with `drain` in its [`ApiErrorLayer`]) on `listener` until `signal`, then
/// drains, waits for the requests in flight (at most `grace`) and shuts down gracefully; returns
/// once every connection is closed, or `hard_stop` after the graceful shutdown began.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    drain: Drain,
    signal: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
    hard_stop: Duration,
) -> std::io::Result<()> {
    let (begun, shutting_down) = tokio::sync::oneshot::channel();
    // Steps 1 and 2, then 3 starts when this completes.
    let drained = drain.shutdown_on(signal, grace);
    let shutdown = async move {
        drained.await;
        println!("draining over: {} requests in flight", drain.in_flight());
        let _ = begun.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    let stop = async move {
        if shutting_down.await.is_ok() {
            tokio::time::sleep(hard_stop).await;
        } else {
            // The server ended before its shutdown began (it failed): nothing to bound.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        served = server.into_future() => served,
        () = stop => {
            println!("connections still open {hard_stop:?} after the drain: stopping anyway");
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called, not
/// when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            match terminate {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = terminate => {},
        }
        println!("shutting down: draining");
    }
}
