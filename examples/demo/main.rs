//! `cargo run --example demo`: the API of the status-code document, with every status of its
//! table reachable by a curl command.
//!
//! Errors are the document's JSON (`application/json`) unless `Accept` asks for another shape:
//! `application/problem+json` (RFC 9457), `application/vnd.google.rpc.status+json` (AIP-193,
//! a `google.rpc.Status`) or `application/vnd.api+json` (JSON:API error objects), e.g.
//! `curl -H 'accept: application/vnd.api+json' localhost:3000/notes/1`.
//!
//! Flags: `--addr 127.0.0.1:3000` (port 0 picks a free one), `--timeout-ms 2000`,
//! `--max-in-flight 64` (or `auto`: the adaptive limit), `--retry-after 1` (seconds),
//! `--db-pool 8` and `--db-ms 5` (the simulated database behind `/reports/{id}/result`).
//! Stops gracefully on Ctrl-C or SIGTERM: first it drains (new requests get
//! `503 shutting_down`, the ones in flight finish), then the connections close.

mod app;

use std::net::SocketAddr;
use std::time::Duration;

use axum::ServiceExt;

fn usage() -> ! {
    eprintln!(
        "usage: demo [--addr 127.0.0.1:3000] [--timeout-ms 2000] [--max-in-flight 64|auto] [--retry-after 1] [--db-pool 8] [--db-ms 5]"
    );
    std::process::exit(2)
}

fn parse_args() -> (SocketAddr, app::Settings) {
    let mut addr: SocketAddr = "127.0.0.1:3000".parse().expect("a valid default address");
    let mut settings = app::Settings::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else { usage() };
        match flag.as_str() {
            "--addr" => addr = value.parse().unwrap_or_else(|_| usage()),
            "--timeout-ms" => {
                settings.timeout = Duration::from_millis(value.parse().unwrap_or_else(|_| usage()))
            }
            "--max-in-flight" => settings.max_in_flight = value.parse().unwrap_or_else(|_| usage()),
            "--db-pool" => settings.db_pool = value.parse().unwrap_or_else(|_| usage()),
            "--db-ms" => {
                settings.db_time = Duration::from_millis(value.parse().unwrap_or_else(|_| usage()))
            }
            "--retry-after" => {
                settings.retry_after =
                    Duration::from_secs(value.parse().unwrap_or_else(|_| usage()))
            }
            _ => usage(),
        }
    }
    (addr, settings)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (addr, settings) = parse_args();
    let app::Demo {
        service,
        maintenance,
        in_flight,
        drain,
    } = app::demo(&settings);
    // Listen for the signals before saying where we listen: a SIGTERM that comes right after
    // must drain, not kill the process.
    let shutdown = shutdown_signal();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    print_tour(addr);
    // The layer wraps the whole Router (not `Router::layer`), so the Router's own 404s and
    // 405s go through it too.
    // On the signal: refuse new requests (`503 shutting_down`), let the ones in flight finish
    // (each bounded by its deadline, at most the reports' 10 s), then the graceful shutdown
    // closes the connections (HTTP/2 clients get their GOAWAY).
    let grace = settings.timeout.max(Duration::from_secs(10));
    let watched = drain.clone();
    let signalled = async move {
        shutdown.await;
        println!("draining: {} requests in flight", watched.in_flight());
    };
    axum::serve(listener, service.into_axum().into_make_service())
        .with_graceful_shutdown(drain.shutdown_on(signalled, grace))
        .await?;
    println!(
        "stopped: {} requests in flight, maintenance {}",
        in_flight.current(),
        if maintenance.is_enabled() {
            "on"
        } else {
            "off"
        }
    );
    Ok(())
}

fn print_tour(addr: SocketAddr) {
    let url = format!("http://{addr}");
    let t = app::TOKEN;
    println!(
        "\nTry (add -i to see the headers):
  200  curl {url}/health
  200  curl {url}/reports/1234/result     (one query to the simulated database)
  504  curl {url}/reports/1234/result -H 'x-request-timeout-ms: 0'
  201  curl -X POST {url}/notes -H 'content-type: application/json' -d '{{\"customer_id\":1001,\"body\":\"This is a test note.\"}}'
  400  curl -X POST {url}/notes -H 'content-type: application/json' -d '{{\"body\":\"no customer\"}}'
  400  curl -X POST {url}/notes -H 'content-type: application/json' -d '{{\"customer_id\":'
  422  curl -X POST {url}/notes -H 'content-type: application/json' -d '{{\"customer_id\":1.5,\"body\":\"x\"}}'
  401  curl {url}/private
  403  curl {url}/private -H 'authorization: Bearer wrong'
  404  curl {url}/notes/1
  405  curl -X POST {url}/reports/1234/result
  500  curl {url}/panic
  501  curl -X POST {url}/payments
  501  curl -X BREW {url}/
  503  curl -X PUT {url}/admin/maintenance -H 'authorization: Bearer {t}'; curl {url}/payments
       curl -X DELETE {url}/admin/maintenance -H 'authorization: Bearer {t}'
  504  curl '{url}/slow?ms=5000'
  408  curl -X POST {url}/notes -H 'content-type: application/json' -H 'content-length: 100' -d '{{' (a stalled upload)
  200  curl {url}/metrics   (Prometheus text, with `--features metrics`; without it, 501 metrics_disabled)
"
    );
}

/// Completes on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called, not
/// when the future is first polled: a SIGTERM right after start drains instead of killing.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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
        println!("shutting down");
    }
}
