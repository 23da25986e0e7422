//! Behaviour that depends on the connection: served with hyper on 127.0.0.1:0 and driven by a
//! hyper client, over HTTP/1.1 and HTTP/2.

#[path = "support/apps.rs"]
mod apps;
mod common;

use apps::{router, Live};
use axum::extract::DefaultBodyLimit;
use bytes::Bytes;
use common::{request, send, send_h2, serve};
use http::{Request, StatusCode};
use http_body_util::Full;
use tower::Layer;
use tower_api_errors::ApiErrorLayer;

async fn served() -> std::net::SocketAddr {
    let router = router(Live::default()).layer(DefaultBodyLimit::max(64));
    serve(ApiErrorLayer::new().layer(router)).await
}

fn post_json(body: &'static str, content_type: &str) -> Request<Full<Bytes>> {
    Request::post("/json")
        .header("content-type", content_type)
        .body(Full::from(body))
        .unwrap()
}

#[tokio::test]
async fn the_server_keeps_serving_after_panics() {
    let addr = served().await;
    for _ in 0..5 {
        let reply = send(addr, request("GET", "/panic")).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!String::from_utf8_lossy(&reply.body).contains("hunter2"));
        assert_eq!(
            send(addr, request("GET", "/hello")).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn head_over_the_wire_has_get_headers_and_no_body() {
    let addr = served().await;
    let get = send(addr, request("GET", "/missing")).await;
    let head = send(addr, request("HEAD", "/missing")).await;
    assert_eq!(head.status, StatusCode::NOT_FOUND);
    assert!(head.body.is_empty());
    assert_eq!(head.headers["content-type"], get.headers["content-type"]);
    assert_eq!(
        head.headers["content-length"],
        get.headers["content-length"]
    );
    get.error_body();
}

#[tokio::test]
async fn head_never_claims_a_content_length_other_than_gets() {
    let addr = served().await;
    for path in ["/missing", "/text400", "/text500", "/unauth", "/only-get"] {
        let get = send(addr, request("GET", path)).await;
        let head = send(addr, request("HEAD", path)).await;
        assert_eq!(head.status, get.status, "{path}");
        assert!(head.body.is_empty(), "{path}");
        if let Some(length) = head.headers.get("content-length") {
            assert_eq!(length, &get.headers["content-length"], "{path}");
        }
    }
}

#[tokio::test]
async fn malformed_json_is_400_with_the_parsers_words() {
    let addr = served().await;
    let reply = send(addr, post_json("{\"customer_id\": ", "application/json")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let body = reply.error_body();
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["detail"].as_str().unwrap().contains("EOF"),
        "axum's rejection text is the detail: {body}"
    );
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let addr = served().await;
    let reply = send(addr, post_json("{}", "text/plain")).await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(reply.error_body()["error"], "unsupported_media_type");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let addr = served().await;
    let big = Box::leak(format!("{{\"body\":\"{}\"}}", "x".repeat(10_000)).into_boxed_str());
    let reply = send(addr, post_json(big, "application/json")).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.error_body()["error"], "payload_too_large");
}

#[tokio::test]
async fn an_inner_405_reads_like_the_layers_own() {
    let addr = served().await;
    let reply = send(addr, request("POST", "/only-get")).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    // axum says `GET,HEAD`; the layer lists methods as its own 405s do, OPTIONS included
    // (it answers OPTIONS from that same 405).
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");
    let body = reply.error_body();
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(
        body["allowed"],
        serde_json::json!(["GET", "HEAD", "OPTIONS"])
    );
    assert_eq!(body["detail"], "POST is not supported for this resource.");
}

#[tokio::test]
async fn http2_gets_the_same_statuses_and_bodies() {
    let addr = served().await;
    for (method, uri) in [
        ("GET", "/hello"),
        ("GET", "/missing"),
        ("GET", "/panic"),
        ("GET", "/domain"),
        ("POST", "/only-get"),
        ("BREW", "/hello"),
    ] {
        let h1 = send(addr, request(method, uri)).await;
        let h2 = send_h2(addr, request(method, uri)).await;
        assert_eq!(h1.status, h2.status, "{method} {uri}");
        assert_eq!(h1.body, h2.body, "{method} {uri}");
        if h1.status.as_u16() >= 400 {
            h2.error_body();
        }
    }
}
