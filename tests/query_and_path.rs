//! `tower_api_errors::extract::Query` and `Path` (issue 21, item 7): the parameter that was wrong named
//! in `errors`, as `Json` names a body's member, in the documented body (schema-checked), over
//! a real socket.

mod common;

use axum::routing::get;
use axum::Router;
use common::{request, send, serve};
use serde::Deserialize;
use tower::Layer;
use tower_api_errors::extract::{Path, Query};
use tower_api_errors::ApiErrorLayer;

#[derive(Deserialize)]
struct Page {
    page: u32,
    #[allow(dead_code)]
    size: Option<u32>,
}

async fn list(Query(page): Query<Page>) -> String {
    format!("page {}", page.page)
}

async fn note(Path((user, id)): Path<(String, u64)>) -> String {
    format!("{user}/{id}")
}

#[derive(Deserialize)]
struct Report {
    id: u64,
}

async fn report(Path(report): Path<Report>) -> String {
    format!("report {}", report.id)
}

async fn start() -> std::net::SocketAddr {
    let routes: Router = Router::new()
        .route("/notes", get(list))
        .route("/users/{user}/notes/{id}", get(note))
        .route("/reports/{id}", get(report));
    serve(ApiErrorLayer::new().layer(routes)).await
}

#[tokio::test]
async fn query_errors_name_the_parameter() {
    let addr = start().await;
    let ok = send(addr, request("GET", "/notes?page=2")).await;
    assert_eq!(&ok.body[..], b"page 2");

    let invalid = send(addr, request("GET", "/notes?page=two&size=1")).await;
    assert_eq!(invalid.status, 400);
    let body = invalid.error_body();
    assert_eq!(body["error"], "invalid_query");
    assert_eq!(body["errors"][0]["pointer"], "/page");
    assert_eq!(body["detail"], "The query parameter page is invalid.");

    let missing = send(addr, request("GET", "/notes?size=1")).await;
    assert_eq!(missing.status, 400);
    let body = missing.error_body();
    assert_eq!(body["error"], "missing_parameter");
    assert_eq!(body["param"], "page");
    assert_eq!(body["errors"][0]["pointer"], "/page");
}

#[tokio::test]
async fn path_errors_name_the_parameter() {
    let addr = start().await;
    let ok = send(addr, request("GET", "/users/ann/notes/7")).await;
    assert_eq!(&ok.body[..], b"ann/7");

    // A tuple: the route's name for the element that did not parse.
    let by_index = send(addr, request("GET", "/users/ann/notes/abc")).await;
    assert_eq!(by_index.status, 400);
    let body = by_index.error_body();
    assert_eq!(body["error"], "invalid_path");
    assert_eq!(body["errors"][0]["pointer"], "/id");

    // A struct: the member.
    let by_key = send(addr, request("GET", "/reports/x")).await;
    let body = by_key.error_body();
    assert_eq!(body["error"], "invalid_path");
    assert_eq!(body["errors"][0]["pointer"], "/id");
    assert_eq!(body["detail"], "The path parameter id is invalid.");
}
