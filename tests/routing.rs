//! Routes declared once (`tower_api_errors::routing`): the Router and the method policy come
//! from one declaration, over a real socket; and `check_router` for those kept apart.

mod common;

use std::net::SocketAddr;

use axum::extract::{Path, State};
use common::{request, send, serve, Reply};
use http::{Method, StatusCode};
use serde_json::json;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::routing::{delete, get, on, post, put, ApiMethodRouter, ApiRouter};
use tower_api_errors::testing::check_router;
use tower_api_errors::ApiErrorLayer;

#[derive(Clone)]
struct AppState {
    greeting: &'static str,
}

async fn hello(State(state): State<AppState>) -> &'static str {
    state.greeting
}

async fn item(Path(id): Path<u32>) -> String {
    format!("item {id}")
}

async fn nothing() {}

async fn panics() -> &'static str {
    panic!("on purpose")
}

/// Every way of declaring: a chained method, a planned one, `on`, nest, merge, state.
fn routes() -> ApiRouter {
    let admin = ApiRouter::new()
        .route("/", get(nothing))
        .route("/switch", put(nothing).delete(nothing));
    let items = ApiRouter::new()
        .route("/items", get(hello).plan(Method::POST))
        .route("/items/{id}", get(item).plan([Method::PUT, Method::DELETE]));
    ApiRouter::new()
        .route("/hello", get(hello))
        .route("/hello", post(nothing))
        .route("/patchable", on(Method::PATCH, nothing))
        .route("/future", ApiMethodRouter::new().plan(Method::GET))
        .merge(items)
        .nest("/admin", admin)
        .with_state(AppState { greeting: "hello" })
}

async fn start() -> SocketAddr {
    let service = routes()
        .into_service(ApiErrorLayer::new())
        .expect("a valid route table");
    serve(service).await
}

fn assert_error(reply: &Reply, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    let body = reply.error_body();
    assert_eq!(body["error"], code, "{body}");
    body
}

#[tokio::test]
async fn routed_methods_reach_their_handlers() {
    let addr = start().await;
    for (method, path, status) in [
        ("GET", "/hello", 200),
        ("HEAD", "/hello", 200),
        ("POST", "/hello", 200),
        ("PATCH", "/patchable", 200),
        ("GET", "/items", 200),
        ("GET", "/items/7", 200),
        ("GET", "/admin", 200),
        ("PUT", "/admin/switch", 200),
        ("DELETE", "/admin/switch", 200),
    ] {
        assert_eq!(
            send(addr, request(method, path)).await.status,
            status,
            "{method} {path}"
        );
    }
    assert_eq!(
        &send(addr, request("GET", "/items/7")).await.body[..],
        b"item 7"
    );
}

#[tokio::test]
async fn planned_methods_are_501_with_what_works_today() {
    let addr = start().await;
    for (method, path, allow) in [
        ("POST", "/items", "GET, HEAD, OPTIONS"),
        ("PUT", "/items/7", "GET, HEAD, OPTIONS"),
        ("DELETE", "/items/7", "GET, HEAD, OPTIONS"),
        ("GET", "/future", "OPTIONS"),
    ] {
        let reply = send(addr, request(method, path)).await;
        assert_eq!(reply.headers["allow"], allow, "{method} {path}");
        assert_eq!(
            reply.headers["cache-control"], "no-store",
            "{method} {path}"
        );
        assert_error(&reply, 501, "not_implemented");
    }
}

#[tokio::test]
async fn other_methods_are_405_with_allow_from_the_same_declaration() {
    let addr = start().await;
    for (method, path, allow) in [
        ("DELETE", "/hello", "GET, HEAD, POST, OPTIONS"),
        ("GET", "/patchable", "PATCH, OPTIONS"),
        ("POST", "/admin/switch", "PUT, DELETE, OPTIONS"),
        ("PATCH", "/items/7", "GET, HEAD, OPTIONS"),
    ] {
        let reply = send(addr, request(method, path)).await;
        assert_eq!(reply.headers["allow"], allow, "{method} {path}");
        let body = assert_error(&reply, 405, "method_not_allowed");
        let listed: Vec<_> = allow.split(", ").collect();
        assert_eq!(body["allowed"], json!(listed));
    }
    let options = send(addr, request("OPTIONS", "/admin/switch")).await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers["allow"], "PUT, DELETE, OPTIONS");
}

#[tokio::test]
async fn strict_routes_answer_404_for_undeclared_paths() {
    let strict = ApiRouter::new()
        .route("/a", get(nothing))
        .strict(true)
        .fallback(|| async { "the fallback" })
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let addr = serve(strict).await;
    assert_error(&send(addr, request("GET", "/b")).await, 404, "not_found");
    let lenient = ApiRouter::new()
        .route("/a", get(nothing))
        .fallback(|| async { "the fallback" })
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let addr = serve(lenient).await;
    assert_eq!(
        &send(addr, request("GET", "/b")).await.body[..],
        b"the fallback"
    );
}

#[tokio::test]
async fn the_parts_of_one_declaration_agree() {
    let (router, policy) = routes().into_parts().unwrap();
    check_router(router, &policy).await.expect("they agree");
}

#[tokio::test]
async fn check_router_finds_each_kind_of_drift() {
    let (router, _) = routes().into_parts().unwrap();
    let drifted = MethodPolicy::builder()
        // The Router also routes POST here.
        .resource("/hello", Resource::allow([Method::GET]))
        // The Router does not route DELETE here.
        .resource(
            "/patchable",
            Resource::allow([Method::PATCH, Method::DELETE]),
        )
        // The Router has no such path.
        .resource("/gone/{id}", Resource::allow([Method::GET]))
        // Planned here and routed by the Router: the handler is unreachable.
        .resource(
            "/items",
            Resource::allow([]).plan([Method::GET, Method::POST]),
        )
        .build()
        .unwrap();
    let mismatch = check_router(router, &drifted).await.unwrap_err();
    assert_eq!(
        mismatch.problems(),
        [
            "/hello: the service routes POST, which the policy refuses",
            "/patchable: the service does not route DELETE (405)",
            "/gone/{id}: the service has no route (404 for GET /gone/1)",
            "/items: the service routes GET, which the policy refuses",
        ]
    );
}

#[tokio::test]
async fn a_panicking_handler_still_counts_as_routed() {
    let router = axum::Router::new().route("/panic", axum::routing::get(panics));
    let policy = MethodPolicy::builder()
        .resource("/panic", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    check_router(router, &policy)
        .await
        .expect("a 500 is an answer");
}

#[test]
fn a_route_both_routed_and_planned_is_refused_when_built() {
    let error = ApiRouter::<()>::new()
        .route("/x", delete(nothing).plan(Method::DELETE))
        .into_parts()
        .unwrap_err();
    assert_eq!(error.to_string(), "/x: DELETE is both allowed and planned");
}

/// Issue 21, item 5: a handler's JSON `not_found` for the sample id is a route that exists;
/// only the Router's own (empty) 404 says "no route".
#[tokio::test]
async fn a_handlers_not_found_is_no_missing_route() {
    let router = axum::Router::new().route(
        "/notes/{id}",
        axum::routing::get(|| async { tower_api_errors::ApiError::not_found() }),
    );
    let policy = MethodPolicy::builder()
        .resource("/notes/{id}", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    check_router(router, &policy).await.expect("they agree");
}

/// Issue 21, item 5: an auth layer around a route answers `401` to every method, the ones the
/// route has no handler for too: axum's `Allow` on those tells them apart.
#[tokio::test]
async fn a_route_level_auth_layer_is_no_drift() {
    async fn auth(
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> Result<axum::response::Response, tower_api_errors::ApiError> {
        match req.headers().get("authorization") {
            Some(_) => Ok(next.run(req).await),
            None => Err(tower_api_errors::ApiError::unauthorized("Bearer")),
        }
    }
    let layered = axum::routing::post(|| async { "refunded" });
    let router = axum::Router::new()
        .route("/refunds", layered.layer(axum::middleware::from_fn(auth)))
        .route(
            "/admin",
            axum::routing::get(|| async { "admin" }).put(|| async {}),
        )
        .route_layer(axum::middleware::from_fn(auth));
    let policy = MethodPolicy::builder()
        .resource("/refunds", Resource::allow([Method::POST]))
        .resource("/admin", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let mismatch = check_router(router, &policy).await.unwrap_err();
    // The one real drift: PUT /admin has a handler the policy refuses.
    assert_eq!(
        mismatch.problems(),
        ["/admin: the service routes PUT, which the policy refuses"]
    );
}

/// Issue 21: a route's own `fallback` serves what the policy does not refuse: the planned
/// method stays `501`, the other standard methods `405`, and `Allow` lists only the methods
/// routed (none that is then refused); `QUERY` and `CONNECT` reach the fallback, `OPTIONS` is
/// the layer's. Nested, the policy still finds the route by its whole path.
#[tokio::test]
async fn a_method_router_fallback_serves_what_the_policy_leaves() {
    let search = || {
        get(|| async { "listed" })
            .plan(Method::POST)
            .fallback(|method: Method| async move { format!("fallback for {method}") })
    };
    let service = ApiRouter::new()
        .route("/search", search())
        .nest("/v1", ApiRouter::new().route("/search", search()))
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let addr = serve(service).await;
    for path in ["/search", "/v1/search"] {
        let reply = send(addr, request("QUERY", path)).await;
        assert_eq!(&reply.body[..], b"fallback for QUERY", "{path}");
        let planned = send(addr, request("POST", path)).await;
        assert_eq!(planned.headers["allow"], "GET, HEAD, OPTIONS", "{path}");
        assert_error(&planned, 501, "not_implemented");
        for method in ["PUT", "DELETE", "PATCH", "TRACE"] {
            let refused = send(addr, request(method, path)).await;
            assert_eq!(
                refused.headers["allow"], "GET, HEAD, OPTIONS",
                "{method} {path}"
            );
            assert_error(&refused, 405, "method_not_allowed");
        }
        let options = send(addr, request("OPTIONS", path)).await;
        assert_eq!(options.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(options.headers["allow"], "GET, HEAD, OPTIONS", "{path}");
        assert_eq!(&send(addr, request("GET", path)).await.body[..], b"listed");
    }
}

/// With `answer_options(false)` the layer leaves `OPTIONS` to the routes: the fallback has it.
#[tokio::test]
async fn a_method_router_fallback_gets_options_the_layer_leaves() {
    let service = ApiRouter::new()
        .route("/cors", put(nothing).fallback(|| async { "preflight" }))
        .answer_options(false)
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let addr = serve(service).await;
    let reply = send(addr, request("OPTIONS", "/cors")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], b"preflight");
    let refused = send(addr, request("GET", "/cors")).await;
    assert_eq!(refused.headers["allow"], "PUT");
    assert_error(&refused, 405, "method_not_allowed");
}

/// The declaration and the Router still agree with a fallback, and a fallback with no method
/// routed (axum's `any`, which the policy would refuse every standard method before) is refused
/// when the table is built, saying what to write instead.
#[tokio::test]
async fn a_method_router_fallback_in_the_table() {
    let routes = || {
        ApiRouter::<()>::new()
            .route("/search", get(nothing).fallback(nothing))
            .route("/search", post(nothing))
    };
    let (router, policy) = routes().into_parts().unwrap();
    check_router(router, &policy).await.expect("they agree");

    let error = ApiRouter::<()>::new()
        .route("/everything", ApiMethodRouter::new().fallback(nothing))
        .into_parts()
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("/everything: a method router with a `fallback` and no method routed"),
        "{error}"
    );
    assert!(error.contains("use `any(handler)`"), "{error}");
}

/// axum can't merge two fallbacks of one path: routing it again with one says what to do.
#[test]
#[should_panic(expected = "declare the path's methods in one `ApiMethodRouter`")]
fn a_path_routed_again_with_a_fallback_panics_with_what_to_do() {
    let _: ApiRouter = ApiRouter::new()
        .route("/search", get(nothing))
        .route("/search", post(nothing).fallback(nothing));
}

/// A method a route's own `fallback` (or `any`) serves is no drift: the layer does not warn
/// that the policy does not name it, as it does for a plain route whose handler serves one.
#[test]
fn a_method_the_fallback_serves_is_not_called_drift() {
    use tower::ServiceExt;
    let query = || {
        http::Request::builder()
            .method("QUERY")
            .uri("/search")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let with_fallback = ApiRouter::new()
        .route(
            "/search",
            get(|| async { "[]" }).fallback(|| async { "by QUERY" }),
        )
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let (status, logs) =
        common::captured_logs(
            async move { with_fallback.oneshot(query()).await.unwrap().status() },
        );
    assert_eq!(status, StatusCode::OK);
    assert!(!logs.contains("does not name"), "{logs}");
    let every_method = ApiRouter::new()
        .route(
            "/search",
            tower_api_errors::routing::any(|| async { "any" }),
        )
        .into_service(ApiErrorLayer::new())
        .unwrap();
    let (status, logs) =
        common::captured_logs(async move { every_method.oneshot(query()).await.unwrap().status() });
    assert_eq!(status, StatusCode::OK);
    assert!(!logs.contains("does not name"), "{logs}");
}
