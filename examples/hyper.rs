//! `cargo run --example hyper`: the layer in front of a plain `tower::service_fn`, served by
//! hyper-util on 127.0.0.1:3001. The inner service fails with ordinary errors; the layer turns
//! them into the documented body:
//!
//! - `curl -i localhost:3001/upstream` → the service returns an `io::ErrorKind::TimedOut`
//!   error → 504 `gateway_timeout`;
//! - `curl -i localhost:3001/db` → an error whose text names a database host → 500
//!   `internal_error`, the text logged, not sent;
//! - `curl -i localhost:3001/slow` → past the layer's 1 s deadline → 504;
//! - `curl -i localhost:3001/` → 200.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::{BoxError, ServiceBuilder};
use tower_api_errors::ApiErrorLayer;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, BoxError> {
    match req.uri().path() {
        "/upstream" => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "upstream").into()),
        "/db" => Err("connection to db-primary.internal:5432 refused".into()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(Response::new(Full::from("slow")))
        }
        _ => Ok(Response::new(Full::from("hello from hyper\n"))),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt::init();
    // `Error = Infallible`: every failure of `handle` leaves as a response.
    let service = ServiceBuilder::new()
        .layer(ApiErrorLayer::new().timeout(Duration::from_secs(1)))
        .service_fn(handle);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(error) = served {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}
