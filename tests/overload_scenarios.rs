//! The adaptive limit as a matrix of scenarios, each with its goal, on tokio's paused clock:
//! simulated resources (a pool of connections held for a service time, a fixed sleep, an
//! instant handler, a service time that changes), seeded open-loop arrivals and closed-loop
//! clients, default settings, no tuning. Deterministic: the same numbers on every run and every
//! machine. `cargo test --test overload_scenarios -- --nocapture` prints each scenario's
//! numbers.

#[path = "support/simulation.rs"]
mod simulation;

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::StatusCode;
use simulation::{
    app, closed_loop, open_loop, Client, OnRefusal, Outcome, Phase, Recorder, SimResource, View,
    Work,
};
use tokio::time::Instant;
use tower_api_errors::overload::{AdaptiveConcurrency, Criticality, Limit};
use tower_api_errors::ApiErrorLayer;

const DB: &str = "/reports/result";
const FAST: &str = "/payments";
const HEALTH: &str = "/health";
const MISSING: &str = "/wp-login.php";
const CLIENTS: Client = Client::named("clients");

fn adaptive() -> ApiErrorLayer {
    ApiErrorLayer::new()
        .timeout(Duration::from_secs(10))
        .limit(Limit::adaptive(AdaptiveConcurrency::default()))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn phase(rate: f64, length: f64) -> Phase {
    Phase {
        rate,
        length: secs(length),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One database-like resource under the default adaptive layer, offered `phases` open loop
/// (seeded): every outcome, and when the load started.
async fn offered(work: Work, phases: Vec<Phase>, seed: u64) -> (Vec<Outcome>, Instant) {
    let app = app(adaptive(), vec![SimResource::new(DB, work)], true);
    let recorder = Recorder::default();
    let start = Instant::now();
    open_loop(&app, DB, CLIENTS, phases, seed, &recorder)
        .await
        .unwrap();
    (recorder.outcomes(), start)
}

/// The p99 of a resource with no limit at half its capacity: what "unloaded" means below.
async fn unloaded_p99(work: Work, capacity: f64) -> Duration {
    let app = app(ApiErrorLayer::new(), vec![SimResource::new(DB, work)], true);
    let recorder = Recorder::default();
    let start = Instant::now();
    open_loop(
        &app,
        DB,
        CLIENTS,
        vec![phase(capacity / 2.0, 20.0)],
        7,
        &recorder,
    )
    .await
    .unwrap();
    let outcomes = recorder.outcomes();
    View::of(&outcomes, DB, start, start + secs(20.0)).p_ok(99.0)
}

/// S1: one database-bound resource (4 connections × 10 ms: 400 per second) at 0.5× to 10×.
#[tokio::test(start_paused = true)]
async fn s1_one_db_bound_resource_from_half_to_ten_times_capacity() {
    let capacity = 400.0;
    let unloaded = unloaded_p99(Work::pool(4, secs(0.010)), capacity).await;
    for load in [0.5, 1.0, 2.0, 5.0, 10.0] {
        let work = Work::pool(4, secs(0.010));
        let (outcomes, start) = offered(work, vec![phase(capacity * load, 11.0)], 1).await;
        // The first second warms up (the cold start is S12's).
        let view = View::of(&outcomes, DB, start + secs(1.0), start + secs(11.0));
        let goodput = view.goodput(secs(10.0));
        let p99 = view.p_ok(99.0);
        println!(
            "S1 {load}×: goodput {goodput:.0}/s ({:.0} %), p99 {:.1} ms (unloaded {:.1} ms), \
             refused {:.1} %",
            100.0 * goodput / capacity,
            ms(p99),
            ms(unloaded),
            100.0 * view.refused_share()
        );
        assert!(view.others().is_empty(), "{:?}", view.others());
        if load >= 2.0 {
            assert!(goodput >= 0.9 * capacity, "{load}×: goodput {goodput}");
        }
        assert!(
            p99 <= unloaded * 2,
            "{load}×: p99 {p99:?}, unloaded {unloaded:?}"
        );
        if load <= 0.5 {
            assert_eq!(view.refused(), 0, "{load}×");
        }
    }
}

/// S2: a step from 0.5× to 5×: settled within a second.
#[tokio::test(start_paused = true)]
async fn s2_a_step_from_half_to_five_times_settles_within_a_second() {
    let capacity = 400.0;
    let unloaded = unloaded_p99(Work::pool(4, secs(0.010)), capacity).await;
    let phases = vec![phase(capacity * 0.5, 5.0), phase(capacity * 5.0, 5.0)];
    let (outcomes, start) = offered(Work::pool(4, secs(0.010)), phases, 2).await;
    let step = start + secs(5.0);
    // From a second after the step on, each half second is at its goal.
    for k in 0..8 {
        let from = step + secs(1.0 + 0.5 * f64::from(k));
        let view = View::of(&outcomes, DB, from, from + secs(0.5));
        let (goodput, p99) = (view.goodput(secs(0.5)), view.p_ok(99.0));
        println!(
            "S2 +{:.1} s: goodput {goodput:.0}/s, p99 {:.1} ms",
            1.0 + 0.5 * f64::from(k),
            ms(p99)
        );
        assert!(goodput >= 0.85 * capacity, "{k}: goodput {goodput}");
        assert!(p99 <= unloaded * 2, "{k}: p99 {p99:?}");
    }
}

/// S3: 400 ms handlers, no bottleneck, 32 closed-loop clients: the limit must get out of the
/// way (no limit serves 32 / 0.4 s = 80 per second).
#[tokio::test(start_paused = true)]
async fn s3_slow_handlers_without_a_bottleneck_are_not_held_back() {
    let app = app(
        adaptive(),
        vec![SimResource::new(DB, Work::sleep(secs(0.4)))],
        true,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let until = start + secs(30.0);
    let retry = OnRefusal::Retry(secs(0.05));
    for client in closed_loop(
        &app,
        DB,
        CLIENTS,
        32,
        Duration::ZERO,
        retry,
        until,
        &recorder,
    ) {
        client.await.unwrap();
    }
    let outcomes = recorder.outcomes();
    let no_limit = 32.0 / 0.4;
    for from in [10.0, 15.0, 20.0] {
        let view = View::of(&outcomes, DB, start + secs(from), start + secs(from + 5.0));
        let goodput = view.goodput(secs(5.0));
        println!(
            "S3 from {from} s: goodput {goodput:.1}/s ({:.0} % of no limit)",
            100.0 * goodput / no_limit
        );
        assert!(
            goodput >= 0.9 * no_limit,
            "from {from} s: goodput {goodput}"
        );
    }
}

/// S4: a slow bottleneck, 4 connections × 500 ms (8 per second), offered 5×.
#[tokio::test(start_paused = true)]
async fn s4_a_slow_bottleneck_at_five_times() {
    let capacity = 8.0;
    let unloaded = unloaded_p99(Work::pool(4, secs(0.5)), capacity).await;
    let work = Work::pool(4, secs(0.5));
    let (outcomes, start) = offered(work, vec![phase(capacity * 5.0, 80.0)], 4).await;
    let view = View::of(&outcomes, DB, start + secs(20.0), start + secs(80.0));
    let (goodput, p99) = (view.goodput(secs(60.0)), view.p_ok(99.0));
    println!(
        "S4: goodput {goodput:.2}/s ({:.0} %), p99 {:.0} ms (unloaded {:.0} ms)",
        100.0 * goodput / capacity,
        ms(p99),
        ms(unloaded)
    );
    assert!(goodput >= 0.85 * capacity, "goodput {goodput}");
    assert!(
        p99.as_secs_f64() <= unloaded.as_secs_f64() * 2.5,
        "p99 {p99:?}"
    );
}

/// S5: an instant resource at a steady rate beside S1's resource at 5×: the overload of one
/// resource is not the other's.
#[tokio::test(start_paused = true)]
async fn s5_an_instant_resource_beside_an_overloaded_one_keeps_answering() {
    let capacity = 400.0;
    // The instant resource alone, at the same rate. (The clock moves by whole milliseconds,
    // so an arrival waits up to one for its turn: that is its unloaded latency here.)
    let unloaded = {
        let app = app(
            adaptive(),
            vec![SimResource::new(FAST, Work::Instant)],
            true,
        );
        let recorder = Recorder::default();
        let start = Instant::now();
        open_loop(&app, FAST, CLIENTS, vec![phase(200.0, 11.0)], 6, &recorder)
            .await
            .unwrap();
        let outcomes = recorder.outcomes();
        View::of(&outcomes, FAST, start, start + secs(11.0)).p_ok(99.0)
    };
    let app = app(
        adaptive(),
        vec![
            SimResource::new(DB, Work::pool(4, secs(0.010))),
            SimResource::new(FAST, Work::Instant),
        ],
        true,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let slow = open_loop(
        &app,
        DB,
        CLIENTS,
        vec![phase(capacity * 5.0, 11.0)],
        5,
        &recorder,
    );
    let fast = open_loop(&app, FAST, CLIENTS, vec![phase(200.0, 11.0)], 6, &recorder);
    slow.await.unwrap();
    fast.await.unwrap();
    let outcomes = recorder.outcomes();
    let fast = View::of(&outcomes, FAST, start, start + secs(11.0));
    let slow = View::of(&outcomes, DB, start + secs(1.0), start + secs(11.0));
    println!(
        "S5: instant {:.2} % answered 200, p99 {:.1} ms (alone {:.1} ms); slow goodput {:.0} %",
        100.0 * fast.ok_share(),
        ms(fast.p_ok(99.0)),
        ms(unloaded),
        100.0 * slow.goodput(secs(10.0)) / capacity
    );
    assert!(fast.ok_share() >= 0.99, "{}", fast.ok_share());
    assert!(fast.p_ok(99.0) <= unloaded * 3, "p99 {:?}", fast.p_ok(99.0));
    assert!(slow.goodput(secs(10.0)) >= 0.85 * capacity);
}

/// S5 without a route table: one partition, as documented. Measured here so that the README's
/// caveat stays true: the instant resource then shares the slow one's limit.
#[tokio::test(start_paused = true)]
async fn s5_without_a_route_table_the_layer_is_one_resource() {
    let app = app(
        adaptive(),
        vec![
            SimResource::new(DB, Work::pool(4, secs(0.010))),
            SimResource::new(FAST, Work::Instant),
        ],
        false,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let slow = open_loop(&app, DB, CLIENTS, vec![phase(2000.0, 6.0)], 5, &recorder);
    let fast = open_loop(&app, FAST, CLIENTS, vec![phase(200.0, 6.0)], 6, &recorder);
    slow.await.unwrap();
    fast.await.unwrap();
    let outcomes = recorder.outcomes();
    let fast = View::of(&outcomes, FAST, start + secs(1.0), start + secs(6.0));
    println!(
        "S5, no route table: instant {:.1} % answered 200",
        100.0 * fast.ok_share()
    );
    assert!(fast.refused() > 0);
}

/// S6: 16 clients on a 20 ms resource, then a scanner sends 500 404s a second for 2 s: the
/// 404s are not samples of the resource's work, so goodput does not fall after the burst.
/// Without a route table (the harder case: the 404s share the resource's controller), then
/// with one.
#[tokio::test(start_paused = true)]
async fn s6_a_scanner_burst_of_404s_does_not_lower_goodput() {
    for table in [false, true] {
        let app = app(
            adaptive(),
            vec![SimResource::new(DB, Work::pool(4, secs(0.020)))],
            table,
        );
        let recorder = Recorder::default();
        let start = Instant::now();
        let until = start + secs(42.0);
        let retry = OnRefusal::Retry(secs(0.005));
        let clients = closed_loop(
            &app,
            DB,
            CLIENTS,
            16,
            Duration::ZERO,
            retry,
            until,
            &recorder,
        );
        tokio::time::sleep(secs(10.0)).await;
        let scanner = Client::named("scanner");
        open_loop(
            &app,
            MISSING,
            scanner,
            vec![phase(500.0, 2.0)],
            8,
            &recorder,
        )
        .await
        .unwrap();
        for client in clients {
            client.await.unwrap();
        }
        let outcomes = recorder.outcomes();
        let before = View::of(&outcomes, DB, start + secs(5.0), start + secs(10.0));
        let before = before.goodput(secs(5.0));
        let scanned = View::of(&outcomes, MISSING, start, until);
        if table {
            // Outside the table, the scanner has a limit of its own, and never waits.
            assert_eq!(scanned.count(StatusCode::NOT_FOUND), scanned.total());
        } else {
            // One limit for everything: the scanner is refused with the rest while it is full.
            let answered = scanned.count(StatusCode::NOT_FOUND) + scanned.refused();
            assert_eq!(answered, scanned.total());
        }
        for from in [12.0, 17.0, 22.0, 27.0, 32.0, 37.0] {
            let view = View::of(&outcomes, DB, start + secs(from), start + secs(from + 5.0));
            let goodput = view.goodput(secs(5.0));
            println!(
                "S6 (route table: {table}) from {from} s: goodput {goodput:.0}/s, before {before:.0}/s"
            );
            assert!(
                goodput >= 0.9 * before,
                "{table}, from {from} s: {goodput} < {before}"
            );
        }
    }
}

/// S7: 8 clients retrying in a tight loop and 8 polite ones that wait as `Retry-After` says,
/// on a pool of 2 × 20 ms: the polite clients are not told to stay away for long.
#[tokio::test(start_paused = true)]
async fn s7_a_retry_storm_does_not_lengthen_what_polite_clients_are_told() {
    let app = app(
        adaptive(),
        vec![SimResource::new(DB, Work::pool(2, secs(0.020)))],
        true,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let until = start + secs(60.0);
    let (storm, polite) = (Client::named("storm"), Client::named("polite"));
    let tight = OnRefusal::Retry(Duration::from_millis(1));
    let mut clients = closed_loop(&app, DB, storm, 8, Duration::ZERO, tight, until, &recorder);
    clients.extend(closed_loop(
        &app,
        DB,
        polite,
        8,
        Duration::ZERO,
        OnRefusal::Honor,
        until,
        &recorder,
    ));
    for client in clients {
        client.await.unwrap();
    }
    let outcomes = recorder.outcomes();
    let view = View::of(&outcomes, DB, start, until).client("polite");
    let seen = view.retry_afters();
    assert!(
        !seen.is_empty(),
        "the polite clients were refused sometimes"
    );
    let median = seen[seen.len() / 2];
    println!(
        "S7: polite clients told Retry-After median {median} s, max {} s ({} refusals); \
         polite served {}",
        seen.last().unwrap(),
        seen.len(),
        view.ok()
    );
    assert!(median <= 10, "median {median}");
    assert!(*seen.last().unwrap() <= 60, "{seen:?}");
    assert!(seen[0] >= 1, "{seen:?}");
}

/// S8: the service gets four times slower at t = 10 s (10 ms → 40 ms per query): within 5 s
/// the limit follows.
#[tokio::test(start_paused = true)]
async fn s8_a_service_that_gets_slower_is_followed_within_five_seconds() {
    let work = Work::pool(4, secs(0.010));
    let service = work.service_time();
    let new_capacity = 100.0;
    let unloaded = unloaded_p99(Work::pool(4, secs(0.040)), new_capacity).await;
    let app = app(adaptive(), vec![SimResource::new(DB, work)], true);
    let recorder = Recorder::default();
    let start = Instant::now();
    let load = open_loop(&app, DB, CLIENTS, vec![phase(2000.0, 30.0)], 9, &recorder);
    tokio::time::sleep(secs(10.0)).await;
    service.store(40_000, Ordering::Relaxed);
    load.await.unwrap();
    let outcomes = recorder.outcomes();
    let view = View::of(&outcomes, DB, start + secs(15.0), start + secs(30.0));
    let (goodput, p99) = (view.goodput(secs(15.0)), view.p_ok(99.0));
    println!(
        "S8: from 5 s after the change, goodput {goodput:.0}/s ({:.0} % of the new capacity), \
         p99 {:.1} ms (new unloaded {:.1} ms)",
        100.0 * goodput / new_capacity,
        ms(p99),
        ms(unloaded)
    );
    assert!(goodput >= 0.85 * new_capacity, "goodput {goodput}");
    assert!(p99 <= unloaded * 2, "p99 {p99:?}");
}

/// S9: 5 requests a second to a 2 s handler (10 in flight, no bottleneck).
#[tokio::test(start_paused = true)]
async fn s9_a_two_second_handler_at_five_per_second_is_served() {
    let (outcomes, start) = offered(Work::sleep(secs(2.0)), vec![phase(5.0, 60.0)], 10).await;
    let first = View::of(&outcomes, DB, start, start + secs(10.0));
    let after = View::of(&outcomes, DB, start + secs(10.0), start + secs(60.0));
    println!(
        "S9: refused {:.1} % in the first 10 s, {} after (of {})",
        100.0 * first.refused_share(),
        after.refused(),
        after.total()
    );
    assert!(first.refused_share() <= 0.05, "{}", first.refused_share());
    assert_eq!(after.refused(), 0);
    assert_eq!(after.ok(), after.total());
}

/// S10: when the overload ends, refusals end within 2 s.
#[tokio::test(start_paused = true)]
async fn s10_when_overload_ends_refusals_end_within_two_seconds() {
    let capacity = 400.0;
    let phases = vec![phase(capacity * 5.0, 10.0), phase(capacity * 0.5, 10.0)];
    let (outcomes, start) = offered(Work::pool(4, secs(0.010)), phases, 11).await;
    let during = View::of(&outcomes, DB, start + secs(5.0), start + secs(10.0));
    let after = View::of(&outcomes, DB, start + secs(12.0), start + secs(20.0));
    println!(
        "S10: refused {:.0} % during, {} of {} from 2 s after",
        100.0 * during.refused_share(),
        after.refused(),
        after.total()
    );
    assert!(during.refused() > 0);
    assert_eq!(after.refused(), 0);
}

/// S11: critical health checks and sheddable requests during S1 at 10×.
#[tokio::test(start_paused = true)]
async fn s11_critical_is_never_refused_and_sheddable_goes_first() {
    let capacity = 400.0;
    let app = app(
        adaptive(),
        vec![
            SimResource::new(DB, Work::pool(4, secs(0.010))),
            SimResource::new(HEALTH, Work::Instant).critical(),
        ],
        true,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let sheddable = Client {
        name: "sheddable",
        criticality: Some(Criticality::Sheddable),
    };
    let normal = open_loop(
        &app,
        DB,
        CLIENTS,
        vec![phase(capacity * 5.0, 11.0)],
        12,
        &recorder,
    );
    let shed = open_loop(
        &app,
        DB,
        sheddable,
        vec![phase(capacity * 5.0, 11.0)],
        13,
        &recorder,
    );
    // Health checks that would be refused if they were not critical: they go to the same
    // resource's route too, marked critical by an outer layer.
    let probe = Client {
        name: "probe",
        criticality: Some(Criticality::Critical),
    };
    let probes = open_loop(&app, DB, probe, vec![phase(20.0, 11.0)], 14, &recorder);
    let health = open_loop(
        &app,
        HEALTH,
        CLIENTS,
        vec![phase(20.0, 11.0)],
        15,
        &recorder,
    );
    for task in [normal, shed, probes, health] {
        task.await.unwrap();
    }
    let outcomes = recorder.outcomes();
    let (from, to) = (start + secs(1.0), start + secs(11.0));
    let normal = View::of(&outcomes, DB, from, to).client("clients");
    let shed = View::of(&outcomes, DB, from, to).client("sheddable");
    let probes = View::of(&outcomes, DB, start, to).client("probe");
    let health = View::of(&outcomes, HEALTH, start, to);
    println!(
        "S11: refused normal {:.1} %, sheddable {:.1} %; critical refused {} of {}",
        100.0 * normal.refused_share(),
        100.0 * shed.refused_share(),
        probes.refused() + health.refused(),
        probes.total() + health.total()
    );
    assert_eq!(probes.refused() + health.refused(), 0);
    assert_eq!(probes.ok(), probes.total());
    assert_eq!(health.ok(), health.total());
    assert!(shed.refused_share() > normal.refused_share());
    assert!(normal.goodput(secs(10.0)) > shed.goodput(secs(10.0)));
    let total = normal.goodput(secs(10.0)) + shed.goodput(secs(10.0));
    assert!(total >= 0.9 * capacity, "goodput {total}");
}

/// S12: a cold server gets one burst of 20 requests to a 300 ms handler with no bottleneck.
#[tokio::test(start_paused = true)]
async fn s12_a_cold_burst_is_served() {
    let app = app(
        adaptive(),
        vec![SimResource::new(DB, Work::sleep(secs(0.3)))],
        true,
    );
    let recorder = Recorder::default();
    let start = Instant::now();
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let (app, recorder) = (app.clone(), recorder.clone());
            tokio::spawn(async move {
                simulation::send(&app, DB, "burst", start, &recorder, None).await;
            })
        })
        .collect();
    for request in burst {
        request.await.unwrap();
    }
    let outcomes = recorder.outcomes();
    let view = View::of(&outcomes, DB, start, start + secs(1.0));
    println!("S12: {} of 20 refused", view.refused());
    assert!(view.refused() <= 4, "{} refused", view.refused());
}
