//! `cargo run --example axum`: an axum app behind `ApiErrorLayer`, with CORS, tracing and
//! request ids around it, on 127.0.0.1:3000.
//!
//! Try `curl -i localhost:3000/api/v1/notes/1` (a domain error), `curl -i -X POST
//! localhost:3000/api/v1/payments` (501, planned), `curl -i localhost:3000/nowhere` (axum's
//! empty 404, normalized) and `curl -i -X OPTIONS localhost:3000/api/v1/payments`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{header, HeaderName, Method};
use axum::routing::get;
use axum::{Json, Router};
use tower::Layer;
use tower_api_errors::{ApiError, ApiErrorLayer, Limit, MethodPolicy, Resource};
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

async fn note(Path(id): Path<u64>) -> Result<Json<serde_json::Value>, ApiError> {
    Err(ApiError::not_found().with_detail(format!("There is no note {id}.")))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // TraceLayer: a span per request, with its latency. The layer: one `error response` event
    // per error it sends (status, error code, method, path, request id; 5xx at WARN, 4xx at
    // DEBUG), inside TraceLayer's span, and ERROR lines for what it must not send (panics,
    // inner errors). `tower_api_errors=debug` shows the 4xx events too.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=debug,tower_api_errors=debug".into()),
        )
        .init();

    let v1 = Router::new()
        .route("/notes/{id}", get(note))
        .route("/payments", get(|| async { Json(serde_json::json!([])) }));
    let routes = Router::new().nest("/api/v1", v1);
    // Patterns are relative to where the layer sits; `nest` writes the prefix once.
    let policy = MethodPolicy::builder()
        .nest(
            "/api/v1",
            MethodPolicy::builder().resource(
                "/payments",
                Resource::allow([Method::GET]).plan([Method::POST]),
            ),
        )
        .build()
        .expect("a valid route table");

    let request_id = HeaderName::from_static("x-request-id");
    let app: Router = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .limit(Limit::fixed(256))
        .method_policy(policy)
        .layer(routes)
        // Back to an axum Router: what comes next wraps the layer, so its own answers (405,
        // 501, 503, 504) get CORS headers and request ids too.
        .into_router()
        .layer(
            // A browser reads `Allow` and `Retry-After` only when they are exposed; the body's
            // `allowed` and `retry_after` members are always readable.
            CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .expose_headers([header::ALLOW, header::RETRY_AFTER]),
        )
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
