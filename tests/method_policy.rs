//! The method policy in front of an axum Router: wildcards, strict mode, OPTIONS and CORS
//! preflights, extension methods, and the placement under `Router::layer`.

mod common;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::call;
use http::{Method, Request, StatusCode};
use tower::Layer;
use tower_api_errors::policy::{MethodPolicy, MethodPolicyBuilder, Resource};
use tower_api_errors::ApiErrorLayer;

fn router() -> Router {
    Router::new()
        .route(
            "/files/{*path}",
            get(|| async { "file" }).put(|| async { "stored" }),
        )
        .route("/reports/{id}/result", get(|| async { "result" }))
        .route("/search", get(|| async { "searched" }))
}

fn table() -> MethodPolicyBuilder {
    MethodPolicy::builder()
        .resource(
            "/files/{*path}",
            Resource::allow([Method::GET, Method::PUT]).plan([Method::DELETE]),
        )
        .resource(
            "/reports/{id}/result",
            Resource::allow([Method::GET]).refuse([Method::POST]),
        )
}

fn req(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn wildcard_resources_follow_the_table() {
    let app = ApiErrorLayer::new()
        .method_policy(table().build().unwrap())
        .layer(router());
    let ok = call(app.clone(), req("PUT", "/files/a/b/c.txt")).await;
    assert_eq!(ok.body, "stored");
    let planned = call(app.clone(), req("DELETE", "/files/a/b/c.txt")).await;
    assert_eq!(planned.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(planned.headers["allow"], "GET, HEAD, PUT, OPTIONS");
    assert_eq!(
        planned.error_body()["detail"],
        "DELETE is planned for this resource but not implemented yet."
    );
    // POST is named nowhere in the table: the Router answers, and its 405 is rendered like
    // the layer's own (its `Allow` order, OPTIONS added).
    let refused = call(app, req("POST", "/files/x")).await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        refused.error_body()["allowed"],
        serde_json::json!(["GET", "HEAD", "PUT", "OPTIONS"])
    );
}

#[tokio::test]
async fn unmatched_paths_go_to_the_inner_service_unless_strict() {
    let lenient = ApiErrorLayer::new()
        .method_policy(table().build().unwrap())
        .layer(router());
    assert_eq!(call(lenient, req("GET", "/search")).await.body, "searched");

    let strict = ApiErrorLayer::new()
        .method_policy(table().strict(true).build().unwrap())
        .layer(router());
    let reply = call(strict, req("GET", "/search")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_body()["error"], "not_found");
}

#[tokio::test]
async fn options_is_answered_or_left_to_the_inner_service() {
    let answered = ApiErrorLayer::new()
        .method_policy(table().build().unwrap())
        .layer(router());
    let reply = call(answered, req("OPTIONS", "/reports/1/result")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");

    let left = ApiErrorLayer::new()
        .method_policy(table().answer_options(false).build().unwrap())
        .layer(router());
    let reply = call(left.clone(), req("OPTIONS", "/reports/1/result")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    // Without the layer answering OPTIONS, Allow doesn't list it.
    assert_eq!(reply.headers["allow"], "GET, HEAD");
}

#[tokio::test]
async fn cors_preflights_reach_the_cors_layer() {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET]);
    let app = ApiErrorLayer::new()
        .method_policy(table().build().unwrap())
        .layer(router().layer(cors));
    let preflight = Request::options("/reports/1/result")
        .header("origin", "https://example.com")
        .header("access-control-request-method", "GET")
        .body(Body::empty())
        .unwrap();
    let reply = call(app, preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn extension_methods_can_be_recognized_and_allowed() {
    let query = Method::from_bytes(b"PURGE").unwrap();
    let policy = MethodPolicy::builder()
        .resource(
            "/search",
            Resource::allow([Method::GET]).plan([query.clone()]),
        )
        .build()
        .unwrap();
    let unrecognized = ApiErrorLayer::new()
        .method_policy(policy.clone())
        .layer(router());
    let reply = call(unrecognized, req("PURGE", "/search")).await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(
        reply.error_body()["detail"],
        "The request's method is not one this server recognizes."
    );

    let recognized = ApiErrorLayer::new()
        .recognize_method(query)
        .method_policy(policy)
        .layer(router());
    let reply = call(recognized, req("PURGE", "/search")).await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(
        reply.error_body()["detail"],
        "PURGE is planned for this resource but not implemented yet."
    );
}

#[tokio::test]
async fn under_router_layer_axum_405_still_gets_the_body() {
    // Not the recommended placement (see the README), but it must still answer with the body.
    let app = router().layer(ApiErrorLayer::new());
    let reply = call(app, req("POST", "/reports/1/result")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    let body = reply.error_body();
    assert_eq!(body["error"], "method_not_allowed");
    // axum adds `Allow` after the per-route layer has run, so the body can't list the
    // methods: the reason the README recommends wrapping the whole Router.
    assert_eq!(reply.headers["allow"], "GET,HEAD");
    assert!(body.get("allowed").is_none());
}

#[test]
fn the_wrong_placement_is_loud_and_wrap_is_the_right_one() {
    // Under `Router::layer` every such 405 is a warning that names the fix.
    let app = router().layer(ApiErrorLayer::new());
    let (reply, logs) = common::captured_logs(call(app, req("POST", "/reports/1/result")));
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        logs.contains("WARN") && logs.contains("ApiErrorLayer::wrap(router)"),
        "{logs}"
    );
    // Wrapped whole: the body lists `allowed`, and nothing is logged but the error event.
    let app: Router = ApiErrorLayer::new().wrap(router());
    let (reply, logs) = common::captured_logs(call(app, req("POST", "/reports/1/result")));
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.error_body()["allowed"],
        serde_json::json!(["GET", "HEAD", "OPTIONS"])
    );
    assert!(!logs.contains("Router::layer"), "{logs}");
}

#[tokio::test]
async fn the_builder_s_default_is_the_builder() {
    // `MethodPolicyBuilder::default()` once built a policy that left OPTIONS to the Router
    // (405), where `MethodPolicy::builder()` answers it (204): one builder, one default.
    let policy = MethodPolicyBuilder::default()
        .resource("/reports/{id}/result", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let app = ApiErrorLayer::new().method_policy(policy).layer(router());
    let reply = call(app, req("OPTIONS", "/reports/1/result")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");
}

/// For teams who read RFC 9110 §15.6.2 strictly (501 is for a method the server recognizes for
/// no resource): `planned_as_405` answers a planned method `405` with `Allow`,
/// `Cache-Control: no-store` and `planned: true`, valid against both schemas, over HTTP/1.1 and
/// h2; the OpenAPI document and the conformance kit follow the switch.
#[tokio::test]
async fn planned_as_405_answers_a_planned_method_405_and_everything_follows() {
    use tower_api_errors::openapi::ErrorResponses;
    use utoipa::Modify;

    let policy = table().planned_as_405(true).build().unwrap();
    let layer = ApiErrorLayer::new().method_policy(policy.clone());
    let addr = common::serve(layer.layer(router())).await;
    for (protocol, reply) in [
        (
            "HTTP/1.1",
            common::send(addr, common::request("DELETE", "/files/a")).await,
        ),
        (
            "h2",
            common::send_h2(addr, common::request("DELETE", "/files/a")).await,
        ),
    ] {
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{protocol}");
        assert_eq!(
            reply.headers["allow"], "GET, HEAD, PUT, OPTIONS",
            "{protocol}"
        );
        assert_eq!(reply.headers["cache-control"], "no-store", "{protocol}");
        let body = reply.error_body();
        assert_eq!(body["error"], "method_not_allowed", "{protocol}");
        assert_eq!(body["planned"], true, "{protocol}");
        assert_eq!(
            body["allowed"],
            serde_json::json!(["GET", "HEAD", "PUT", "OPTIONS"])
        );
    }
    let problem = Request::delete("/files/a")
        .header("accept", "application/problem+json")
        .body(Body::empty())
        .unwrap();
    let reply = call(layer.clone().layer(router()), problem).await;
    assert_eq!(reply.error_body()["planned"], true);
    // A refused method stays a plain 405: `planned` tells the two apart.
    let refused = call(
        layer.clone().layer(router()),
        req("POST", "/reports/1/result"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(refused.error_body().get("planned").is_none());
    // Handlers cannot send a `planned` of their own: the member is the policy's.
    let error = tower_api_errors::ApiError::bad_request().with("planned", false);
    assert!(error.member("planned").is_none());

    // The conformance kit expects the 405.
    let report = tower_api_errors::testing::check_contract::<Body, _, _>(
        layer.clone().layer(router()),
        &policy,
    )
    .await
    .unwrap_or_else(|violations| panic!("{violations}"));
    assert!(report
        .checked()
        .iter()
        .any(|c| c.method == "DELETE" && c.kind == "planned" && c.status == 405));
    // And a policy that answers 501 is a violation for it.
    let answers_501 = ApiErrorLayer::new()
        .method_policy(table().build().unwrap())
        .layer(router());
    assert!(
        tower_api_errors::testing::check_contract::<Body, _, _>(answers_501, &policy)
            .await
            .is_err()
    );

    // The OpenAPI document: the planned operation answers 405 with `planned`, and no 501.
    let mut doc = utoipa::openapi::OpenApiBuilder::new().build();
    ErrorResponses::from_layer(&layer).modify(&mut doc);
    let doc = serde_json::to_value(&doc).unwrap();
    let delete = &doc["paths"]["/files/{path}"]["delete"]["responses"];
    assert!(delete.get("501").is_none(), "{delete}");
    let schema = &delete["405"]["content"]["application/json"]["schema"]["allOf"][1];
    assert_eq!(schema["properties"]["planned"]["const"], true, "{schema}");
    assert_eq!(
        schema["required"],
        serde_json::json!(["allowed", "planned"])
    );
    assert!(delete["405"]["headers"]["Allow"].is_object());
}
