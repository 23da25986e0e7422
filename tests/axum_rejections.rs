//! axum's own extractors' rejections become contract errors through `From` (issue 20, item 8):
//! `#[from_request(via(axum::Json), rejection(ApiError))]` and `map_err(ApiError::from)` work,
//! and the rejection's text (which names server types) is not sent.

mod common;

use axum::body::Body;
use axum::extract::{FromRequest, Path, Query};
use axum::routing::{get, post};
use axum::Router;
use common::call;
use http::{Request, StatusCode};
use serde::Deserialize;
use tower::Layer;
use tower_api_errors::{ApiError, ApiErrorLayer, ApiErrorService};

/// Taken with axum's `Json`, rejected with the contract's error.
#[derive(Debug, Deserialize, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
#[allow(dead_code)]
struct Order {
    quantity: u64,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Page {
    page: u32,
}

async fn order(_: Order) -> &'static str {
    "ok"
}

fn app() -> ApiErrorService<Router> {
    ApiErrorLayer::new().layer(
        Router::new()
            .route("/orders", post(order))
            .route(
                "/users/{id}",
                get(|id: Result<Path<u64>, _>| async move {
                    id.map(|Path(id)| id.to_string()).map_err(ApiError::from)
                }),
            )
            .route(
                "/users",
                get(|page: Result<Query<Page>, _>| async move {
                    page.map(|Query(p)| p.page.to_string())
                        .map_err(ApiError::from)
                }),
            ),
    )
}

fn request(method: &str, uri: &str, content_type: Option<&str>, body: &str) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn json_rejections_answer_in_the_contract() {
    for (content_type, body, status, code) in [
        (None, "{}", 415, "unsupported_media_type"),
        (Some("application/json"), "{", 400, "bad_request"),
        (
            Some("application/json"),
            r#"{"quantity":"x"}"#,
            400,
            "invalid_body",
        ),
    ] {
        let reply = call(app(), request("POST", "/orders", content_type, body)).await;
        assert_eq!(reply.status.as_u16(), status, "{body}");
        let json = reply.json();
        assert_eq!(json["error"], code, "{json}");
        let text = json.to_string();
        assert!(!text.contains("Order") && !text.contains("u64"), "{text}");
    }
}

#[tokio::test]
async fn path_and_query_rejections_answer_in_the_contract() {
    let reply = call(app(), request("GET", "/users/seven", None, "")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_path");
    let reply = call(app(), request("GET", "/users?page=minus", None, "")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json()["error"], "invalid_query");
    // And the happy path is the handler's.
    let reply = call(app(), request("GET", "/users/7", None, "")).await;
    assert_eq!(reply.status, StatusCode::OK);
}
