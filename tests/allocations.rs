//! Heap allocations per request for the stacks of `benches/overhead.rs`, counted by a global
//! allocator that wraps `System`. The happy path of the layer must not allocate more than the
//! bare Router; the table of every stack is printed with
//!
//! ```text
//! cargo test --test allocations -- --nocapture
//! ```
//!
//! Counting is per thread (tests run in parallel) and only inside the measured loop, on a
//! `current_thread` runtime whose futures never wait, so the counts are deterministic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use axum::extract::Request;
use bytes::Bytes;
use http::StatusCode;
use tower::Service;

#[path = "../benches/support/stacks.rs"]
mod stacks;

use stacks::requests;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn record(size: usize) {
    // `try_with`: never panic inside the allocator, even while the thread is torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    let _ = BYTES.try_with(|n| n.set(n.get() + size as u64));
}

// SAFETY: every call is forwarded to `System` unchanged; counting touches no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counters() -> (u64, u64) {
    (ALLOCATIONS.with(Cell::get), BYTES.with(Cell::get))
}

/// Requests counted per measurement.
const N: u64 = 1000;
/// Requests sent first, so that one-time growth (lazy statics, buffers) is not counted.
const WARM_UP: u64 = 100;

/// Allocations and bytes allocated over `N` requests (each built, sent and its body read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    allocations: u64,
    bytes: u64,
}

impl Count {
    fn per_request(self) -> (f64, f64) {
        (
            self.allocations as f64 / N as f64,
            self.bytes as f64 / N as f64,
        )
    }
}

fn count<S, B>(service: S, make_request: fn() -> Request, expected: StatusCode) -> Count
where
    S: Service<Request, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        for _ in 0..WARM_UP {
            let (status, _) = stacks::send(&service, make_request()).await;
            assert_eq!(status, expected);
        }
        let (allocations, bytes) = counters();
        for _ in 0..N {
            std::hint::black_box(stacks::send(&service, make_request()).await);
        }
        let (allocations_after, bytes_after) = counters();
        Count {
            allocations: allocations_after - allocations,
            bytes: bytes_after - bytes,
        }
    })
}

#[test]
fn layer_adds_no_allocation_on_the_happy_path() {
    let ok = StatusCode::OK;
    let bare = count(stacks::bare(), requests::hello, ok);
    let layer = count(stacks::layer(), requests::hello, ok);
    let minimal = count(stacks::layer_minimal(), requests::hello, ok);
    assert!(
        bare.allocations > 0,
        "the counting allocator counts nothing"
    );
    assert_eq!(
        layer.allocations,
        bare.allocations,
        "`layer` allocates {:.2}/req, `bare` {:.2}/req",
        layer.per_request().0,
        bare.per_request().0
    );
    assert_eq!(
        minimal.allocations,
        bare.allocations,
        "`layer_minimal` allocates {:.2}/req, `bare` {:.2}/req",
        minimal.per_request().0,
        bare.per_request().0
    );
}

#[test]
fn allocation_table() {
    let ok = StatusCode::OK;
    let not_found = StatusCode::NOT_FOUND;
    let missing = requests::missing;
    let rows = [
        ("overhead/bare", count(stacks::bare(), requests::hello, ok)),
        (
            "overhead/layer",
            count(stacks::layer(), requests::hello, ok),
        ),
        (
            "overhead/layer_minimal",
            count(stacks::layer_minimal(), requests::hello, ok),
        ),
        (
            "overhead/peer_stack",
            count(stacks::peer_stack(), requests::hello, ok),
        ),
        ("error_path/bare", count(stacks::bare(), missing, not_found)),
        (
            "error_path/layer",
            count(stacks::layer(), missing, not_found),
        ),
        (
            "error_path/layer_minimal",
            count(stacks::layer_minimal(), missing, not_found),
        ),
        (
            "error_path/peer_stack",
            count(stacks::peer_stack(), missing, not_found),
        ),
        (
            "error_path/layer_405",
            count(
                stacks::layer(),
                requests::not_allowed,
                StatusCode::METHOD_NOT_ALLOWED,
            ),
        ),
        (
            "error_path/layer_501",
            count(
                stacks::layer(),
                requests::planned,
                StatusCode::NOT_IMPLEMENTED,
            ),
        ),
    ];
    let bare = |id: &str| {
        let group = id.split('/').next().unwrap_or_default();
        rows.iter()
            .find(|(row, _)| *row == format!("{group}/bare"))
            .map(|(_, count)| count.per_request().0)
            .unwrap_or_default()
    };
    println!();
    println!("| id | allocs/req | over bare | bytes/req |");
    println!("|---|---|---|---|");
    for (id, count) in &rows {
        let (allocations, bytes) = count.per_request();
        println!(
            "| {id} | {allocations:.2} | {:+.2} | {bytes:.0} |",
            allocations - bare(id)
        );
    }
}

#[test]
fn adaptive_limit_drain_and_deadlines_add_no_allocation() {
    use tower::ServiceBuilder;
    use tower_api_errors::overload::{AdaptiveConcurrency, Drain, Limit};
    use tower_api_errors::ApiErrorLayer;

    let ok = StatusCode::OK;
    let bare = count(stacks::bare(), requests::hello, ok);
    let layer = ApiErrorLayer::new()
        .timeout(stacks::TIMEOUT)
        .limit(Limit::adaptive(AdaptiveConcurrency::default()))
        .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
        .drain(Drain::new())
        .method_policy(stacks::policy());
    let adaptive = count(
        ServiceBuilder::new().layer(layer).service(stacks::router()),
        requests::hello,
        ok,
    );
    assert_eq!(
        adaptive.allocations,
        bare.allocations,
        "adaptive allocates {:.2}/req, `bare` {:.2}/req",
        adaptive.per_request().0,
        bare.per_request().0
    );
}

#[test]
fn an_error_that_says_only_its_status_allocates_nothing() {
    let (before, _) = counters();
    let error = std::hint::black_box(tower_api_errors::ApiError::gateway_timeout());
    assert_eq!(error.code(), "gateway_timeout");
    drop(error);
    let not_found = std::hint::black_box(tower_api_errors::ApiError::not_found());
    drop(not_found);
    let (after, _) = counters();
    assert_eq!(after - before, 0, "ApiError::new(status) allocates");
    // The first detail, member or header makes it allocate, once.
    let (before, _) = counters();
    let detailed = std::hint::black_box(tower_api_errors::ApiError::not_found().with_detail("x"));
    drop(detailed);
    let (after, _) = counters();
    assert_eq!(after - before, 1);
}
