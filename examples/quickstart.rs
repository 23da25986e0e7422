//! The README's first example, as it stands there (`tests/readme.rs` keeps the two the same):
//! `cargo run --example quickstart`, then `curl -i localhost:3000/notes/7`.

use axum::{routing::get, Router};
use std::time::Duration;
use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
use tower_api_errors::{ApiError, ApiErrorLayer};

async fn note() -> Result<String, ApiError> {
    Err(ApiError::not_found()) // 404, in the documented body
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let routes = Router::new().route("/notes/{id}", get(note));
    let app: Router = ApiErrorLayer::new()
        .timeout(Duration::from_secs(2)) // 504 after 2 s
        .limit(Limit::adaptive(AdaptiveConcurrency::default())) // 503 + Retry-After
        .wrap(routes); // the whole Router
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await
}
