//! `cargo run --example axum`: an axum app behind `ApiErrorLayer`, on 127.0.0.1:3000.
//!
//! Try `curl -i localhost:3000/notes/1` (a domain error), `curl -i -X POST
//! localhost:3000/payments` (501, planned) and `curl -i localhost:3000/nowhere` (axum's empty
//! 404, normalized).

use std::time::Duration;

use axum::{extract::Path, http::Method, routing::get, Json, Router, ServiceExt};
use tower::Layer;
use tower_api_errors::{ApiError, ApiErrorLayer, MethodPolicy, Resource};

async fn note(Path(id): Path<u64>) -> Result<Json<serde_json::Value>, ApiError> {
    Err(ApiError::not_found().with_detail(format!("There is no note {id}.")))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let router = Router::new()
        .route("/notes/{id}", get(note))
        .route("/payments", get(|| async { Json(serde_json::json!([])) }));
    let policy = MethodPolicy::builder()
        .resource(
            "/payments",
            Resource::allow([Method::GET]).plan([Method::POST]),
        )
        .build()
        .expect("a valid route table");
    let app = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .max_in_flight(256)
        .method_policy(policy)
        .layer(router);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_axum().into_make_service()).await
}
