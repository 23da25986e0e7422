//! Error shapes: a user's own body format (a company envelope) renders every failure source of
//! the layer, `Accept` chooses between the shapes offered, and what does not depend on the
//! request is rendered once per shape.

mod common;

use std::time::Duration;

use axum::http::StatusCode as AxumStatus;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use common::{call, Reply};
use http::{Method, Request};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tower::{service_fn, Layer};
use tower_api_errors::extract::Json;
use tower_api_errors::overload::Maintenance;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::shape::{shape_fn, Aip193, ErrorFacts, ErrorShape, JsonApi};
use tower_api_errors::{ApiError, ApiErrorLayer, Format};

/// The house envelope of the issue: `{"success": false, "error": {"type", "code", "message",
/// "param"}}`, with what else the facts say.
fn envelope() -> impl ErrorShape {
    shape_fn("application/json", |e: &ErrorFacts<'_>| {
        let own: Map<String, Value> = e.members().map(|(k, v)| (k.into(), v.clone())).collect();
        json!({
            "success": false,
            "error": {
                "type": e.code(),
                "code": e.status().as_u16(),
                "message": e.detail(),
                "param": e.field_errors().next().map(|(pointer, _)| pointer),
                "retry_in": e.retry_after().map(|d| d.as_secs()),
                "allowed": e.allowed_methods(),
                "retryable": e.is_retryable(),
                "own": own,
            }
        })
    })
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Order {
    customer_id: u64,
}

async fn order(Json(_order): Json<Order>) -> &'static str {
    "ok"
}

async fn missing_item() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found()
        .with_detail("There is no item 7.")
        .with("item", 7))
}

async fn conflict() -> AxumStatus {
    AxumStatus::CONFLICT
}

async fn panics() -> &'static str {
    panic!("secret-internal-state")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "late"
}

fn router() -> Router {
    Router::new()
        .route("/items", get(|| async { "items" }))
        .route("/items/7", get(missing_item))
        .route("/conflict", get(conflict))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .route("/orders", post(order))
}

fn layer() -> ApiErrorLayer {
    let policy = MethodPolicy::builder()
        .resource(
            "/items",
            Resource::allow([Method::GET]).plan([Method::POST]),
        )
        .resource("/items/7", Resource::allow([Method::GET]))
        .resource("/conflict", Resource::allow([Method::GET]))
        .resource("/panic", Resource::allow([Method::GET]))
        .resource("/slow", Resource::allow([Method::GET]))
        .resource("/orders", Resource::allow([Method::POST]))
        .build()
        .unwrap();
    ApiErrorLayer::new()
        .timeout(Duration::from_millis(50))
        .method_policy(policy)
        .shape(envelope())
}

fn req(method: &str, uri: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::default())
        .unwrap()
}

async fn through(layer: ApiErrorLayer, req: Request<Full<Bytes>>) -> Reply {
    call(layer.layer(router()), req).await
}

/// Checks the head and the envelope of an error answer, and returns its `error` object.
fn enveloped(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.headers["vary"], "accept");
    assert_eq!(
        reply.headers["content-length"].to_str().unwrap(),
        reply.body.len().to_string()
    );
    let body = reply.json();
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], status, "{body}");
    assert_eq!(body["error"]["type"], code, "{body}");
    body["error"].clone()
}

#[tokio::test]
async fn own_refusals_are_in_the_shape() {
    let reply = through(layer(), req("DELETE", "/items")).await;
    let error = enveloped(&reply, 405, "method_not_allowed");
    assert_eq!(error["allowed"], json!(["GET", "HEAD", "OPTIONS"]));
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");

    let reply = through(layer(), req("POST", "/items")).await;
    enveloped(&reply, 501, "not_implemented");

    let reply = through(layer(), req("BREW", "/items")).await;
    enveloped(&reply, 501, "not_implemented");

    let maintenance = Maintenance::builder()
        .retry_after(Duration::from_secs(7))
        .build();
    maintenance.enable();
    let reply = through(layer().maintenance(maintenance), req("GET", "/items")).await;
    let error = enveloped(&reply, 503, "maintenance");
    assert_eq!(error["retry_in"], 7);
    assert_eq!(error["retryable"], true);
    assert_eq!(reply.headers["retry-after"], "7");
}

#[tokio::test]
async fn handlers_api_errors_are_in_the_shape() {
    let reply = through(layer(), req("GET", "/items/7")).await;
    let error = enveloped(&reply, 404, "not_found");
    assert_eq!(error["message"], "There is no item 7.");
    assert_eq!(error["own"], json!({"item": 7}));
}

#[tokio::test]
async fn normalized_inner_answers_are_in_the_shape() {
    let reply = through(layer(), req("GET", "/conflict")).await;
    enveloped(&reply, 409, "conflict");
    // axum's own empty 404, behind a layer without a route table.
    let layer = ApiErrorLayer::new().shape(envelope());
    let reply = through(layer, req("GET", "/nowhere")).await;
    enveloped(&reply, 404, "not_found");
}

#[tokio::test]
async fn panics_are_in_the_shape() {
    let reply = through(layer(), req("GET", "/panic")).await;
    enveloped(&reply, 500, "internal_error");
    assert!(!String::from_utf8_lossy(&reply.body).contains("secret-internal-state"));
}

#[tokio::test]
async fn deadlines_are_in_the_shape() {
    let reply = through(layer(), req("GET", "/slow")).await;
    enveloped(&reply, 504, "gateway_timeout");
}

#[tokio::test]
async fn json_rejections_are_in_the_shape() {
    let bad = Request::post("/orders")
        .header("content-type", "application/json")
        .body(Full::from(r#"{"customer_id":"x"}"#))
        .unwrap();
    let reply = through(layer(), bad).await;
    let error = enveloped(&reply, 400, "invalid_body");
    assert_eq!(error["param"], "/customer_id");
}

#[tokio::test]
async fn inner_errors_are_in_the_shape() {
    let failing = service_fn(|_req: Request<Full<Bytes>>| async {
        Err::<http::Response<String>, _>(std::io::Error::other("disk on fire"))
    });
    let reply = call(
        ApiErrorLayer::new().shape(envelope()).layer(failing),
        req("GET", "/"),
    )
    .await;
    enveloped(&reply, 500, "internal_error");
}

#[tokio::test]
async fn head_answers_keep_the_length_of_the_shaped_get() {
    let get = through(layer(), req("GET", "/items/7")).await;
    let head = through(layer(), req("HEAD", "/items/7")).await;
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers["content-length"],
        get.headers["content-length"]
    );
    assert_eq!(head.headers["content-type"], "application/json");
}

fn accepting(accept: &str, uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("accept", accept)
        .body(Full::default())
        .unwrap()
}

fn offering() -> ApiErrorLayer {
    ApiErrorLayer::new()
        .offer_shape(Aip193::new("api.example.com"))
        .offer_shape(JsonApi)
}

#[tokio::test]
async fn accept_chooses_between_the_shapes_offered() {
    let cases = [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some("application/problem+json"), "application/problem+json"),
        (
            Some(Aip193::MEDIA_TYPE),
            "application/vnd.google.rpc.status+json",
        ),
        (Some("application/vnd.api+json"), "application/vnd.api+json"),
        (
            Some("application/vnd.api+json;q=0.5, application/problem+json"),
            "application/problem+json",
        ),
        (Some("text/html"), "application/json"),
        (
            Some("application/*;q=0.5, application/vnd.api+json"),
            "application/vnd.api+json",
        ),
    ];
    for (accept, expected) in cases {
        let request = match accept {
            Some(accept) => accepting(accept, "/nowhere"),
            None => req("GET", "/nowhere"),
        };
        let reply = through(offering(), request).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.headers["content-type"], expected, "Accept {accept:?}");
        assert_eq!(reply.headers["vary"], "accept");
    }
    // The configured default when Accept does not choose.
    let layer = offering().shape(JsonApi);
    let reply = through(layer.clone(), req("GET", "/nowhere")).await;
    assert_eq!(reply.headers["content-type"], "application/vnd.api+json");
    let reply = through(layer, accepting("*/*", "/nowhere")).await;
    assert_eq!(reply.headers["content-type"], "application/vnd.api+json");
    // A format chosen after a shape is the default again.
    let layer = offering().shape(JsonApi).format(Format::Problem);
    let reply = through(layer, req("GET", "/nowhere")).await;
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    // Without negotiation, the default only, and no Vary.
    let layer = offering().shape(JsonApi).negotiate_format(false);
    let reply = through(layer, accepting("application/json", "/nowhere")).await;
    assert_eq!(reply.headers["content-type"], "application/vnd.api+json");
    assert!(!reply.headers.contains_key("vary"));
}

#[tokio::test]
async fn a_shape_with_a_formats_media_type_takes_its_place() {
    let layer = ApiErrorLayer::new().offer_shape(envelope());
    let reply = through(layer.clone(), req("GET", "/nowhere")).await;
    enveloped(&reply, 404, "not_found");
    let reply = through(layer, accepting("application/problem+json", "/nowhere")).await;
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    assert_eq!(reply.json()["status"], 404);
}

#[tokio::test]
async fn request_ids_and_paths_reach_the_shape() {
    let traced = shape_fn(
        "application/json",
        |e: &ErrorFacts<'_>| json!({"code": e.code(), "path": e.path(), "id": e.request_id()}),
    );
    let layer = ApiErrorLayer::new().shape(traced);
    for (path, id) in [("/a", Some("first")), ("/b", None), ("/c", Some("third"))] {
        let mut request = req("GET", path);
        if let Some(id) = id {
            request
                .headers_mut()
                .insert("x-request-id", id.parse().unwrap());
        }
        let reply = through(layer.clone(), request).await;
        assert_eq!(
            reply.json(),
            json!({"code": "not_found", "path": path, "id": id})
        );
    }
}

/// A shape that counts its renderings.
struct Counted(&'static std::sync::atomic::AtomicUsize);

impl ErrorShape for Counted {
    fn media_type(&self) -> &str {
        "application/vnd.counted+json"
    }

    fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        serde_json::to_writer(body, &json!({"code": error.code()})).unwrap();
    }
}

#[tokio::test]
async fn what_does_not_depend_on_the_request_is_rendered_once_per_shape() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static RENDERED: AtomicUsize = AtomicUsize::new(0);
    let layer = layer().shape(Counted(&RENDERED));
    for _ in 0..3 {
        // A canned refusal (an unrecognized method), and a status's default error (a panic).
        assert_eq!(
            through(layer.clone(), req("BREW", "/items")).await.status,
            501
        );
        assert_eq!(
            through(layer.clone(), req("GET", "/panic")).await.status,
            500
        );
    }
    assert_eq!(RENDERED.load(Ordering::Relaxed), 2);
    // A handler's own error is its own each time.
    for _ in 0..2 {
        through(layer.clone(), req("GET", "/items/7")).await;
    }
    assert_eq!(RENDERED.load(Ordering::Relaxed), 4);
}
