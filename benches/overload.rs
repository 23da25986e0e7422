//! `cargo bench --bench overload`: the demo's database-bound route under open-loop load on
//! 127.0.0.1, with four in-flight strategies, printed as a Markdown table.
//!
//! The server is the demo (`examples/demo/app.rs`) on one tokio thread: `GET
//! /reports/{id}/result` takes one of `OVERLOAD_DB_POOL` (4) simulated database connections
//! and holds it `OVERLOAD_DB_MS` (10) ms, so its capacity is about pool / time, and requests
//! beyond it queue for a connection. The client is open loop, on another thread: arrivals
//! follow a Poisson schedule (fixed seed) at a multiple of the measured capacity, whatever
//! the server does, and each latency is measured from the request's *scheduled* send time,
//! so a queue anywhere (server, client, kernel) shows. Each request has 2 s before the client
//! gives up, and at most 1 024 are outstanding (an arrival beyond that is not sent, and
//! counted under "other"). `/health` is probed every 20 ms alongside.
//!
//! Strategies: no limit, `Limit::fixed(64)` (a plausible guess, too high),
//! `Limit::fixed(pool)` (tuned by hand), and `Limit::adaptive` (no tuning). Each cell
//! runs `OVERLOAD_SECS` (3) s after 1 s of warm-up at the same load, on a fresh server. Then
//! a step from 0.5× to 5× capacity measures how long the adaptive limit takes to settle.
//!
//! `OVERLOAD_SHORT=1` runs a few short cells only to check the accounting (every request
//! answered 200 or 503, every health check 200), never timing: that is what CI runs. The
//! whole run is bounded in requests and time and stops by itself.

#[allow(dead_code)] // only the demo's service and settings are used here
#[path = "../examples/demo/app.rs"]
mod app;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::ServiceExt as _;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::time::Instant;
use tower_api_errors::overload::InFlight;

/// Arrivals the client may have outstanding; beyond, an arrival is not sent.
const MAX_OUTSTANDING: usize = 1024;
/// How long the client waits for an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
const HEALTH_EVERY: Duration = Duration::from_millis(20);
const LOADS: [f64; 5] = [0.5, 1.0, 2.0, 5.0, 10.0];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Strategy {
    NoLimit,
    Fixed(usize),
    Adaptive,
}

impl Strategy {
    fn name(self, pool: usize) -> String {
        match self {
            Strategy::NoLimit => "no limit".to_owned(),
            Strategy::Fixed(n) if n == pool => format!("`Limit::fixed({n})` = pool"),
            Strategy::Fixed(n) => format!("`Limit::fixed({n})`"),
            Strategy::Adaptive => "`Limit::adaptive`".to_owned(),
        }
    }

    fn setting(self) -> app::MaxInFlight {
        match self {
            Strategy::NoLimit => app::MaxInFlight::Fixed(usize::MAX),
            Strategy::Fixed(n) => app::MaxInFlight::Fixed(n),
            Strategy::Adaptive => app::MaxInFlight::Auto,
        }
    }
}

#[derive(Clone, Copy)]
struct Config {
    pool: usize,
    db: Duration,
    secs: f64,
    warmup: Duration,
    short: bool,
}

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The demo served on its own thread and tokio runtime.
struct Server {
    addr: SocketAddr,
    gauge: InFlight,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(strategy: Strategy, config: &Config) -> Self {
        let settings = app::Settings {
            max_in_flight: strategy.setting(),
            db_pool: config.pool,
            db_time: config.db,
            ..app::Settings::default()
        };
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let demo = app::demo(&settings);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                ready_tx
                    .send((
                        listener.local_addr().unwrap(),
                        demo.in_flight.clone(),
                        stop_tx,
                    ))
                    .unwrap();
                axum::serve(listener, demo.service.into_axum().into_make_service())
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let (addr, gauge, stop) = ready_rx.recv().expect("the server starts");
        Self {
            addr,
            gauge,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request's fate.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Status(StatusCode, Duration),
    /// No answer within `CLIENT_TIMEOUT`.
    GaveUp,
    /// A connection or protocol error.
    Failed,
    /// Not sent: `MAX_OUTSTANDING` were outstanding.
    NotSent,
}

#[derive(Default)]
struct Tally {
    /// How late the client sent each request after its schedule: the client's own share of
    /// every latency below.
    lag: Vec<Duration>,
    ok: Vec<Duration>,
    refused: Vec<Duration>,
    other_status: usize,
    gave_up: usize,
    failed: usize,
    not_sent: usize,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Status(StatusCode::OK, latency) => self.ok.push(latency),
            Outcome::Status(StatusCode::SERVICE_UNAVAILABLE, latency) => self.refused.push(latency),
            Outcome::Status(..) => self.other_status += 1,
            Outcome::GaveUp => self.gave_up += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotSent => self.not_sent += 1,
        }
    }

    fn total(&self) -> usize {
        self.ok.len() + self.refused.len() + self.other()
    }

    fn other(&self) -> usize {
        self.other_status + self.gave_up + self.failed + self.not_sent
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let index = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    Some(samples[index])
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("—".to_owned(), |d| {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    })
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(MAX_OUTSTANDING)
        .build(connector)
}

async fn get(client: &HttpClient, uri: &http::Uri, scheduled: Instant) -> Outcome {
    let exchange = async {
        let response = client.get(uri.clone()).await.ok()?;
        let status = response.status();
        response.into_body().collect().await.ok()?;
        Some(status)
    };
    match tokio::time::timeout_at(scheduled + CLIENT_TIMEOUT, exchange).await {
        Ok(Some(status)) => Outcome::Status(status, scheduled.elapsed()),
        Ok(None) => Outcome::Failed,
        Err(_) => Outcome::GaveUp,
    }
}

/// A small deterministic generator (xorshift64*) for the Poisson schedule.
struct Rng(u64);

impl Rng {
    fn exp(&mut self, mean: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let unit = ((bits >> 11) as f64 + 0.5) / (1_u64 << 53) as f64;
        mean.mul_f64(-unit.ln())
    }
}

/// One phase of an open-loop run: `rate` arrivals per second for `length`.
struct Phase {
    rate: f64,
    length: Duration,
    /// Whether its requests are counted.
    measured: bool,
}

struct Run {
    reports: Tally,
    health: Tally,
    /// The steady traffic beside the load (`GET /payments`, instant), when there is some.
    beside: Tally,
    /// `(time since the run's start, limit)` every 10 ms.
    limits: Vec<(Duration, usize)>,
    measured: Duration,
}

/// What an open-loop run sends: the phases' arrivals to `path`, and beside them `beside`
/// requests a second to `/payments` (an instant route), if any.
struct Load<'a> {
    path: &'a str,
    phases: &'a [Phase],
    beside: Option<f64>,
}

impl<'a> Load<'a> {
    /// The demo's database-bound route, alone.
    fn reports(phases: &'a [Phase]) -> Self {
        Self {
            path: "/reports/1/result",
            phases,
            beside: None,
        }
    }
}

/// Sends the load's arrivals to `server` and collects every outcome; returns when every
/// request has an outcome (at most `CLIENT_TIMEOUT` after the last arrival).
fn open_loop(server: &Server, load: &Load<'_>) -> Run {
    let phases = load.phases;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let addr = server.addr;
    let gauge = server.gauge.clone();
    runtime.block_on(async move {
        let client = client();
        let reports: http::Uri = format!("http://{addr}{}", load.path).parse().unwrap();
        let health: http::Uri = format!("http://{addr}/health").parse().unwrap();
        let payments: http::Uri = format!("http://{addr}/payments").parse().unwrap();
        let tallies = Arc::new(Mutex::new((Tally::default(), Tally::default())));
        let beside_tally = Arc::new(Mutex::new(Tally::default()));
        let outstanding = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let total: Duration = phases.iter().map(|p| p.length).sum();
        let end = start + total;

        // Health checks every 20 ms, during the measured phases.
        let health_probe = {
            let (client, tallies) = (client.clone(), tallies.clone());
            let measured: Vec<(Instant, Instant)> = windows(start, phases);
            tokio::spawn(async move {
                let mut next = start;
                while next < end {
                    tokio::time::sleep_until(next).await;
                    let outcome = get(&client, &health, next).await;
                    if measured.iter().any(|(a, b)| (*a..*b).contains(&next)) {
                        tallies.lock().unwrap().1.add(outcome);
                    }
                    next += HEALTH_EVERY;
                }
            })
        };
        // Steady arrivals to `/payments` beside the load, each in its own task.
        let beside = load.beside.map(|rate| {
            let (client, tally) = (client.clone(), beside_tally.clone());
            let measured: Vec<(Instant, Instant)> = windows(start, phases);
            tokio::spawn(async move {
                let every = Duration::from_secs_f64(1.0 / rate);
                let mut sent = Vec::new();
                let mut next = start;
                while next < end {
                    tokio::time::sleep_until(next).await;
                    let (client, uri, tally) = (client.clone(), payments.clone(), tally.clone());
                    let counted = measured.iter().any(|(a, b)| (*a..*b).contains(&next));
                    let scheduled = next;
                    sent.push(tokio::spawn(async move {
                        let outcome = get(&client, &uri, scheduled).await;
                        if counted {
                            tally.lock().unwrap().add(outcome);
                        }
                    }));
                    next += every;
                }
                for request in sent {
                    request.await.unwrap();
                }
            })
        });
        // The limit of the loaded resource (the layer's, with a fixed limit), every 10 ms.
        let pattern = load.path.split('?').next().unwrap_or_default().to_owned();
        let sampler = tokio::spawn(async move {
            let mut limits = Vec::new();
            let mut next = start;
            while next < end {
                tokio::time::sleep_until(next).await;
                limits.push((next - start, resource_limit(&gauge, &pattern)));
                next += Duration::from_millis(10);
            }
            limits
        });

        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut phase_start = start;
        for phase in phases {
            let phase_end = phase_start + phase.length;
            let mean = Duration::from_secs_f64(1.0 / phase.rate);
            let mut next = phase_start + rng.exp(mean);
            while next < phase_end {
                tokio::time::sleep_until(next).await;
                if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING {
                    if phase.measured {
                        tallies.lock().unwrap().0.add(Outcome::NotSent);
                    }
                } else {
                    outstanding.fetch_add(1, Ordering::Relaxed);
                    let (client, uri, tallies, outstanding) = (
                        client.clone(),
                        reports.clone(),
                        tallies.clone(),
                        outstanding.clone(),
                    );
                    let measured = phase.measured;
                    let scheduled = next;
                    tokio::spawn(async move {
                        let lag = scheduled.elapsed();
                        let outcome = get(&client, &uri, scheduled).await;
                        if measured {
                            let mut tallies = tallies.lock().unwrap();
                            tallies.0.lag.push(lag);
                            tallies.0.add(outcome);
                        }
                        outstanding.fetch_sub(1, Ordering::Relaxed);
                    });
                }
                next += rng.exp(mean);
            }
            phase_start = phase_end;
        }
        // Every request has answered or given up 2 s after its schedule.
        while outstanding.load(Ordering::Relaxed) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        health_probe.await.unwrap();
        if let Some(beside) = beside {
            beside.await.unwrap();
        }
        let limits = sampler.await.unwrap();
        let (reports, health) = std::mem::take(&mut *tallies.lock().unwrap());
        let beside = std::mem::take(&mut *beside_tally.lock().unwrap());
        Run {
            reports,
            health,
            beside,
            limits,
            measured: phases.iter().filter(|p| p.measured).map(|p| p.length).sum(),
        }
    })
}

/// The limit of the resource whose route a request to `path` takes (the demo's patterns: a
/// number in the path is `{id}`), or the layer's limit when it has no resources.
fn resource_limit(gauge: &InFlight, path: &str) -> usize {
    gauge
        .resources()
        .find(|r| r.pattern.is_some_and(|p| matches_pattern(p, path)))
        .map_or_else(|| gauge.limit(), |r| r.limit)
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<_>, Vec<_>) =
        (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(&path)
            .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}')))
}

fn windows(start: Instant, phases: &[Phase]) -> Vec<(Instant, Instant)> {
    let mut at = start;
    let mut out = Vec::new();
    for phase in phases {
        if phase.measured {
            out.push((at, at + phase.length));
        }
        at += phase.length;
    }
    out
}

/// 200s per second with `2 × pool` clients in a closed loop against the unlimited server.
fn capacity(config: &Config) -> f64 {
    let server = Server::start(Strategy::NoLimit, config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let addr = server.addr;
    let (warmup, secs) = (config.warmup, config.secs);
    runtime.block_on(async move {
        let client = client();
        let uri: http::Uri = format!("http://{addr}/reports/1/result").parse().unwrap();
        let start = Instant::now();
        let (from, to) = (
            start + warmup,
            start + warmup + Duration::from_secs_f64(secs),
        );
        let workers: Vec<_> = (0..2 * config.pool)
            .map(|_| {
                let (client, uri) = (client.clone(), uri.clone());
                tokio::spawn(async move {
                    let mut ok = 0_u32;
                    while Instant::now() < to {
                        let sent = Instant::now();
                        if let Outcome::Status(StatusCode::OK, _) = get(&client, &uri, sent).await {
                            if sent >= from {
                                ok += 1;
                            }
                        }
                    }
                    ok
                })
            })
            .collect();
        let mut ok = 0;
        for worker in workers {
            ok += worker.await.unwrap();
        }
        f64::from(ok) / secs
    })
}

/// The phases of one cell: warm-up, then the measured part, at `rate`.
fn cell_phases(rate: f64, config: &Config) -> [Phase; 2] {
    [
        Phase {
            rate,
            length: config.warmup,
            measured: false,
        },
        Phase {
            rate,
            length: Duration::from_secs_f64(config.secs),
            measured: true,
        },
    ]
}

fn cell(strategy: Strategy, rate: f64, config: &Config) -> Run {
    let server = Server::start(strategy, config);
    open_loop(&server, &Load::reports(&cell_phases(rate, config)))
}

/// `GET /payments` (instant) at 200 a second beside the database-bound route at `load`× its
/// capacity: with the adaptive limit, one limit per resource, so the payments are not shed.
fn mixed(strategy: Strategy, capacity: f64, load: f64, config: &Config) -> Run {
    let server = Server::start(strategy, config);
    let phases = cell_phases(capacity * load, config);
    let load = Load {
        beside: Some(200.0),
        ..Load::reports(&phases)
    };
    open_loop(&server, &load)
}

/// `GET /slow?ms=400` (a 400 ms handler, no bottleneck) offered 80 a second (32 in flight):
/// the limit must get out of the way. Warm-up 10 s: the adaptive limit starts at 16.
fn slow_handlers(strategy: Strategy, config: &Config) -> Run {
    let server = Server::start(strategy, config);
    let phases = [
        Phase {
            rate: 80.0,
            length: Duration::from_secs(10),
            measured: false,
        },
        Phase {
            rate: 80.0,
            length: Duration::from_secs_f64(config.secs.max(3.0)),
            measured: true,
        },
    ];
    let load = Load {
        path: "/slow?ms=400",
        phases: &phases,
        beside: None,
    };
    open_loop(&server, &load)
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let short = std::env::var_os("OVERLOAD_SHORT").is_some_and(|v| v != "0");
    let config = Config {
        pool: env("OVERLOAD_DB_POOL", 4_usize).max(1),
        db: Duration::from_millis(env("OVERLOAD_DB_MS", 10_u64).max(1)),
        secs: if short {
            0.5
        } else {
            env("OVERLOAD_SECS", 3.0_f64).clamp(0.5, 30.0)
        },
        warmup: if short {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        },
        short,
    };
    if config.short {
        short_run(&config);
    } else {
        full_run(&config);
    }
}

/// CI: accounting only. Every request answered 200 or 503, health never refused. No timing.
fn short_run(config: &Config) {
    // The nominal capacity: this mode asserts nothing about speed.
    let capacity = config.pool as f64 / config.db.as_secs_f64();
    let cells = [
        (Strategy::NoLimit, 0.5),
        (Strategy::Fixed(64), 2.0),
        (Strategy::Fixed(config.pool), 2.0),
        (Strategy::Adaptive, 2.0),
    ];
    for (strategy, load) in cells {
        let run = cell(strategy, capacity * load, config);
        let (r, h) = (&run.reports, &run.health);
        println!(
            "{} at {load}×: {} requests, {} × 200, {} × 503, {} other; health {} × 200 of {}",
            strategy.name(config.pool),
            r.total(),
            r.ok.len(),
            r.refused.len(),
            r.other(),
            h.ok.len(),
            h.total()
        );
        assert!(r.total() > 0, "requests were sent");
        assert_eq!(r.other(), 0, "every request answered 200 or 503");
        assert_eq!(h.ok.len(), h.total(), "health is never refused");
    }
    // One limit per resource: the instant `/payments` beside an overloaded report route.
    let run = mixed(Strategy::Adaptive, capacity, 5.0, config);
    let (r, p) = (&run.reports, &run.beside);
    println!(
        "adaptive, reports at 5× with /payments beside: {} × 200 and {} × 503 of {} reports; \
         /payments {} × 200 of {}",
        r.ok.len(),
        r.refused.len(),
        r.total(),
        p.ok.len(),
        p.total()
    );
    assert!(p.total() > 0, "payments were sent");
    assert_eq!(r.other(), 0, "every report answered 200 or 503");
    assert_eq!(p.ok.len(), p.total(), "the payments are not shed");
    println!("overload (short): accounting ok");
}

fn full_run(config: &Config) {
    let capacity = capacity(config);
    let nominal = config.pool as f64 / config.db.as_secs_f64();
    eprintln!("capacity: {capacity:.0} req/s (nominal {nominal:.0})");
    // Unloaded: 0.2× of capacity, twice as long as a cell (some 400 requests).
    let (unloaded_p50, unloaded) = {
        let long = Config {
            secs: config.secs * 2.0,
            ..*config
        };
        let mut run = cell(Strategy::NoLimit, capacity * 0.2, &long);
        (
            percentile(&mut run.reports.ok, 0.5),
            percentile(&mut run.reports.ok, 0.99),
        )
    };
    eprintln!(
        "unloaded p50 {} p99 {} (0.2×)",
        ms(unloaded_p50),
        ms(unloaded)
    );

    println!(
        "Database pool {} × {} ms: capacity {capacity:.0} req/s measured (closed loop, {} clients), unloaded p50 {} and p99 {} (open loop at 0.2×). Each cell {} s after 1 s warm-up, Poisson arrivals, latency from the scheduled send time.\n",
        config.pool,
        config.db.as_millis(),
        2 * config.pool,
        ms(unloaded_p50),
        ms(unloaded),
        config.secs
    );
    println!("| offered | strategy | goodput (200/s, % of capacity) | p50 of 200s | p99 of 200s | p50 / p99 of 503s | other | health refused | client lag p99 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let strategies = [
        Strategy::NoLimit,
        Strategy::Fixed(64),
        Strategy::Fixed(config.pool),
        Strategy::Adaptive,
    ];
    for load in LOADS {
        for strategy in strategies {
            let mut run = cell(strategy, capacity * load, config);
            let secs = run.measured.as_secs_f64();
            let r = &mut run.reports;
            let goodput = r.ok.len() as f64 / secs;
            let other = if r.other() == 0 {
                "none".to_owned()
            } else {
                format!(
                    "{:.1} % ({} gave up, {} not sent, {} failed, {} other status)",
                    100.0 * r.other() as f64 / r.total() as f64,
                    r.gave_up,
                    r.not_sent,
                    r.failed,
                    r.other_status
                )
            };
            let health = &run.health;
            println!(
                "| {load}× ({:.0}/s) | {} | {goodput:.0} ({:.0} %) | {} | {} | {} / {} | {other} | {} of {} | {} |",
                capacity * load,
                strategy.name(config.pool),
                100.0 * goodput / capacity,
                ms(percentile(&mut r.ok, 0.5)),
                ms(percentile(&mut r.ok, 0.99)),
                ms(percentile(&mut r.refused, 0.5)),
                ms(percentile(&mut r.refused, 0.99)),
                health.total() - health.ok.len(),
                health.total(),
                ms(percentile(&mut r.lag, 0.99)),
            );
        }
    }
    mixed_table(config, capacity);
    slow_table(config);
    step(config, capacity);
}

/// The mixed scenario on real sockets: `/payments` beside the report route at 5×.
fn mixed_table(config: &Config, capacity: f64) {
    println!("\n`GET /payments` (instant, 200/s) beside `GET /reports/{{id}}/result` at 5× its capacity:\n");
    println!("| strategy | reports goodput (% of capacity) | reports p99 of 200s | /payments answered 200 | /payments p99 |");
    println!("|---|---|---|---|---|");
    for strategy in [
        Strategy::Fixed(64),
        Strategy::Fixed(config.pool),
        Strategy::Adaptive,
    ] {
        let mut run = mixed(strategy, capacity, 5.0, config);
        let secs = run.measured.as_secs_f64();
        let goodput = run.reports.ok.len() as f64 / secs;
        let payments = &mut run.beside;
        let share = payments.ok.len() as f64 / payments.total().max(1) as f64;
        println!(
            "| {} | {goodput:.0} ({:.0} %) | {} | {:.1} % | {} |",
            strategy.name(config.pool),
            100.0 * goodput / capacity,
            ms(percentile(&mut run.reports.ok, 0.99)),
            100.0 * share,
            ms(percentile(&mut payments.ok, 0.99)),
        );
    }
}

/// The slow-handler scenario on real sockets: 400 ms handlers, no bottleneck, 80/s offered.
fn slow_table(config: &Config) {
    println!("\n`GET /slow?ms=400` (no bottleneck) offered 80/s, measured after 10 s:\n");
    println!("| strategy | goodput (200/s) | p99 of 200s | refused |");
    println!("|---|---|---|---|");
    for strategy in [Strategy::NoLimit, Strategy::Fixed(64), Strategy::Adaptive] {
        let mut run = slow_handlers(strategy, config);
        let secs = run.measured.as_secs_f64();
        let r = &mut run.reports;
        println!(
            "| {} | {:.1} | {} | {:.1} % |",
            strategy.name(config.pool),
            r.ok.len() as f64 / secs,
            ms(percentile(&mut r.ok, 0.99)),
            100.0 * r.refused.len() as f64 / r.total().max(1) as f64,
        );
    }
}

/// 2 s at 0.5×, then 3 s at 5×: when does the adaptive limit settle?
fn step(config: &Config, capacity: f64) {
    let server = Server::start(Strategy::Adaptive, config);
    let before = Duration::from_secs(2);
    let phases = [
        Phase {
            rate: capacity * 0.5,
            length: before,
            measured: false,
        },
        Phase {
            rate: capacity * 5.0,
            length: Duration::from_secs(3),
            measured: true,
        },
    ];
    let mut run = open_loop(&server, &Load::reports(&phases));
    let after: Vec<(Duration, usize)> = run
        .limits
        .iter()
        .filter(|(at, _)| *at >= before)
        .map(|&(at, limit)| (at - before, limit))
        .collect();
    let mut last_second: Vec<usize> = after
        .iter()
        .filter(|(at, _)| *at >= Duration::from_secs(2))
        .map(|&(_, l)| l)
        .collect();
    last_second.sort_unstable();
    let settled_limit = last_second.get(last_second.len() / 2).copied().unwrap_or(0);
    // Settled: from then on within ±30 % (and ±1) of the final limit.
    let (low, high) = (
        (settled_limit as f64 * 0.7)
            .floor()
            .min(settled_limit.saturating_sub(1) as f64),
        (settled_limit as f64 * 1.3)
            .ceil()
            .max((settled_limit + 1) as f64),
    );
    let settled_at = after
        .iter()
        .rev()
        .find(|(_, l)| (*l as f64) < low || (*l as f64) > high)
        .map_or(Duration::ZERO, |(at, _)| *at + Duration::from_millis(10));
    let limit_before = run
        .limits
        .iter()
        .rev()
        .find(|(at, _)| *at < before)
        .map_or(0, |&(_, l)| l);
    println!(
        "\nStep 0.5× → 5× (adaptive): limit {limit_before} before, settled at {settled_limit} (within ±30 %) {:.0} ms after the step; over the 3 s at 5×: p99 of 200s {}, goodput {:.0} %.",
        settled_at.as_secs_f64() * 1e3,
        ms(percentile(&mut run.reports.ok, 0.99)),
        100.0 * run.reports.ok.len() as f64 / 3.0 / capacity
    );
    let trace: Vec<String> = after
        .iter()
        .step_by(5)
        .take(30)
        .map(|(at, l)| format!("{}:{l}", at.as_millis()))
        .collect();
    eprintln!("limit after the step (ms:limit): {}", trace.join(" "));
}
