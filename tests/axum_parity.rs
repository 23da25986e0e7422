//! `ApiRouter` against `axum::Router`, side by side: the same routes declared both ways, the
//! same requests, the same status, `Allow` and handler reached, modeled on axum's own routing
//! tests (`axum/src/routing/tests/`, `method_routing.rs`). Where they differ, the difference is
//! the point and is asserted as such: planned methods (`501`), `OPTIONS` (the layer answers
//! it), and `route_layer` on a method router leaving `OPTIONS` alone.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::middleware::{from_fn, Next};
use axum::response::Response;
use common::{call, Reply};
use http::{HeaderValue, Method, StatusCode};
use tower_api_errors::routing::{self as api, ApiRouter};
use tower_api_errors::{ApiError, ApiErrorLayer};

/// What a test compares: the status, the methods a `405`'s `Allow` lists (but `OPTIONS`,
/// which the layer adds), the body of a success (which handler ran) and whether the test layer ran.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: StatusCode,
    allow: BTreeSet<String>,
    handler: String,
    layered: bool,
}

impl Seen {
    fn of(reply: &Reply) -> Self {
        // `Allow` is compared where it means something, on a `405`: axum also leaves its
        // route's on the `401` of an auth layer around the route, which the layer drops
        // (`no_allow_on_an_auth_refusal`).
        let allow = (reply.status == StatusCode::METHOD_NOT_ALLOWED)
            .then(|| reply.headers.get("allow"))
            .flatten()
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && m != "OPTIONS")
            .collect();
        let handler = if reply.status.is_success() {
            String::from_utf8_lossy(&reply.body).into_owned()
        } else {
            String::new()
        };
        Self {
            status: reply.status,
            allow,
            handler,
            layered: reply.headers.contains_key("x-layer"),
        }
    }
}

fn request(method: &str, uri: &str, authorized: bool) -> Request {
    let mut req = Request::builder().method(method).uri(uri);
    if authorized {
        req = req.header("authorization", "Bearer secret");
    }
    req.body(Body::empty()).unwrap()
}

/// Sends each `(method, path)` to both and asserts they answer alike. The ApiRouter's error
/// bodies are checked against the schema.
async fn same(axum: axum::Router, api: ApiRouter, cases: &[(&str, &str)]) {
    same_as(axum, api, cases, false).await;
}

async fn same_as(axum: axum::Router, api: ApiRouter, cases: &[(&str, &str)], authorized: bool) {
    let api = api.into_service(ApiErrorLayer::new()).unwrap();
    for &(method, path) in cases {
        let theirs = call(axum.clone(), request(method, path, authorized)).await;
        let ours = call(api.clone(), request(method, path, authorized)).await;
        if ours.status.as_u16() >= 400 && method != "HEAD" {
            ours.error_body();
        }
        assert_eq!(Seen::of(&ours), Seen::of(&theirs), "{method} {path}");
    }
}

async fn reply(api: ApiRouter, method: &str, path: &str, authorized: bool) -> Reply {
    let api = api.into_service(ApiErrorLayer::new()).unwrap();
    call(api, request(method, path, authorized)).await
}

macro_rules! text {
    ($text:expr) => {
        || async { $text }
    };
}

/// A layer that marks what it wraps.
async fn mark(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let marked = HeaderValue::from_static("1");
    response.headers_mut().insert("x-layer", marked);
    response
}

/// An auth layer: `401` without `authorization`.
async fn auth(req: Request, next: Next) -> Result<Response, ApiError> {
    if req.headers().contains_key("authorization") {
        Ok(next.run(req).await)
    } else {
        Err(ApiError::unauthorized("Bearer"))
    }
}

const EVERY_METHOD: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE"];

fn every_method(path: &str) -> Vec<(&'static str, &str)> {
    EVERY_METHOD.iter().map(|m| (*m, path)).collect()
}

#[tokio::test]
async fn method_routing() {
    let theirs =
        axum::Router::new().route("/x", axum::routing::get(text!("get")).post(text!("post")));
    let ours = ApiRouter::new().route("/x", api::get(text!("get")).post(text!("post")));
    same(theirs, ours, &every_method("/x")).await;
}

#[tokio::test]
async fn different_methods_added_in_different_routes() {
    let theirs = axum::Router::new()
        .route("/", axum::routing::get(text!("GET")))
        .route("/", axum::routing::post(text!("POST")));
    let ours = ApiRouter::new()
        .route("/", api::get(text!("GET")))
        .route("/", api::post(text!("POST")));
    same(theirs, ours, &every_method("/")).await;
}

#[tokio::test]
async fn head_goes_to_get_and_an_explicit_head_wins() {
    let theirs = axum::Router::new()
        .route("/get", axum::routing::get(text!("get")))
        .route(
            "/head",
            axum::routing::get(text!("get")).head(text!("head")),
        );
    let ours = ApiRouter::new()
        .route("/get", api::get(text!("get")))
        .route("/head", api::get(text!("get")).head(text!("head")));
    same(
        theirs,
        ours,
        &[("HEAD", "/get"), ("HEAD", "/head"), ("GET", "/head")],
    )
    .await;
}

#[tokio::test]
async fn fallbacks_answer_unmatched_paths() {
    let theirs = axum::Router::new()
        .route("/x", axum::routing::get(text!("x")))
        .fallback(text!("fallback"));
    let ours = ApiRouter::new()
        .route("/x", api::get(text!("x")))
        .fallback(text!("fallback"));
    same(
        theirs,
        ours,
        &[("GET", "/nope"), ("POST", "/x"), ("GET", "/x")],
    )
    .await;
    let theirs = axum::Router::new().route("/x", axum::routing::get(text!("x")));
    let ours = ApiRouter::new().route("/x", api::get(text!("x")));
    same(theirs, ours, &[("GET", "/nope"), ("DELETE", "/nope")]).await;
}

#[tokio::test]
async fn nesting_and_path_parameters() {
    async fn user(Path(id): Path<u32>) -> String {
        format!("user {id}")
    }
    async fn file(Path(path): Path<String>) -> String {
        format!("file {path}")
    }
    let theirs = axum::Router::new().nest(
        "/v1",
        axum::Router::new()
            .route("/users/{id}", axum::routing::get(user))
            .route("/files/{*path}", axum::routing::get(file)),
    );
    let ours = ApiRouter::new().nest(
        "/v1",
        ApiRouter::new()
            .route("/users/{id}", api::get(user))
            .route("/files/{*path}", api::get(file)),
    );
    same(
        theirs,
        ours,
        &[
            ("GET", "/v1/users/7"),
            ("PATCH", "/v1/users/7"),
            ("GET", "/v1/users/x"),
            ("GET", "/v1/files/a/b.txt"),
            ("PUT", "/v1/files/a"),
            ("GET", "/v1"),
            ("GET", "/users/7"),
        ],
    )
    .await;
}

#[tokio::test]
async fn merging() {
    let theirs = axum::Router::new()
        .route("/a", axum::routing::get(text!("a")))
        .merge(axum::Router::new().route("/b", axum::routing::put(text!("b"))));
    let ours = ApiRouter::new()
        .route("/a", api::get(text!("a")))
        .merge(ApiRouter::new().route("/b", api::put(text!("b"))));
    same(theirs, ours, &[("GET", "/a"), ("PUT", "/b"), ("GET", "/b")]).await;
}

#[tokio::test]
async fn state_reaches_the_handlers() {
    async fn greet(State(greeting): State<&'static str>) -> &'static str {
        greeting
    }
    let theirs = axum::Router::new()
        .route("/", axum::routing::get(greet))
        .with_state("hello");
    let ours = ApiRouter::new()
        .route("/", api::get(greet))
        .with_state("hello");
    same(theirs, ours, &[("GET", "/"), ("POST", "/")]).await;
}

/// Issue 21, item 1: `layer` wraps everything the router answers, its `405`s included.
#[tokio::test]
async fn router_layer_sees_every_answer() {
    let theirs = axum::Router::new()
        .route("/x", axum::routing::get(text!("x")))
        .nest(
            "/v1",
            axum::Router::new().route("/y", axum::routing::get(text!("y"))),
        )
        .layer(from_fn(mark));
    let ours = ApiRouter::new()
        .route("/x", api::get(text!("x")))
        .nest("/v1", ApiRouter::new().route("/y", api::get(text!("y"))))
        .layer(from_fn(mark));
    same(
        theirs,
        ours,
        &[
            ("GET", "/x"),
            ("POST", "/x"),
            ("POST", "/v1/y"),
            ("GET", "/nope"),
        ],
    )
    .await;
}

/// A route added after `layer` is not wrapped, in both.
#[tokio::test]
async fn router_layer_wraps_the_routes_declared_before_it() {
    let theirs = axum::Router::new()
        .route("/before", axum::routing::get(text!("before")))
        .layer(from_fn(mark))
        .route("/after", axum::routing::get(text!("after")));
    let ours = ApiRouter::new()
        .route("/before", api::get(text!("before")))
        .layer(from_fn(mark))
        .route("/after", api::get(text!("after")));
    same(
        theirs,
        ours,
        &[
            ("GET", "/before"),
            ("POST", "/before"),
            ("GET", "/after"),
            ("POST", "/after"),
        ],
    )
    .await;
}

/// `Router::route_layer`: not on the fallback; like axum's, on the whole route.
#[tokio::test]
async fn router_route_layer_as_axum() {
    let theirs = axum::Router::new()
        .route("/foo", axum::routing::get(text!("foo")))
        .route_layer(from_fn(auth));
    let ours = ApiRouter::new()
        .route("/foo", api::get(text!("foo")))
        .route_layer(from_fn(auth));
    let cases = [("GET", "/foo"), ("POST", "/foo"), ("GET", "/not-found")];
    same(theirs.clone(), ours, &cases).await;
    let ours = ApiRouter::new()
        .route("/foo", api::get(text!("foo")))
        .route_layer(from_fn(auth));
    same_as(theirs, ours, &cases, true).await;
}

/// `MethodRouter::layer` wraps the route's fallback too: every method is `401`, in both.
#[tokio::test]
async fn method_router_layer_wraps_the_fallback() {
    let theirs = axum::Router::new().route(
        "/refunds",
        axum::routing::post(text!("refunded")).layer(from_fn(auth)),
    );
    let ours = ApiRouter::new().route(
        "/refunds",
        api::post(text!("refunded")).layer(from_fn(auth)),
    );
    let cases = every_method("/refunds");
    same(theirs.clone(), ours, &cases).await;
    let ours = ApiRouter::new().route(
        "/refunds",
        api::post(text!("refunded")).layer(from_fn(auth)),
    );
    same_as(theirs, ours, &cases, true).await;
}

/// Issue 21, item 2: `MethodRouter::route_layer` only where a handler runs; the `405` stays.
#[tokio::test]
async fn method_router_route_layer_leaves_the_405() {
    let route = || api::post(text!("refunded")).route_layer(from_fn(auth));
    let theirs = axum::Router::new().route(
        "/refunds",
        axum::routing::post(text!("refunded")).route_layer(from_fn(auth)),
    );
    same(
        theirs,
        ApiRouter::new().route("/refunds", route()),
        &every_method("/refunds"),
    )
    .await;
    // Where they differ, by design: the layer answers `OPTIONS`, with an `Allow` whose
    // methods all work; no `401`, no stray `Allow` on one.
    let options = reply(
        ApiRouter::new().route("/refunds", route()),
        "OPTIONS",
        "/refunds",
        false,
    )
    .await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers["allow"], "POST, OPTIONS");
    let refused = reply(
        ApiRouter::new().route("/refunds", route()),
        "POST",
        "/refunds",
        false,
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(!refused.headers.contains_key("allow"), "{refused:?}");
}

/// Behind `MethodRouter::layer(auth)`, axum adds the route's `Allow` to the `401`: the layer
/// drops it (it lists methods the route then refuses, `OPTIONS` among them).
#[tokio::test]
async fn no_allow_on_an_auth_refusal() {
    let route = api::post(text!("refunded")).layer(from_fn(auth));
    for method in ["GET", "OPTIONS", "QUERY", "CONNECT"] {
        let route = api::post(text!("refunded")).layer(from_fn(auth));
        let reply = reply(
            ApiRouter::new().route("/refunds", route),
            method,
            "/refunds",
            false,
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method}");
        assert!(!reply.headers.contains_key("allow"), "{method}: {reply:?}");
    }
    let options = reply(
        ApiRouter::new().route("/refunds", route),
        "OPTIONS",
        "/refunds",
        true,
    )
    .await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers["allow"], "POST, OPTIONS");
}

/// Planned methods: `501` where axum says `405`, the point of the crate; the layer on the
/// router sees it too.
#[tokio::test]
async fn planned_methods_differ_by_design() {
    let ours = || {
        ApiRouter::new()
            .route("/payments", api::get(text!("[]")).plan(Method::POST))
            .layer(from_fn(mark))
    };
    let planned = reply(ours(), "POST", "/payments", false).await;
    assert_eq!(planned.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(planned.headers["allow"], "GET, HEAD, OPTIONS");
    assert_eq!(planned.headers["x-layer"], "1");
    planned.error_body();
    let theirs = axum::Router::new()
        .route("/payments", axum::routing::get(text!("[]")))
        .layer(from_fn(mark));
    let refused = call(theirs, request("POST", "/payments", false)).await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(refused.headers["x-layer"], "1");
}

/// Issue 21, item 3: what axum users write, working as in axum.
#[tokio::test]
async fn any_and_method_filters() {
    use axum::routing::MethodFilter;
    let theirs = axum::Router::new()
        .route("/any", axum::routing::any(text!("any")))
        .route(
            "/on",
            axum::routing::on(MethodFilter::GET.or(MethodFilter::POST), text!("on")),
        );
    let ours = ApiRouter::new()
        .route("/any", api::any(text!("any")))
        .route(
            "/on",
            api::on(MethodFilter::GET.or(MethodFilter::POST), text!("on")),
        );
    let mut cases = every_method("/any");
    cases.extend(every_method("/on"));
    same(theirs, ours, &cases).await;
}

#[tokio::test]
async fn services_as_routes_nests_and_fallbacks() {
    let service = || {
        tower::service_fn(|_req: Request| async { Ok::<_, std::convert::Infallible>("service") })
    };
    let theirs = axum::Router::new()
        .route_service("/svc", service())
        .nest_service("/static", service())
        .fallback_service(tower::service_fn(|_req: Request| async {
            Ok::<_, std::convert::Infallible>("fallback")
        }));
    let ours = ApiRouter::new()
        .route_service("/svc", service())
        .nest_service("/static", service())
        .fallback_service(tower::service_fn(|_req: Request| async {
            Ok::<_, std::convert::Infallible>("fallback")
        }));
    same(
        theirs,
        ours,
        &[
            ("GET", "/svc"),
            ("DELETE", "/svc"),
            ("GET", "/static/app.js"),
            ("POST", "/static/app.js"),
            ("GET", "/elsewhere"),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_plain_router_merges_and_nests() {
    let third_party = || axum::Router::new().route("/status", axum::routing::get(text!("status")));
    let theirs = axum::Router::new()
        .route("/notes", axum::routing::get(text!("notes")))
        .merge(third_party())
        .nest("/vendor", third_party());
    let ours = ApiRouter::new()
        .route("/notes", api::get(text!("notes")))
        .merge(third_party())
        .nest("/vendor", third_party());
    same(
        theirs,
        ours,
        &[
            ("GET", "/status"),
            ("POST", "/status"),
            ("GET", "/vendor/status"),
            ("PUT", "/notes"),
        ],
    )
    .await;
}

/// Where axum's behaviour can't be kept, the build says so, and what to do.
#[test]
fn what_cannot_work_is_refused_when_built() {
    let strict_with_unknown_paths = ApiRouter::<()>::new()
        .route("/a", api::get(text!("a")))
        .merge(axum::Router::new().route("/b", axum::routing::get(text!("b"))))
        .strict(true);
    let error = strict_with_unknown_paths.policy().unwrap_err().to_string();
    assert!(error.contains("strict mode would answer 404"), "{error}");

    let error = ApiRouter::<()>::new()
        .route("/a", api::get(text!("a")))
        .method_not_allowed_fallback(text!("nope"))
        .policy()
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("method_not_allowed_fallback: "),
        "{error}"
    );

    // A policy already on the layer is not thrown away.
    let layer = ApiErrorLayer::new().method_policy(
        tower_api_errors::policy::MethodPolicy::builder()
            .resource(
                "/a",
                tower_api_errors::policy::Resource::allow([Method::GET]),
            )
            .build()
            .unwrap(),
    );
    let error = ApiRouter::new()
        .route("/a", api::get(text!("a")))
        .into_service(layer)
        .unwrap_err()
        .to_string();
    assert!(error.contains("already has a method policy"), "{error}");
}

/// `nest` keeps the nested router's settings (they were dropped), and says when two differ.
#[tokio::test]
async fn nest_keeps_the_nested_settings() {
    let admin = ApiRouter::new()
        .route("/switch", api::put(text!("on")))
        .answer_options(false);
    let policy = ApiRouter::<()>::new()
        .route("/a", api::get(text!("a")))
        .nest("/admin", admin)
        .policy()
        .unwrap();
    let routes = ApiRouter::new().route("/a", api::get(text!("a"))).nest(
        "/admin",
        ApiRouter::new()
            .route("/switch", api::put(text!("on")))
            .answer_options(false),
    );
    let refused = reply(routes, "GET", "/admin/switch", false).await;
    assert_eq!(refused.headers["allow"], "PUT", "{policy:?}");
    let error = ApiRouter::<()>::new()
        .strict(false)
        .nest(
            "/admin",
            ApiRouter::new()
                .route("/x", api::get(text!("x")))
                .strict(true),
        )
        .policy()
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("/admin: strict(true) here but strict(false)"),
        "{error}"
    );
}

/// Issue 21: `MethodRouter::fallback`. It answers what the policy leaves to the Router
/// (`QUERY`, `CONNECT`, …) as axum's does; where axum would hand it a method the declaration
/// refuses (`DELETE` beside a `get`), the policy answers `405`, by design, with an `Allow`
/// that lists no method it then refuses.
#[tokio::test]
async fn method_router_fallback() {
    let theirs = || {
        axum::Router::new().route(
            "/search",
            axum::routing::get(text!("get")).fallback(text!("fallback")),
        )
    };
    let ours = || {
        ApiRouter::new().route(
            "/search",
            api::get(text!("get")).fallback(text!("fallback")),
        )
    };
    let cases = [
        ("GET", "/search"),
        ("HEAD", "/search"),
        ("QUERY", "/search"),
    ];
    same(theirs(), ours(), &cases).await;

    // By design: the declaration refuses the other standard methods; axum's fallback got them.
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let axum = call(theirs(), request(method, "/search", false)).await;
        assert_eq!(axum.body, "fallback", "{method}");
        let refused = reply(ours(), method, "/search", false).await;
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(refused.headers["allow"], "GET, HEAD, OPTIONS", "{method}");
        refused.error_body();
    }
    let options = reply(ours(), "OPTIONS", "/search", false).await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers["allow"], "GET, HEAD, OPTIONS");
}

/// A fallback before `layer` is wrapped by it, one after is not: as in axum.
#[tokio::test]
async fn method_router_fallback_and_layer_in_either_order() {
    let theirs = axum::Router::new()
        .route(
            "/before",
            axum::routing::get(text!("get"))
                .fallback(text!("fallback"))
                .layer(from_fn(mark)),
        )
        .route(
            "/after",
            axum::routing::get(text!("get"))
                .layer(from_fn(mark))
                .fallback(text!("fallback")),
        );
    let ours = ApiRouter::new()
        .route(
            "/before",
            api::get(text!("get"))
                .fallback(text!("fallback"))
                .layer(from_fn(mark)),
        )
        .route(
            "/after",
            api::get(text!("get"))
                .layer(from_fn(mark))
                .fallback(text!("fallback")),
        );
    let cases = [
        ("GET", "/before"),
        ("QUERY", "/before"),
        ("GET", "/after"),
        ("QUERY", "/after"),
    ];
    same(theirs, ours, &cases).await;
}

/// On `any`, `fallback` replaces `any`'s handler, in both: every method reaches it.
#[tokio::test]
async fn method_router_fallback_on_any() {
    let theirs =
        axum::Router::new().route("/", axum::routing::any(text!("any")).fallback(text!("fb")));
    let ours = ApiRouter::new().route("/", api::any(text!("any")).fallback(text!("fb")));
    let mut cases = every_method("/");
    cases.push(("QUERY", "/"));
    same(theirs, ours, &cases).await;
}

/// A fallback with state, the state provided by the router.
#[tokio::test]
async fn method_router_fallback_with_state() {
    async fn greet(State(greeting): State<&'static str>) -> &'static str {
        greeting
    }
    let theirs = axum::Router::new()
        .route("/", axum::routing::post(text!("post")).fallback(greet))
        .with_state("hello");
    let ours = ApiRouter::new()
        .route("/", api::post(text!("post")).fallback(greet))
        .with_state("hello");
    same(theirs, ours, &[("POST", "/"), ("QUERY", "/")]).await;
}

/// Issue 21: `MethodRouter::with_state`: a route given its state, in a router of another
/// state (or none).
#[tokio::test]
async fn method_router_with_state() {
    async fn greet(State(greeting): State<&'static str>) -> &'static str {
        greeting
    }
    async fn count(State(n): State<u32>) -> String {
        n.to_string()
    }
    let theirs = axum::Router::new()
        .route("/", axum::routing::get(greet).with_state("hello"))
        .route(
            "/n",
            axum::routing::get(count).fallback(count).with_state(7),
        );
    let ours = ApiRouter::new()
        .route("/", api::get(greet).with_state("hello"))
        .route("/n", api::get(count).fallback(count).with_state(7));
    let cases = [("GET", "/"), ("POST", "/"), ("GET", "/n"), ("QUERY", "/n")];
    same(theirs, ours, &cases).await;

    // In a router with a state of its own.
    let theirs = axum::Router::new()
        .route("/", axum::routing::get(greet).with_state("hello"))
        .route("/n", axum::routing::get(count))
        .with_state(7_u32);
    let ours = ApiRouter::new()
        .route("/", api::get(greet).with_state("hello"))
        .route("/n", api::get(count))
        .with_state(7_u32);
    same(theirs, ours, &[("GET", "/"), ("GET", "/n"), ("PUT", "/n")]).await;
}
