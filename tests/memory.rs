//! A long, bounded run of the demo (200 000 requests mixing every path: success, 404, 405,
//! 501, 400, 401, 504-free domain errors, panics) must not grow the number of live heap
//! allocations beyond a small constant: nothing the layer does per request may leak.

#[allow(dead_code)] // only the demo's service is used here
#[path = "../examples/demo/app.rs"]
mod app;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

/// Live allocations: allocations minus deallocations, over all threads.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Live;

// SAFETY: every call is forwarded to `System` unchanged; counting is one atomic add.
unsafe impl GlobalAlloc for Live {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Live = Live;

/// One request of the mix; `i` picks which.
fn request(i: usize) -> Request<Body> {
    let (method, uri, body) = match i % 12 {
        0 => ("GET", "/health", ""),
        1 => ("GET", "/payments", ""),
        2 => ("GET", "/notes/1", ""),
        3 => ("POST", "/reports/1234/result", ""),
        4 => ("POST", "/payments", ""),
        5 => ("BREW", "/", ""),
        6 => ("GET", "/nowhere", ""),
        7 => ("GET", "/private", ""),
        8 => ("POST", "/notes", r#"{"body":"no customer"}"#),
        9 => ("POST", "/notes", r#"{"customer_id":"#),
        10 => ("OPTIONS", "/payments", ""),
        _ if i % 1200 == 11 => ("GET", "/panic", ""),
        _ => ("HEAD", "/reports/1/result", ""),
    };
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("x-request-id", "req-1")
        .body(Body::from(body))
        .unwrap()
}

async fn run(service: &mut app::Demo, range: std::ops::Range<usize>) {
    for i in range {
        let ready = ServiceExt::<Request<Body>>::ready(&mut service.service);
        let response = ready.await.unwrap().call(request(i)).await.unwrap();
        let status = response.status().as_u16();
        assert!(status < 600);
        response.into_body().collect().await.unwrap();
    }
}

#[tokio::test]
async fn live_allocations_do_not_grow() {
    // The demo's panics are on purpose; their reports would drown the output.
    std::panic::set_hook(Box::new(|_| {}));
    let requests: usize = std::env::var("MEMORY_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    // Queries that take no time: this test counts memory, and 20 000 reports would otherwise
    // wait 5 ms each.
    let settings = app::Settings {
        db_time: std::time::Duration::ZERO,
        ..app::Settings::default()
    };
    let mut demo = app::demo(&settings);
    run(&mut demo, 0..10_000).await;
    let before = LIVE.load(Ordering::SeqCst);
    run(&mut demo, 10_000..10_000 + requests).await;
    let after = LIVE.load(Ordering::SeqCst);
    let _ = std::panic::take_hook();
    println!("live allocations: {before} before, {after} after {requests} requests");
    assert!(
        after - before <= 64,
        "live allocations grew by {} over {requests} requests",
        after - before
    );
}
