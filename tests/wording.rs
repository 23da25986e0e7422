//! A team's own words and request-id header (issue 20, item 9): `ApiErrorLayer::reword` puts
//! its `message` and default `detail` in every body of the status, whatever decided it, and
//! `request_id_header` echoes another header than `x-request-id`. The document's words stay the
//! default, and the OpenAPI document of a reworded layer names its words, so that its bodies
//! validate against the document's own schemas.

mod common;

use axum::routing::get;
use axum::Router;
use common::{call, request};
use http::{HeaderName, Method, StatusCode};
use serde_json::{json, Value};
use tower::Layer;
use tower_api_errors::overload::Maintenance;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::shape::shape_fn;
use tower_api_errors::{ApiError, ApiErrorLayer, Format};

const MESSAGE: &str = "Not Here";
const DETAIL: &str = "Nothing lives at this address.";

async fn missing() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found())
}

async fn missing_with_detail() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found().with_detail("There is no note 7."))
}

fn router() -> Router {
    Router::new()
        .route("/notes/{id}", get(missing))
        .route("/files/{id}", get(missing_with_detail))
}

fn reworded() -> ApiErrorLayer {
    ApiErrorLayer::new().reword(StatusCode::NOT_FOUND, MESSAGE, DETAIL)
}

/// Every source of a 404 gets the team's words: axum's own empty 404 (an inner answer), a
/// handler's `ApiError::not_found()`, and the layer's own strict-mode refusal (rendered once,
/// canned, in the document's words: not sent for a reworded status).
#[tokio::test]
async fn every_source_of_the_status_gets_the_words() {
    let strict = MethodPolicy::builder()
        .strict(true)
        .resource("/notes/{id}", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let cases = [
        (reworded(), "/nowhere", "axum's 404"),
        (reworded(), "/notes/7", "a handler's ApiError"),
        (reworded().method_policy(strict), "/nowhere", "strict mode"),
    ];
    for (layer, path, what) in cases {
        let reply = call(layer.layer(router()), request("GET", path)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{what}");
        let body = reply.json();
        assert_eq!(body["message"], MESSAGE, "{what}");
        assert_eq!(body["detail"], DETAIL, "{what}");
        assert_eq!(body["error"], "not_found", "codes are not words: {what}");
    }
}

/// A detail the handler set stays the handler's; other statuses keep the document's words; a
/// layer without `reword` is the document.
#[tokio::test]
async fn a_handlers_detail_and_other_statuses_are_untouched() {
    let reply = call(reworded().layer(router()), request("GET", "/files/7")).await;
    let body = reply.json();
    assert_eq!(body["message"], MESSAGE);
    assert_eq!(body["detail"], "There is no note 7.");

    let reply = call(reworded().layer(router()), request("POST", "/notes/7")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_body()["message"], "Method Not Allowed");

    let reply = call(
        ApiErrorLayer::new().layer(router()),
        request("GET", "/notes/7"),
    )
    .await;
    let body = reply.error_body();
    common::assert_valid(&body);
    assert_eq!(body["message"], "Not Found");
}

/// The layer's own canned refusals (maintenance's 503) and the problem format (`title` with a
/// problem type base) and shapes (`ErrorFacts::message`) follow too.
#[tokio::test]
async fn canned_refusals_problems_and_shapes_follow() {
    let maintenance = Maintenance::builder().build();
    maintenance.enable();
    let layer = ApiErrorLayer::new().maintenance(maintenance).reword(
        StatusCode::SERVICE_UNAVAILABLE,
        "Back Soon",
        "We are upgrading the service.",
    );
    let reply = call(layer.layer(router()), request("GET", "/notes/7")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = reply.json();
    assert_eq!(body["message"], "Back Soon");
    assert_eq!(body["error"], "maintenance");

    let problem = reworded()
        .format(Format::Problem)
        .problem_type_base("https://errors.example.com/");
    let reply = call(problem.layer(router()), request("GET", "/notes/7")).await;
    let body = reply.json();
    assert_eq!(body["title"], MESSAGE);
    assert_eq!(body["detail"], DETAIL);

    let shaped = reworded().shape(shape_fn(
        "application/json",
        |e| json!({"failure": {"text": e.message(), "why": e.detail()}}),
    ));
    let reply = call(shaped.layer(router()), request("GET", "/nowhere")).await;
    assert_eq!(
        reply.json(),
        json!({"failure": {"text": MESSAGE, "why": DETAIL}})
    );
}

/// Texts are held to the schema: an empty message keeps the document's, an over-long detail
/// is cut at `MAX_DETAIL_CHARS` characters.
#[tokio::test]
async fn reworded_texts_are_held_to_the_schema() {
    let long = "é".repeat(tower_api_errors::body::MAX_DETAIL_CHARS + 10);
    let layer = ApiErrorLayer::new().reword(StatusCode::NOT_FOUND, "", long);
    let reply = call(layer.layer(router()), request("GET", "/nowhere")).await;
    let body = reply.error_body();
    common::assert_valid(&body);
    assert_eq!(body["message"], "Not Found");
    let detail = body["detail"].as_str().unwrap();
    assert_eq!(
        detail.chars().count(),
        tower_api_errors::body::MAX_DETAIL_CHARS
    );
}

#[test]
#[should_panic(expected = "takes an error status")]
fn only_error_statuses_are_reworded() {
    let _ = ApiErrorLayer::new().reword(StatusCode::OK, "Fine", "All good.");
}

/// `request_id_header`: the id comes from the configured header, and only from it.
#[tokio::test]
async fn the_request_id_comes_from_the_configured_header() {
    let layer = ApiErrorLayer::new().request_id_header(HeaderName::from_static("x-trace-id"));
    let req = || {
        let mut req = request("GET", "/notes/7");
        let headers = req.headers_mut();
        headers.insert("x-trace-id", "trace-1".parse().unwrap());
        headers.insert("x-request-id", "request-1".parse().unwrap());
        req
    };
    let reply = call(layer.layer(router()), req()).await;
    assert_eq!(reply.error_body()["request_id"], "trace-1");
    let reply = call(ApiErrorLayer::new().layer(router()), req()).await;
    assert_eq!(reply.error_body()["request_id"], "request-1");
}

/// The OpenAPI document of a reworded layer names its words: the body it sends validates
/// against the document's `ApiError` schema, which the published file's would refuse.
#[cfg(feature = "utoipa")]
#[tokio::test]
async fn the_openapi_schemas_name_the_words() {
    use tower_api_errors::openapi::ErrorResponses;
    use utoipa::Modify;

    let layer = reworded();
    let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
    ErrorResponses::from_layer(&layer).modify(&mut doc);
    let doc: Value = serde_json::to_value(&doc).unwrap();
    let schema = doc["components"]["schemas"]["ApiError"].clone();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let reply = call(layer.layer(router()), request("GET", "/notes/7")).await;
    let body = reply.json();
    assert!(validator.is_valid(&body), "{body}");
    assert!(
        !common::schema_accepts(&body),
        "the published file names the document's words"
    );
}
