//! A layer's configuration lives as long as the layer, its services and their requests, and no
//! longer (issue 19, item 5; issue 20, item 7): building and dropping many layers with
//! distinct rendering settings (`problem_type_base`, `challenge`, a shape) leaves the heap as it was.
//! Before, each distinct value was kept for the life of the program in a list that every build
//! searched. Counted in live bytes (allocated minus freed), not in time.
//!
//! One test in this binary: the counter is process-wide.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use axum::body::Body;
use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_api_errors::shape::shape_fn;
use tower_api_errors::{ApiErrorLayer, Format};

/// Live heap bytes: allocated minus freed, over all threads.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Live;

// SAFETY: every call is forwarded to `System` unchanged; counting is one atomic add.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// Builds a layer with settings of its own (`i` makes them distinct, about 1 KiB each), serves
/// one request that it answers with an error body, and drops everything.
async fn build_use_and_drop(i: usize) {
    let base = format!("https://errors.example.com/{i}/{}/", "x".repeat(1000));
    let layer = ApiErrorLayer::new()
        .format(Format::Problem)
        .problem_type_base(base)
        .challenge(HeaderValue::try_from(format!("Bearer realm=\"{i}\"")).unwrap())
        .offer_shape(shape_fn(
            "application/vnd.example+json",
            move |e| json!({"failure": e.code(), "build": i}),
        ));
    let service = layer.clone().layer(axum::Router::new());
    let response = service
        .oneshot(Request::get("/missing").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.windows(4).any(|w| w == b"xxxx"), "the base is used");
    let shaped = service_in_shape(&layer).await;
    assert_eq!(shaped["build"], i);
}

/// The layer's answer in its offered shape: the shape renders (and a canned body is kept for it).
async fn service_in_shape(layer: &ApiErrorLayer) -> serde_json::Value {
    let request = Request::get("/missing")
        .header("accept", "application/vnd.example+json")
        .body(Body::empty())
        .unwrap();
    let response = layer
        .layer(axum::Router::new())
        .oneshot(request)
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_layers_free_their_configuration() {
    // Warm up what is made once (tracing's callsites, lazily built tables).
    for i in 0..10 {
        build_use_and_drop(i).await;
    }
    let before = LIVE.load(Ordering::SeqCst);
    let builds = 2_000;
    for i in 10..10 + builds {
        build_use_and_drop(i).await;
    }
    let after = LIVE.load(Ordering::SeqCst);
    println!("live heap bytes: {before} before, {after} after {builds} layers");
    // Kept, 2 000 layers would hold more than 2 MB; freed, nothing grows but noise.
    assert!(
        after - before < 16 * 1024,
        "{} bytes still live after {builds} layers were dropped",
        after - before
    );
}
