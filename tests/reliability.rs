//! Load and faults, bounded so CI runs them: an overload soak, mass cancellation, a timeout
//! storm, a panic storm and a maintenance flip under load. Every request must get a complete
//! response with a documented status and a valid body; nothing may leak.
//!
//! `RELIABILITY_SCALE=10 cargo test --release --test reliability` runs them ten times larger.

#[allow(dead_code)] // the soak tests build the demo from its parts
#[path = "../examples/demo/app.rs"]
mod app;
mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use common::{request, send, serve, Reply};
use http::StatusCode;
use tokio::task::JoinSet;
use tower::Layer;
use tower_api_errors::overload::{InFlight, Maintenance};

fn scale() -> usize {
    std::env::var("RELIABILITY_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Fails the test instead of hanging it.
async fn bounded<T>(seconds: u64, work: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(seconds * scale() as u64), work)
        .await
        .expect("the scenario finished within its bound")
}

/// The demo served on 127.0.0.1:0, with a counter under the layer (inside the Router) of
/// the requests a handler answered.
struct Served {
    addr: SocketAddr,
    in_flight: InFlight,
    maintenance: Maintenance,
    handled: Arc<AtomicUsize>,
}

async fn serve_demo(settings: &app::Settings) -> Served {
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let maintenance = app::maintenance(settings);
    let (router, policy) = app::routes(&maintenance, app::Database::new(settings))
        .into_parts()
        .expect("the demo's route table is valid");
    let layer = app::layer(settings, &maintenance).method_policy(policy);
    let router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let counter = counter.clone();
        async move {
            let response: Response = next.run(req).await;
            counter.fetch_add(1, Ordering::SeqCst);
            response
        }
    }));
    let app = layer.layer(router);
    let in_flight = app.in_flight().expect("the demo sets a limit").clone();
    Served {
        addr: serve(app).await,
        in_flight,
        maintenance,
        handled,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_soak_loses_nothing_and_ends_at_zero() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(8),
        timeout: Duration::from_secs(30),
        retry_after: Duration::from_secs(1),
        ..app::Settings::default()
    };
    let served = serve_demo(&settings).await;
    let addr = served.addr;
    let total = 640 * scale();
    let concurrency = 64;
    let (ok, overloaded) = bounded(20, async {
        let mut tasks = JoinSet::new();
        let (mut ok, mut overloaded) = (0, 0);
        for _ in 0..total {
            if tasks.len() >= concurrency {
                let reply: Reply = tasks.join_next().await.unwrap().unwrap();
                tally(&reply, "overloaded", &mut ok, &mut overloaded);
            }
            tasks.spawn(send(addr, request("GET", "/slow?ms=5")));
        }
        while let Some(reply) = tasks.join_next().await {
            tally(&reply.unwrap(), "overloaded", &mut ok, &mut overloaded);
        }
        (ok, overloaded)
    })
    .await;
    println!("overload soak: {total} requests, {concurrency} concurrent, limit 8: {ok} × 200, {overloaded} × 503");
    assert_eq!(
        ok + overloaded,
        total,
        "every request got a complete response"
    );
    assert!(overloaded > 0, "the limit was reached");
    assert!(ok > 0, "work was admitted");
    assert_eq!(
        ok,
        served.handled.load(Ordering::SeqCst),
        "200s equal the work admitted"
    );
    assert_eq!(served.in_flight.current(), 0);
    assert_eq!(
        send(addr, request("GET", "/health")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_cancelled_requests_leave_the_limiter_at_zero() {
    let batch = 50;
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(batch),
        timeout: Duration::from_secs(600),
        retry_after: Duration::from_secs(1),
        ..app::Settings::default()
    };
    let Served {
        addr,
        in_flight: gauge,
        ..
    } = serve_demo(&settings).await;
    bounded(60, async {
        for _ in 0..(10_000 * scale()) / batch {
            let mut clients = JoinSet::new();
            for _ in 0..batch {
                clients.spawn(send(addr, request("GET", "/slow?ms=600000")));
            }
            // Every client's handler is running and holds a place...
            while gauge.current() < batch {
                tokio::task::yield_now().await;
            }
            // ...then every client disconnects.
            clients.abort_all();
            while clients.join_next().await.is_some() {}
            while gauge.current() > 0 {
                tokio::task::yield_now().await;
            }
        }
    })
    .await;
    assert_eq!(gauge.current(), 0);
    assert_eq!(
        send(addr, request("GET", "/health")).await.status,
        StatusCode::OK
    );
}

/// Counts live handler futures.
#[derive(Clone, Default)]
struct Live(Arc<AtomicUsize>);

struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_storm_gives_504s_and_drops_every_handler() {
    let live = Live::default();
    let counter = live.clone();
    let slow = tower::service_fn(move |_req: http::Request<Body>| {
        counter.0.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard(counter.0.clone());
        async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("late")))
        }
    });
    let app = tower_api_errors::ApiErrorLayer::new()
        .timeout(Duration::from_millis(100))
        .layer(slow);
    let storm = 1000 * scale();
    let mut tasks = JoinSet::new();
    for _ in 0..storm {
        let req = http::Request::get("/slow").body(Body::empty()).unwrap();
        tasks.spawn(common::call(app.clone(), req));
    }
    let mut timeouts = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(reply.error_body()["error"], "gateway_timeout");
        timeouts += 1;
    }
    assert_eq!(timeouts, storm);
    assert_eq!(
        live.0.load(Ordering::SeqCst),
        0,
        "every handler future was dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_storm_gives_500s_and_the_server_keeps_serving() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(10_000),
        ..app::Settings::default()
    };
    let Served {
        addr, in_flight, ..
    } = serve_demo(&settings).await;
    let storm = 200 * scale();
    bounded(20, async {
        let mut tasks = JoinSet::new();
        for _ in 0..storm {
            tasks.spawn(send(addr, request("GET", "/panic")));
        }
        while let Some(reply) = tasks.join_next().await {
            let reply = reply.unwrap();
            assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(reply.error_body()["error"], "internal_error");
            assert!(!String::from_utf8_lossy(&reply.body).contains("secret"));
        }
    })
    .await;
    assert_eq!(in_flight.current(), 0);
    assert_eq!(
        send(addr, request("GET", "/health")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipping_maintenance_under_load_gives_only_200_or_503() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(10_000),
        ..app::Settings::default()
    };
    let Served {
        addr,
        maintenance: switch,
        ..
    } = serve_demo(&settings).await;
    let flipping = tokio::spawn(async move {
        loop {
            switch.enable();
            tokio::task::yield_now().await;
            switch.disable();
            tokio::task::yield_now().await;
        }
    });
    let total = 1000 * scale();
    let (ok, maintenance) = bounded(30, async {
        let mut tasks = JoinSet::new();
        let (mut ok, mut maintenance) = (0, 0);
        for _ in 0..total {
            if tasks.len() >= 32 {
                tally(
                    &tasks.join_next().await.unwrap().unwrap(),
                    "maintenance",
                    &mut ok,
                    &mut maintenance,
                );
            }
            tasks.spawn(send(addr, request("GET", "/payments")));
        }
        while let Some(reply) = tasks.join_next().await {
            tally(&reply.unwrap(), "maintenance", &mut ok, &mut maintenance);
        }
        (ok, maintenance)
    })
    .await;
    flipping.abort();
    println!("maintenance flip: {total} requests, 32 concurrent: {ok} × 200, {maintenance} × 503");
    assert_eq!(ok + maintenance, total);
}

/// Counts a reply that must be a complete 200, or a 503 with the error `code` and a valid
/// `Retry-After`.
fn tally(reply: &Reply, code: &str, ok: &mut usize, unavailable: &mut usize) {
    match reply.status {
        StatusCode::OK => {
            assert_eq!(reply.json()["ok"], true, "a complete success body");
            *ok += 1;
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            let retry_after = reply.headers["retry-after"].to_str().unwrap();
            assert!(retry_after.parse::<u64>().unwrap() >= 1);
            assert_eq!(reply.error_body()["error"], code);
            *unavailable += 1;
        }
        other => panic!("undocumented status {other}: {reply:?}"),
    }
}
