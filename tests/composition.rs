//! The crate used as the README shows it: nested routers, the layer around them, then CORS,
//! tracing and request ids *outside* it through `into_router()`, served by `axum::serve`
//! with connect info, over a real socket.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path};
use axum::routing::get;
use axum::Router;
use common::send;
use http::{HeaderName, Method, Request, StatusCode};
use http_body_util::Full;
use tower::Layer;
use tower_api_errors::overload::Limit;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiError, ApiErrorLayer};
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

async fn item(Path(id): Path<u32>) -> Result<String, ApiError> {
    match id {
        1 => Ok("item 1".into()),
        _ => Err(ApiError::not_found().with_detail(format!("There is no item {id}."))),
    }
}

async fn whoami(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.ip().to_string()
}

async fn served() -> SocketAddr {
    let items = Router::new().route("/items/{id}", get(item));
    let routes = Router::new()
        .nest("/api/v1", items)
        .route("/whoami", get(whoami));
    let policy = MethodPolicy::builder()
        .nest(
            "/api/v1",
            MethodPolicy::builder().resource(
                "/items/{id}",
                Resource::allow([Method::GET]).plan([Method::DELETE]),
            ),
        )
        .build()
        .unwrap();
    let request_id = HeaderName::from_static("x-request-id");
    let app: Router = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .limit(Limit::fixed(64))
        .method_policy(policy)
        .layer(routes)
        .into_router()
        .layer(
            CorsLayer::new()
                .allow_origin(tower_http::cors::Any)
                .expose_headers([http::header::ALLOW, http::header::RETRY_AFTER]),
        )
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

fn from_browser(method: Method, uri: &str) -> Request<Full<bytes::Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("origin", "https://app.example")
        .body(Full::default())
        .unwrap()
}

#[tokio::test]
async fn the_layers_answers_get_cors_and_request_ids_from_outer_layers() {
    let addr = served().await;
    let planned = send(addr, from_browser(Method::DELETE, "/api/v1/items/1")).await;
    assert_eq!(planned.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(planned.headers["access-control-allow-origin"], "*");
    let exposed = planned.headers["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("allow"), "{exposed}");
    let id = planned.headers["x-request-id"].to_str().unwrap().to_owned();
    let body = planned.error_body();
    // The request id set outside reaches the body, and the header echoes it.
    assert_eq!(body["request_id"], id);
    assert_eq!(
        body["allowed"],
        serde_json::json!(["GET", "HEAD", "OPTIONS"])
    );

    let missing = send(addr, from_browser(Method::GET, "/api/v1/items/2")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers["access-control-allow-origin"], "*");
    assert_eq!(missing.error_body()["detail"], "There is no item 2.");

    let nowhere = send(addr, from_browser(Method::GET, "/nowhere")).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    nowhere.error_body();
}

#[tokio::test]
async fn handlers_behind_into_router_see_connect_info() {
    let addr = served().await;
    let reply = send(addr, from_browser(Method::GET, "/whoami")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "127.0.0.1");
}

#[tokio::test]
async fn a_cors_layer_outside_answers_preflights_itself() {
    let addr = served().await;
    let preflight = Request::options("/api/v1/items/1")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .body(Full::default())
        .unwrap();
    let reply = send(addr, preflight).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["access-control-allow-origin"], "*");
}
