//! Exact instructions and heap allocations per request, counted by valgrind (callgrind and DHAT)
//! through gungraun, for the stacks of `support/stacks.rs`: the same work per request as
//! `benches/overhead.rs` (build the request, clone the stack, `ready` + `call`, read the body
//! frame by frame, on a tokio `current_thread` runtime), plus the answers the layer makes itself.
//!
//! ```text
//! bash .ci/instructions.sh                              # measure, print the table, check budgets
//! INSTRUCTION_BUDGETS=report bash .ci/instructions.sh   # the same, never failing
//! INSTRUCTION_BUDGETS=report bash .ci/instructions.sh '*own_*'   # only the matching rows
//! ```
//!
//! Needs valgrind and `gungraun-runner` of the same version as the `gungraun` dev-dependency
//! (`.ci/instructions.sh` installs both when they are missing). The budgets, and the arithmetic
//! below, live in `benches/instruction_budgets.py`.
//!
//! # How one-time costs are kept out
//!
//! Every row is measured twice, as `batch_1000` and `batch_11000`: the same fixture (runtime and
//! stack built, then [`WARM_UP`] requests sent, in gungraun's `setup`, which is not counted), then
//! 1 000 or 11 000 requests inside one `block_on`. The difference of the two counts divided by
//! 10 000 is the cost of one more request: lazy statics, runtime creation, first-use growth,
//! entering `block_on` and dropping the fixture cancel out. Instruction counts do not move between
//! runs of the same binary; the division leaves fractions where some work recurs every k requests
//! (tokio's cooperative budget, the timer wheel).
//!
//! # Rows
//!
//! | id | what one request is |
//! |---|---|
//! | `request_only` | `GET /hello` built and dropped: what every row below pays before any service |
//! | `ok_bare`, `ok_layer`, `ok_layer_minimal`, `ok_layer_adaptive`, `ok_peer_stack` | `GET /hello` → 200 |
//! | `ok_catch_panic`, `ok_timeout` | `GET /hello` → 200 through one tower middleware, for reference |
//! | `ok_map_response` | `GET /hello` → 200 through tower's `MapResponse` changing nothing: the floor of any wrapper |
//! | `not_found_bare`, `not_found_layer`, ... | `GET /missing` → axum's 404 (JSON from all but bare) |
//! | `own_405_policy` | `POST /reports/1234/result` → 405 from `layer`'s method policy |
//! | `own_501_planned` | `POST /payments` → 501 from `layer`'s method policy |
//! | `own_501_unrecognized` | `BREW /hello` → 501 from `layer` |
//! | `own_503_overloaded` | `GET /hello` → 503 from `layer` with `Limit::fixed(0)` |
//! | `own_503_maintenance` | `GET /hello` → 503 from `layer` with maintenance on |
//! | `own_504_deadline` | `GET /hello` → 504 from `layer` with a deadline already elapsed (zero) |
//! | `own_504_upstream` | `GET /hello` → 504 from `layer` around a service that fails with tower's `Elapsed` |
//! | `timer_only` | `GET /hello` built and dropped, and a 30 s `tokio::time::sleep` awaited, on a paused clock |
//! | `own_504_timer` | `GET /hello` → 504 from `layer` around a service that never answers, on a paused clock |
//!
//! The timer rows run on a paused tokio clock (`start_paused`): when the runtime has nothing
//! left to do it moves the clock to the next timer at once, so the 30 s deadline elapses without
//! waiting and the same instructions run every time (a real clock would make the count depend
//! on how long valgrind takes). The inner service is [`stacks::Stalled`], which costs nothing,
//! so the row is what a 504 by deadline costs: tokio arming the timer, the runtime parking and
//! the clock moving, dropping the inner future, answering. Most of it is tokio's timer, which
//! `timer_only` measures alone: the layer's part of a 504 through the timer is `own_504_timer`
//! over `timer_only`.

use std::hint::black_box;

use axum::extract::Request;
use axum::Router;
use bytes::Bytes;
use gungraun::{
    library_benchmark, library_benchmark_group, main, Callgrind, Dhat, EntryPoint,
    LibraryBenchmarkConfig,
};
use http::StatusCode;
use tokio::runtime::Runtime;
use tower::Service;
use tower_api_errors::ApiErrorService;

#[path = "support/stacks.rs"]
mod stacks;

use stacks::requests;

/// Requests sent in `setup`, before anything is counted.
const WARM_UP: u64 = 1_000;

/// The warm-up of the adaptive row: 250 ms of a server answering 20 000 requests a second.
const BUSY_WARM_UP: u64 = 5_000;
const BUSY_GAP: std::time::Duration = std::time::Duration::from_micros(50);

/// One row of the table: a stack, a request, the status it must answer.
#[derive(Debug, Clone, Copy)]
enum Row {
    RequestOnly,
    OkBare,
    OkLayer,
    OkLayerMinimal,
    OkLayerAdaptive,
    OkPeerStack,
    OkCatchPanic,
    OkTimeout,
    OkMapResponse,
    NotFoundBare,
    NotFoundLayer,
    NotFoundLayerMinimal,
    NotFoundPeerStack,
    Own405Policy,
    Own501Planned,
    Own501Unrecognized,
    Own503Overloaded,
    Own503Maintenance,
    Own504Deadline,
    Own504Upstream,
    TimerOnly,
    Own504Timer,
}

/// Sends `n` requests on the runtime: the measured loop of one row.
type SendBatch = Box<dyn Fn(&Runtime, u64)>;

/// What a benchmark function gets from `setup`: a warmed-up runtime and stack, and a way to send
/// `n` more requests through it. Returned by the benchmark function, so that dropping it is not
/// counted either.
struct Fixture {
    runtime: Runtime,
    send: SendBatch,
}

impl Fixture {
    /// Sends `n` requests inside one `block_on`.
    fn send(self, n: u64) -> Self {
        (self.send)(&self.runtime, n);
        self
    }

    /// `n` requests through `service`, each as `benches/overhead.rs` sends it, after checking
    /// that the stack answers `expected` and warming it up.
    fn stack<S, B>(
        runtime: Runtime,
        service: S,
        make_request: fn() -> Request,
        expected: StatusCode,
    ) -> Self
    where
        S: Service<Request, Response = http::Response<B>> + Clone + 'static,
        S::Error: std::fmt::Debug,
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Debug,
    {
        // A stack that answers something else than expected is not measuring what it claims.
        let (status, _) = runtime.block_on(stacks::send(&service, make_request()));
        assert_eq!(
            status, expected,
            "the stack answers {status}, not {expected}"
        );
        let send = move |runtime: &Runtime, n: u64| {
            runtime.block_on(async {
                for _ in 0..n {
                    black_box(stacks::send(&service, make_request()).await);
                }
            });
        };
        send(&runtime, WARM_UP);
        Self {
            runtime,
            send: Box::new(send),
        }
    }

    /// As [`stack`](Self::stack), for an adaptive limit, on a paused clock: the warm-up sends
    /// [`BUSY_WARM_UP`] requests [`BUSY_GAP`] apart on the clock (a busy server), so that the
    /// controller has closed its first probe and chosen its sampling for that rate (1 in 16);
    /// then the clock stands still, and the counted requests are timed 1 in 16 without a
    /// window closing. On a real clock the rate the controller sees is valgrind's speed, and
    /// how many requests it times moved the row by ±10 instructions between runs.
    fn busy_stack<B>(
        service: ApiErrorService<Router>,
        make_request: fn() -> Request,
        expected: StatusCode,
    ) -> Self
    where
        ApiErrorService<Router>: Service<Request, Response = http::Response<B>>,
        B: http_body::Body<Data = Bytes>,
        B::Error: std::fmt::Debug,
    {
        let runtime = paused_runtime();
        runtime.block_on(async {
            for _ in 0..BUSY_WARM_UP {
                let (status, _) = stacks::send(&service, make_request()).await;
                assert_eq!(
                    status, expected,
                    "the stack answers {status}, not {expected}"
                );
                tokio::time::advance(BUSY_GAP).await;
            }
        });
        let in_flight = service
            .in_flight()
            .expect("the stack has an adaptive limit");
        assert!(
            in_flight.resources().all(|r| r.current == 0) && in_flight.min_latency().is_some(),
            "the warm-up closes the first probe"
        );
        let send = move |runtime: &Runtime, n: u64| {
            runtime.block_on(async {
                for _ in 0..n {
                    black_box(stacks::send(&service, make_request()).await);
                }
            });
        };
        Self {
            runtime,
            send: Box::new(send),
        }
    }

    /// `n` requests built and dropped, nothing else.
    fn request_only(runtime: Runtime, make_request: fn() -> Request) -> Self {
        let send = move |runtime: &Runtime, n: u64| {
            runtime.block_on(async {
                for _ in 0..n {
                    black_box(make_request());
                }
            });
        };
        send(&runtime, WARM_UP);
        Self {
            runtime,
            send: Box::new(send),
        }
    }

    /// `n` requests built and dropped, each with a [`stacks::TIMEOUT`] sleep awaited on the
    /// (paused) runtime's timer: what a deadline costs before any service.
    fn timer_only(runtime: Runtime, make_request: fn() -> Request) -> Self {
        let send = move |runtime: &Runtime, n: u64| {
            runtime.block_on(async {
                for _ in 0..n {
                    let request = make_request();
                    tokio::time::sleep(stacks::TIMEOUT).await;
                    black_box(request);
                }
            });
        };
        send(&runtime, WARM_UP);
        Self {
            runtime,
            send: Box::new(send),
        }
    }
}

/// The runtime of `benches/overhead.rs`.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The same runtime on a paused clock, for the deadline.
fn paused_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
}

/// gungraun's `setup`: everything before the counted requests.
fn fixture(row: Row) -> Fixture {
    use StatusCode as S;
    let rt = runtime;
    match row {
        Row::RequestOnly => Fixture::request_only(rt(), requests::hello),
        Row::OkBare => Fixture::stack(rt(), stacks::bare(), requests::hello, S::OK),
        Row::OkLayer => Fixture::stack(rt(), stacks::layer(), requests::hello, S::OK),
        Row::OkLayerMinimal => {
            Fixture::stack(rt(), stacks::layer_minimal(), requests::hello, S::OK)
        }
        Row::OkLayerAdaptive => {
            Fixture::busy_stack(stacks::layer_adaptive(), requests::hello, S::OK)
        }
        Row::OkPeerStack => Fixture::stack(rt(), stacks::peer_stack(), requests::hello, S::OK),
        Row::OkCatchPanic => {
            Fixture::stack(rt(), stacks::catch_panic_only(), requests::hello, S::OK)
        }
        Row::OkTimeout => Fixture::stack(rt(), stacks::timeout_only(), requests::hello, S::OK),
        Row::OkMapResponse => {
            Fixture::stack(rt(), stacks::map_response_only(), requests::hello, S::OK)
        }
        Row::NotFoundBare => Fixture::stack(rt(), stacks::bare(), requests::missing, S::NOT_FOUND),
        Row::NotFoundLayer => {
            Fixture::stack(rt(), stacks::layer(), requests::missing, S::NOT_FOUND)
        }
        Row::NotFoundLayerMinimal => Fixture::stack(
            rt(),
            stacks::layer_minimal(),
            requests::missing,
            S::NOT_FOUND,
        ),
        Row::NotFoundPeerStack => {
            Fixture::stack(rt(), stacks::peer_stack(), requests::missing, S::NOT_FOUND)
        }
        Row::Own405Policy => Fixture::stack(
            rt(),
            stacks::layer(),
            requests::not_allowed,
            S::METHOD_NOT_ALLOWED,
        ),
        Row::Own501Planned => {
            Fixture::stack(rt(), stacks::layer(), requests::planned, S::NOT_IMPLEMENTED)
        }
        Row::Own501Unrecognized => Fixture::stack(
            rt(),
            stacks::layer(),
            requests::unrecognized,
            S::NOT_IMPLEMENTED,
        ),
        Row::Own503Overloaded => Fixture::stack(
            rt(),
            stacks::layer_overloaded(),
            requests::hello,
            S::SERVICE_UNAVAILABLE,
        ),
        Row::Own503Maintenance => Fixture::stack(
            rt(),
            stacks::layer_maintenance(),
            requests::hello,
            S::SERVICE_UNAVAILABLE,
        ),
        Row::Own504Deadline => Fixture::stack(
            rt(),
            stacks::layer_zero_deadline(),
            requests::hello,
            S::GATEWAY_TIMEOUT,
        ),
        Row::Own504Upstream => Fixture::stack(
            rt(),
            stacks::layer_timed_out(),
            requests::hello,
            S::GATEWAY_TIMEOUT,
        ),
        Row::TimerOnly => Fixture::timer_only(paused_runtime(), requests::hello),
        Row::Own504Timer => Fixture::stack(
            paused_runtime(),
            stacks::layer_stalled(),
            requests::hello,
            S::GATEWAY_TIMEOUT,
        ),
    }
}

/// Instructions from callgrind (no cache simulation: only `Ir` is used), and heap blocks from
/// DHAT over the whole process (the difference of the two batches removes everything but the
/// requests; DHAT's entry-point filter could miss allocations whose stack is deeper than the
/// frames it records).
fn config() -> LibraryBenchmarkConfig {
    let mut config = LibraryBenchmarkConfig::default();
    config
        .tool(Callgrind::with_args(["--cache-sim=no"]))
        .tool(Dhat::default().entry_point(EntryPoint::None));
    config
}

/// One benchmark function that sends `$requests` requests for every row; the row ids are the
/// bench ids, and the function name carries the count for `instruction_budgets.py`.
macro_rules! batch {
    ($name:ident, $requests:expr) => {
        #[library_benchmark(config = config())]
        #[bench::request_only(args = (Row::RequestOnly), setup = fixture)]
        #[bench::ok_bare(args = (Row::OkBare), setup = fixture)]
        #[bench::ok_layer(args = (Row::OkLayer), setup = fixture)]
        #[bench::ok_layer_minimal(args = (Row::OkLayerMinimal), setup = fixture)]
        #[bench::ok_layer_adaptive(args = (Row::OkLayerAdaptive), setup = fixture)]
        #[bench::ok_peer_stack(args = (Row::OkPeerStack), setup = fixture)]
        #[bench::ok_catch_panic(args = (Row::OkCatchPanic), setup = fixture)]
        #[bench::ok_timeout(args = (Row::OkTimeout), setup = fixture)]
        #[bench::ok_map_response(args = (Row::OkMapResponse), setup = fixture)]
        #[bench::not_found_bare(args = (Row::NotFoundBare), setup = fixture)]
        #[bench::not_found_layer(args = (Row::NotFoundLayer), setup = fixture)]
        #[bench::not_found_layer_minimal(args = (Row::NotFoundLayerMinimal), setup = fixture)]
        #[bench::not_found_peer_stack(args = (Row::NotFoundPeerStack), setup = fixture)]
        #[bench::own_405_policy(args = (Row::Own405Policy), setup = fixture)]
        #[bench::own_501_planned(args = (Row::Own501Planned), setup = fixture)]
        #[bench::own_501_unrecognized(args = (Row::Own501Unrecognized), setup = fixture)]
        #[bench::own_503_overloaded(args = (Row::Own503Overloaded), setup = fixture)]
        #[bench::own_503_maintenance(args = (Row::Own503Maintenance), setup = fixture)]
        #[bench::own_504_deadline(args = (Row::Own504Deadline), setup = fixture)]
        #[bench::own_504_upstream(args = (Row::Own504Upstream), setup = fixture)]
        #[bench::timer_only(args = (Row::TimerOnly), setup = fixture)]
        #[bench::own_504_timer(args = (Row::Own504Timer), setup = fixture)]
        fn $name(fixture: Fixture) -> Fixture {
            fixture.send($requests)
        }
    };
}

batch!(batch_1000, 1_000);
batch!(batch_11000, 11_000);

library_benchmark_group!(name = per_request, benchmarks = [batch_1000, batch_11000]);

main!(library_benchmark_groups = per_request);
