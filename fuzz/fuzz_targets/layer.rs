//! `cargo fuzz run layer` (from the repository root): arbitrary requests against the demo
//! behind the layer. The input is split on newlines into method, path, `x-request-id`,
//! `Content-Type` and body; whatever they are, the answer must have a documented status and,
//! for an error, a JSON body whose `status` is the HTTP status.
#![no_main]

#[allow(dead_code)]
#[path = "../../examples/demo/app.rs"]
mod app;

use std::sync::OnceLock;

use axum::body::Body;
use http::{Method, Request, Uri};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

const DOCUMENTED: &[u16] = &[
    200, 201, 204, 400, 401, 403, 404, 405, 413, 415, 422, 500, 501, 503, 504,
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // A paused clock: `/slow?ms=…` and the deadline resolve without real waiting.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut fields = data.splitn(5, |b| *b == b'\n');
    let mut next = || fields.next().unwrap_or_default();
    let (method, path, request_id, content_type, body) = (next(), next(), next(), next(), next());
    let (Ok(method), Ok(uri)) = (Method::from_bytes(method), Uri::try_from(path)) else {
        return;
    };
    // libFuzzer aborts on any panic, even one the layer catches on purpose.
    if uri.path().starts_with("/panic") {
        return;
    }
    let mut req = Request::builder().method(method.clone()).uri(uri);
    if let Ok(id) = http::HeaderValue::from_bytes(request_id) {
        req = req.header("x-request-id", id);
    }
    if let Ok(content_type) = http::HeaderValue::from_bytes(content_type) {
        req = req.header("content-type", content_type);
    }
    let Ok(req) = req.body(Body::from(body.to_vec())) else {
        return;
    };
    let service = app::demo(&app::Settings::default()).service;
    let (status, bytes) = runtime().block_on(async move {
        let response = service.oneshot(req).await.expect("the layer never fails");
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.expect("a body").to_bytes();
        (status, bytes)
    });
    assert!(DOCUMENTED.contains(&status), "undocumented status {status}");
    if status >= 400 && method != Method::HEAD {
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("a JSON error body");
        assert_eq!(body["status"], status);
        assert_eq!(body["ok"], false);
    }
});
