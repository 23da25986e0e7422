//! `cargo run --example custom_shape`: a company's own error envelope,
//! `{"success": false, "error": {"type", "code", "message", "param"}}`, for every failure the
//! layer answers (its own refusals, handlers' errors, axum's 404, panics, deadlines, `Json`
//! rejections), with the built-in AIP-193 and JSON:API shapes offered beside it.
//!
//! ```text
//! $ curl -s localhost:3000/orders -X DELETE
//! {"success":false,"error":{"code":405,"message":"DELETE is not supported for this resource.","param":null,"type":"method_not_allowed"}}
//! $ curl -s localhost:3000/orders -H 'content-type: application/json' -d '{"sku":1}'
//! {"success":false,"error":{"code":400,"message":"…","param":"/sku","type":"invalid_body"}}
//! $ curl -s localhost:3000/nowhere -H 'accept: application/vnd.api+json'
//! {"errors":[{"code":"not_found","detail":"…","meta":{"retryable":false},"status":"404","title":"Not Found"}]}
//! ```

use std::time::Duration;

use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tower::Layer;
use tower_api_errors::extract::Json;
use tower_api_errors::shape::{shape_fn, Aip193, ErrorFacts, JsonApi};
use tower_api_errors::{ApiError, ApiErrorLayer};

/// The envelope: one closure from the facts of an error to its body, and its schema (for the
/// OpenAPI components and `testing::check_contract_in_shape`).
fn envelope() -> impl tower_api_errors::shape::ErrorShape {
    shape_fn("application/json", |e: &ErrorFacts<'_>| {
        json!({"success": false, "error": {
            "type": e.code(),
            "code": e.status().as_u16(),
            "message": e.detail(),
            "param": e.field_errors().next().map(|(pointer, _)| pointer),
        }})
    })
    .schema(json!({
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "success": {"const": false},
            "error": {
                "type": "object",
                "required": ["type", "code", "message"],
                "properties": {
                    "type": {"type": "string"},
                    "code": {"type": "integer", "minimum": 400, "maximum": 599},
                    "message": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                },
            },
        },
    }))
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Order {
    sku: String,
}

async fn create_order(Json(_order): Json<Order>) -> &'static str {
    "created"
}

async fn read_order() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found().with_detail("There is no such order."))
}

async fn panics() -> &'static str {
    panic!("boom")
}

/// The app: its errors in the envelope by default; AIP-193 and JSON:API for the clients whose
/// `Accept` asks for them.
fn app() -> axum::Router {
    let layer = ApiErrorLayer::new()
        .timeout(Duration::from_secs(2))
        .shape(envelope())
        .offer_shape(Aip193::new("orders.example.com"))
        .offer_shape(JsonApi);
    let router = Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(read_order))
        .route("/panic", get(panics));
    layer.layer(router).into_router()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app()).await
}
