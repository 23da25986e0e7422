//! `cargo run --example axum`: an axum app behind `ApiErrorLayer`, routes declared once, with
//! CORS, tracing and request ids around it, on 127.0.0.1:3000.
//!
//! Try `curl -i localhost:3000/api/v1/notes/1` (a domain error), `curl -i
//! localhost:3000/api/v1/notes/x` (`Path`: `errors` names `/id`), `curl -i -X POST
//! localhost:3000/api/v1/payments` (501, planned), `curl -i localhost:3000/nowhere` (axum's
//! empty 404, normalized) and `curl -i -X OPTIONS localhost:3000/api/v1/payments`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{header, HeaderName, Method, StatusCode};
use axum::Router;
use tower_api_errors::extract::{Json, Path};
use tower_api_errors::overload::Limit;
use tower_api_errors::routing::{get, ApiRouter};
use tower_api_errors::{ApiError, ApiErrorLayer};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

async fn note(Path(id): Path<u64>) -> Result<Json<serde_json::Value>, ApiError> {
    Err(ApiError::not_found().with_detail(format!("There is no note {id}.")))
}

/// TraceLayer's `on_failure` without the 5xx the layer answers on purpose: a planned (or
/// unrecognized) method's `501`, and the `503` of maintenance, overload and drain, which have
/// their own `error response` event at `WARN`. Every other 5xx is an `ERROR`, as with
/// TraceLayer's default.
pub fn on_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    match class {
        ServerErrorsFailureClass::StatusCode(status)
            if status == StatusCode::NOT_IMPLEMENTED
                || status == StatusCode::SERVICE_UNAVAILABLE =>
        {
            tracing::debug!(status = status.as_u16(), ?latency, "refused on purpose");
        }
        class => tracing::error!(%class, ?latency, "response failed"),
    }
}

/// The app: the routes and their method policy in one declaration, behind the layer, and the
/// layers that see every answer around it.
pub fn app() -> Router {
    let v1 = ApiRouter::new().route("/notes/{id}", get(note)).route(
        "/payments",
        get(|| async { Json(serde_json::json!([])) }).plan(Method::POST),
    );
    let layer = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .limit(Limit::fixed(256));
    let request_id = HeaderName::from_static("x-request-id");
    ApiRouter::new()
        .nest("/api/v1", v1)
        .into_service(layer)
        .expect("a valid route table")
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
        .layer(TraceLayer::new_for_http().on_failure(on_failure))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        app().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
