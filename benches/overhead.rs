//! What the layer costs per request, side by side with a bare axum Router and with the peer
//! composition users write today (see `support/stacks.rs` for the stacks).
//!
//! ```text
//! cargo bench --bench overhead
//! cargo test --test allocations -- --nocapture   # allocations per request, same stacks
//! ```
//!
//! Each iteration builds a fresh request, clones the stack (as axum's and hyper-util's servers
//! do per request), drives `ready` + `call` and reads the body frame by frame, on a tokio
//! `current_thread` runtime. One `block_on` per sample, so the runtime's own entry cost is not in
//! the numbers.

use std::hint::black_box;
use std::time::{Duration, Instant};

use axum::extract::Request;
use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use http::StatusCode;
use tower::Service;

#[path = "support/stacks.rs"]
mod stacks;

use stacks::requests;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Benchmarks `service` answering `make_request()` with `expected`, as `id` in `group`.
fn bench<S, B>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    id: &str,
    service: S,
    make_request: fn() -> Request,
    expected: StatusCode,
) where
    S: Service<Request, Response = http::Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    // A stack that answers something else than expected is not measuring what it claims.
    let (status, _) = rt.block_on(stacks::send(&service, make_request()));
    assert_eq!(status, expected, "{}/{id}", group_name(expected));

    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(stacks::send(&service, make_request()).await);
                }
                start.elapsed()
            })
        });
    });
}

fn group_name(expected: StatusCode) -> &'static str {
    if expected.is_success() {
        "overhead"
    } else {
        "error_path"
    }
}

fn configure<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    group
}

/// `GET /hello` → 200 through every stack.
fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let mut group = configure(c, "overhead");
    let ok = StatusCode::OK;
    bench(&mut group, &rt, "bare", stacks::bare(), requests::hello, ok);
    bench(
        &mut group,
        &rt,
        "layer",
        stacks::layer(),
        requests::hello,
        ok,
    );
    bench(
        &mut group,
        &rt,
        "layer_minimal",
        stacks::layer_minimal(),
        requests::hello,
        ok,
    );
    bench(
        &mut group,
        &rt,
        "peer_stack",
        stacks::peer_stack(),
        requests::hello,
        ok,
    );
    group.finish();
}

/// `GET /missing` → axum's empty 404 (rewritten to JSON by all but `bare`), and the policy's
/// 405 and 501, which the layer answers without calling the Router.
fn error_path(c: &mut Criterion) {
    let rt = runtime();
    let mut group = configure(c, "error_path");
    let missing = requests::missing;
    let not_found = StatusCode::NOT_FOUND;
    bench(&mut group, &rt, "bare", stacks::bare(), missing, not_found);
    bench(
        &mut group,
        &rt,
        "layer",
        stacks::layer(),
        missing,
        not_found,
    );
    bench(
        &mut group,
        &rt,
        "layer_minimal",
        stacks::layer_minimal(),
        missing,
        not_found,
    );
    bench(
        &mut group,
        &rt,
        "peer_stack",
        stacks::peer_stack(),
        missing,
        not_found,
    );
    bench(
        &mut group,
        &rt,
        "layer_405",
        stacks::layer(),
        requests::not_allowed,
        StatusCode::METHOD_NOT_ALLOWED,
    );
    bench(
        &mut group,
        &rt,
        "layer_501",
        stacks::layer(),
        requests::planned,
        StatusCode::NOT_IMPLEMENTED,
    );
    group.finish();
}

criterion_group!(benches, overhead, error_path);
criterion_main!(benches);
