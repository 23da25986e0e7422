//! The server `benches/load.sh` loads: `GET /hello` through one of the stacks of
//! `benches/overhead.rs`, on one thread (a tokio `current_thread` runtime), over HTTP/1.1.
//!
//! ```text
//! cargo run --release --example load_server -- --stack bare|layer|layer_minimal|peer_stack \
//!     --addr 127.0.0.1:0 --seconds 60
//! ```
//!
//! It prints `listening on http://ADDR` (with the real port) and stops by itself after
//! `--seconds` (default 60), or on Ctrl-C.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

#[path = "../benches/support/stacks.rs"]
mod stacks;

struct Args {
    stack: String,
    addr: SocketAddr,
    seconds: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: load_server [--stack bare|layer|layer_minimal|peer_stack] [--addr 127.0.0.1:0] \
         [--seconds 60]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        stack: "bare".to_owned(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        seconds: 60,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--stack" => args.stack = value,
            "--addr" => args.addr = value.parse().unwrap_or_else(|_| usage()),
            "--seconds" => args.seconds = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let seconds = args.seconds;
        match args.stack.as_str() {
            "bare" => serve(args.addr, seconds, stacks::bare()).await,
            "layer" => serve(args.addr, seconds, stacks::layer()).await,
            "layer_minimal" => serve(args.addr, seconds, stacks::layer_minimal()).await,
            "peer_stack" => serve(args.addr, seconds, stacks::peer_stack()).await,
            _ => usage(),
        }
    });
}

/// Accepts connections until `seconds` have passed or Ctrl-C; each request goes to a clone of
/// `service`, as axum's own server does.
async fn serve<S, B>(addr: SocketAddr, seconds: u64, service: S)
where
    S: Service<Request, Response = http::Response<B>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind(addr).await.expect("bind");
    let local = listener.local_addr().expect("a local address");
    println!("listening on http://{local}");

    let stop = stop_signal(seconds);
    tokio::pin!(stop);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("accept: {error}");
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let hyper_service =
                hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                    service.clone().oneshot(request.map(axum::body::Body::new))
                });
            // Clients closing their connections mid-way are normal under load.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), hyper_service)
                .await;
        });
    }
    println!("stopped");
}

/// Completes after `seconds`, or on Ctrl-C.
async fn stop_signal(seconds: u64) {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs(seconds)) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
