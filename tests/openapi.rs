//! OpenAPI from the code (feature `utoipa`): `ErrorResponses` adds to a user's utoipa document
//! what the layer answers, and the bodies the layer really sends, over a socket, are valid
//! against the document's own response schemas.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use common::{request, send, serve, Reply};
use http::Method;
use serde_json::{json, Value};
use tower::Layer;
use tower_api_errors::openapi::ErrorResponses;
use tower_api_errors::overload::{Limit, Maintenance};
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiError, ApiErrorLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[utoipa::path(get, path = "/payments", responses((status = 200, description = "The payments.")))]
#[allow(dead_code)]
async fn list_payments() -> &'static str {
    "[]"
}

#[utoipa::path(
    get,
    path = "/notes/{id}",
    params(("id" = u64, Path, description = "The note.")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The note."),
        (status = 500, description = "The user's own 500, kept."),
    )
)]
#[allow(dead_code)]
async fn read_note() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found())
}

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[utoipa::path(post, path = "/payments", request_body = String, responses((status = 201, description = "Paid.")))]
#[allow(dead_code)]
async fn create_payment() -> &'static str {
    "{}"
}

#[derive(OpenApi)]
#[openapi(paths(list_payments, read_note), modifiers(&Bearer))]
struct ApiDoc;

fn policy() -> MethodPolicy {
    MethodPolicy::builder()
        .resource(
            "/payments",
            Resource::allow([Method::GET]).plan([Method::POST]),
        )
        .resource("/notes/{id}", Resource::allow([Method::GET]))
        .resource(
            "/files/{*path}",
            Resource::allow([Method::GET]).plan([Method::PUT]),
        )
        .build()
        .unwrap()
}

fn full_layer(maintenance: &Maintenance) -> ApiErrorLayer {
    ApiErrorLayer::new()
        .timeout(Duration::from_secs(2))
        .limit(Limit::fixed(64))
        .maintenance(maintenance.clone())
        .method_policy(policy())
}

fn document(layer: &ApiErrorLayer) -> Value {
    let mut doc = ApiDoc::openapi();
    ErrorResponses::from_layer(layer).modify(&mut doc);
    serde_json::to_value(&doc).unwrap()
}

fn statuses(doc: &Value, path: &str, method: &str) -> Vec<String> {
    let responses = doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("no {method} {path} in {doc:#}"));
    responses.keys().cloned().collect()
}

#[test]
fn every_operation_gets_what_the_layer_may_answer() {
    let doc = document(&full_layer(&Maintenance::new()));
    assert_eq!(
        statuses(&doc, "/payments", "get"),
        ["200", "500", "503", "504"]
    );
    // Secured: 401 too; and the user's own 500 is kept.
    assert_eq!(
        statuses(&doc, "/notes/{id}", "get"),
        ["200", "401", "500", "503", "504"]
    );
    assert_eq!(
        doc["paths"]["/notes/{id}"]["get"]["responses"]["500"]["description"],
        "The user's own 500, kept."
    );
    let unavailable = &doc["components"]["responses"]["ApiErrorServiceUnavailable"];
    assert_eq!(
        unavailable["headers"]["Retry-After"]["schema"],
        json!({"type": "string", "pattern": "^[0-9]+$"})
    );
    // Sent with every such answer: required (issue 19, item 7).
    assert_eq!(unavailable["headers"]["Retry-After"]["required"], true);
    let unauthorized = &doc["components"]["responses"]["ApiErrorUnauthorized"];
    assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
    assert_eq!(
        unauthorized["headers"]["WWW-Authenticate"]["required"],
        true
    );
}

#[test]
fn each_planned_method_is_an_operation_answering_501() {
    let doc = document(&full_layer(&Maintenance::new()));
    assert_eq!(
        statuses(&doc, "/payments", "post"),
        ["500", "501", "503", "504"]
    );
    // A wildcard becomes a path parameter OpenAPI can say.
    let put = &doc["paths"]["/files/{path}"]["put"];
    assert_eq!(put["parameters"][0]["name"], "path");
    assert_eq!(put["parameters"][0]["in"], "path");
    assert_eq!(put["parameters"][0]["required"], true);
    assert_eq!(put["x-planned"], true);
    let planned = &doc["paths"]["/payments"]["post"]["responses"]["501"];
    assert_eq!(
        planned["headers"]["Cache-Control"]["schema"]["pattern"],
        "^no-store$"
    );
    // The resource's own Allow.
    assert_eq!(planned["headers"]["Allow"]["required"], true);
    assert_eq!(
        planned["headers"]["Allow"]["schema"]["pattern"],
        "^GET, HEAD, OPTIONS$"
    );
    // The allowed GET is not made up: only planned methods are added.
    assert!(doc["paths"]["/files/{path}"].get("get").is_none());
}

#[test]
fn a_plain_layer_adds_only_the_500() {
    let doc = document(&ApiErrorLayer::new());
    assert_eq!(statuses(&doc, "/payments", "get"), ["200", "500"]);
    assert!(doc["paths"]["/payments"].get("post").is_none());
    let responses = doc["components"]["responses"].as_object().unwrap();
    assert!(!responses.contains_key("ApiErrorGatewayTimeout"));
    assert!(!responses.contains_key("ApiErrorServiceUnavailable"));
    // /notes/{id} is secured: its 401 refers to a component that exists.
    assert!(responses.contains_key("ApiErrorUnauthorized"));
    assert_eq!(
        doc["components"]["schemas"]["ApiError"],
        serde_json::to_value(<ApiError as utoipa::PartialSchema>::schema()).unwrap()
    );
}

#[test]
fn a_deadline_from_a_resource_or_a_header_documents_504_and_a_drain_503() {
    let timed = MethodPolicy::builder()
        .resource(
            "/payments",
            Resource::allow([Method::GET]).timeout(Duration::from_secs(1)),
        )
        .build()
        .unwrap();
    for layer in [
        ApiErrorLayer::new().method_policy(timed),
        ApiErrorLayer::new().deadline_header(http::HeaderName::from_static("x-request-timeout-ms")),
    ] {
        let doc = document(&layer);
        assert!(statuses(&doc, "/payments", "get").contains(&"504".to_owned()));
    }
    let doc = document(&ApiErrorLayer::new().drain(tower_api_errors::overload::Drain::new()));
    assert!(statuses(&doc, "/payments", "get").contains(&"503".to_owned()));
}

/// A layer that watches request bodies under a deadline documents `408` on the operations that
/// take a body, and only there (a `GET` has none to stall).
#[test]
fn a_watched_body_documents_408_where_an_operation_takes_one() {
    #[derive(OpenApi)]
    #[openapi(paths(list_payments, create_payment))]
    struct WithBody;
    let document = |layer: &ApiErrorLayer| {
        let mut doc = WithBody::openapi();
        ErrorResponses::from_layer(layer).modify(&mut doc);
        serde_json::to_value(&doc).unwrap()
    };
    let timed = ApiErrorLayer::new().timeout(Duration::from_secs(2));
    let doc = document(&timed.clone().watch_request_body());
    assert!(statuses(&doc, "/payments", "post").contains(&"408".to_owned()));
    assert!(!statuses(&doc, "/payments", "get").contains(&"408".to_owned()));
    let doc = document(&timed);
    assert!(!statuses(&doc, "/payments", "post").contains(&"408".to_owned()));
}

/// Validates `reply`'s body against the schema the document gives for its status and media
/// type, resolving the document's `$ref`s.
fn assert_documented(doc: &Value, path: &str, method: &str, reply: &Reply) {
    let status = reply.status.as_str();
    let content_type = reply.headers["content-type"].to_str().unwrap();
    let response = &doc["paths"][path][method]["responses"][status];
    let response = match response["$ref"].as_str() {
        Some(pointer) => doc
            .pointer(pointer.trim_start_matches('#'))
            .unwrap()
            .clone(),
        None => response.clone(),
    };
    let schema = &response["content"][content_type]["schema"];
    assert!(
        schema.is_object(),
        "{status} {content_type} undocumented for {method} {path}"
    );
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let value = reply
            .headers
            .get(name.as_str())
            .unwrap_or_else(|| panic!("{status} documents {name}, the reply lacks it"));
        let pattern = header["schema"]["pattern"].as_str().unwrap();
        let value = Value::from(value.to_str().unwrap());
        let validator =
            jsonschema::validator_for(&json!({"type": "string", "pattern": pattern})).unwrap();
        assert!(validator.is_valid(&value), "{name}: {value} !~ {pattern}");
    }
    // The whole document as the root, so that `#/components/...` resolves.
    let mut root = doc.clone();
    root["$ref"] = json!("#/$defs/target");
    root["$defs"] = json!({"target": schema});
    let validator = jsonschema::validator_for(&root).unwrap();
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&body)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{body} violates the documented schema: {errors:?}"
    );
}

async fn start(layer: ApiErrorLayer) -> SocketAddr {
    let router = Router::new()
        .route("/payments", get(|| async { "[]" }))
        .route("/notes/{id}", get(read_note));
    serve(layer.layer(router)).await
}

#[tokio::test]
async fn the_bodies_the_layer_sends_are_the_documented_ones() {
    let maintenance = Maintenance::new();
    let layer = full_layer(&maintenance);
    let doc = document(&layer);
    let addr = start(layer).await;

    let planned = send(addr, request("POST", "/payments")).await;
    assert_eq!(planned.status, 501);
    assert_documented(&doc, "/payments", "post", &planned);

    let mut problem = request("POST", "/payments");
    problem
        .headers_mut()
        .insert("accept", "application/problem+json".parse().unwrap());
    let planned = send(addr, problem).await;
    assert_eq!(planned.headers["content-type"], "application/problem+json");
    assert_documented(&doc, "/payments", "post", &planned);

    maintenance.enable();
    let unavailable = send(addr, request("GET", "/payments")).await;
    assert_eq!(unavailable.status, 503);
    assert_documented(&doc, "/payments", "get", &unavailable);
    maintenance.disable();
}

#[tokio::test]
async fn a_body_of_another_status_is_not_documented_as_this_one() {
    // The narrowing to the status is real: a 501 body is not a valid 503.
    let maintenance = Maintenance::new();
    let layer = full_layer(&maintenance);
    let doc = document(&layer);
    let addr = start(layer).await;
    let mut planned = send(addr, request("POST", "/payments")).await;
    planned.status = http::StatusCode::SERVICE_UNAVAILABLE;
    planned.headers.insert("retry-after", "1".parse().unwrap());
    let result = std::panic::catch_unwind(|| {
        assert_documented(&doc, "/payments", "get", &planned);
    });
    assert!(result.is_err(), "a 501 body passed for a 503");
}

#[test]
fn no_401_where_nothing_asks_for_credentials() {
    use utoipa::openapi::path::{OperationBuilder, PathsBuilder};
    use utoipa::openapi::{HttpMethod, OpenApiBuilder, PathItem};
    let open = OperationBuilder::new().operation_id(Some("open")).build();
    let mut doc = OpenApiBuilder::new()
        .paths(PathsBuilder::new().path("/open", PathItem::new(HttpMethod::Get, open)))
        .build();
    ErrorResponses::from_layer(&ApiErrorLayer::new()).modify(&mut doc);
    let doc = serde_json::to_value(&doc).unwrap();
    assert_eq!(statuses(&doc, "/open", "get"), ["500"]);
    assert!(doc["components"]["responses"]
        .get("ApiErrorUnauthorized")
        .is_none());
}

#[utoipa::path(
    get,
    path = "/orders/{id}",
    params(("id" = u64, Path, description = "The order.")),
    responses(
        (status = 200, description = "The order."),
        (status = 404, description = "No such order.", body = ApiError),
    )
)]
#[allow(dead_code)]
async fn read_order() -> Result<&'static str, ApiError> {
    Err(ApiError::not_found())
}

/// What linters flagged in the generated document (issue 19, item 7): a planned operation has an
/// `operationId`, its resource's tags and its path parameters typed as the documented ones; the
/// deadline header is a parameter with its 400; a strict policy's 404 is on every operation;
/// the 503 names `shutting_down` with a drain; `body = ApiError` gets its problem+json form.
#[test]
fn the_document_has_what_linters_ask_for() {
    #[derive(OpenApi)]
    #[openapi(paths(read_order))]
    struct Orders;

    let policy = MethodPolicy::builder()
        .resource(
            "/orders/{id}",
            Resource::allow([Method::GET]).plan([Method::DELETE]),
        )
        .strict(true)
        .build()
        .unwrap();
    let layer = ApiErrorLayer::new()
        .method_policy(policy)
        .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
        .drain(tower_api_errors::overload::Drain::new());
    let mut doc = Orders::openapi();
    ErrorResponses::from_layer(&layer).modify(&mut doc);
    let doc = serde_json::to_value(&doc).unwrap();
    let item = &doc["paths"]["/orders/{id}"];

    let delete = &item["delete"];
    assert_eq!(delete["operationId"], "delete_orders_id_planned");
    let id = delete["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "id")
        .unwrap();
    assert_eq!(id["schema"]["type"], "integer", "typed as GET's: {id}");

    for (method, operation) in item.as_object().unwrap() {
        let header = operation["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "x-request-timeout-ms")
            .unwrap_or_else(|| panic!("{method}: no deadline header parameter"));
        assert_eq!(header["in"], "header");
        assert_eq!(header["schema"]["type"], "integer");
        for status in ["400", "404", "503"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{method}: {status}"
            );
        }
    }
    let unavailable = &doc["components"]["responses"]["ApiErrorServiceUnavailable"];
    assert!(
        unavailable["description"]
            .as_str()
            .unwrap()
            .contains("shutting_down"),
        "{unavailable}"
    );
    let not_found = &item["get"]["responses"]["404"]["content"];
    assert_eq!(
        not_found["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}
