//! The metrics of the `metrics` feature, read from `metrics-util`'s debugging recorder: every
//! error response the layer sends is counted once, a success never; refusals by reason; the
//! in-flight and limit gauges.

#![cfg(feature = "metrics")]

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Method, Request, StatusCode};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use tower::{Layer, ServiceExt};
use tower_api_errors::overload::{AdaptiveConcurrency, Drain, Limit, Maintenance};
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiError, ApiErrorLayer};

/// Runs `f` with a fresh debugging recorder as the local one, on a current-thread runtime.
fn recorded<T>(f: impl std::future::Future<Output = T>) -> (T, Snapshotter) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let output = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    });
    (output, snapshotter)
}

/// `(kind, name, labels, value)` of one metric.
type Metric = (MetricKind, String, Vec<(String, String)>, DebugValue);

/// Every metric recorded.
fn metrics(snapshotter: &Snapshotter) -> Vec<Metric> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            (kind, key.name().to_owned(), labels, value)
        })
        .collect()
}

fn counter(all: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    all.iter()
        .filter(|(kind, n, l, _)| {
            *kind == MetricKind::Counter
                && n == name
                && l.iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .eq(labels.iter().copied())
        })
        .map(|(_, _, _, value)| match value {
            DebugValue::Counter(n) => *n,
            other => panic!("{other:?}"),
        })
        .sum()
}

fn gauge(all: &[Metric], name: &str) -> Option<f64> {
    all.iter().find_map(|(kind, n, _, value)| match value {
        DebugValue::Gauge(v) if *kind == MetricKind::Gauge && n == name => Some(v.into_inner()),
        _ => None,
    })
}

fn req(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

fn router() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/notes/{id}",
            get(|| async { Err::<(), _>(ApiError::not_found().with_code("note_not_found")) }),
        )
        .route("/payments", get(|| async { "[]" }))
        .route(
            "/conflict",
            get(|| async {
                (
                    StatusCode::CONFLICT,
                    [("content-type", "application/json")],
                    r#"{"already":"there"}"#,
                )
            }),
        )
}

fn policy() -> MethodPolicy {
    MethodPolicy::builder()
        .resource(
            "/payments",
            Resource::allow([Method::GET]).plan([Method::POST]),
        )
        .build()
        .unwrap()
}

#[test]
fn every_error_response_is_counted_once_and_successes_never() {
    let ((), snapshotter) = recorded(async {
        let app = ApiErrorLayer::new().method_policy(policy()).layer(router());
        for (method, uri, status) in [
            ("GET", "/ok", 200),
            ("GET", "/notes/1", 404),   // a handler's ApiError, rendered
            ("GET", "/nowhere", 404),   // axum's empty 404, normalized
            ("POST", "/payments", 501), // planned: the layer's own
            ("BREW", "/ok", 501),       // unrecognized: the layer's own
            ("GET", "/conflict", 409),  // already JSON: untouched, not counted
        ] {
            let response = app.clone().oneshot(req(method, uri)).await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{method} {uri}");
        }
    });
    let all = metrics(&snapshotter);
    let errors = |status, code| {
        counter(
            &all,
            "api_errors_total",
            &[("status", status), ("error", code)],
        )
    };
    assert_eq!(errors("404", "note_not_found"), 1);
    assert_eq!(errors("404", "not_found"), 1);
    assert_eq!(errors("501", "not_implemented"), 2);
    let total: u64 = all
        .iter()
        .filter(|(_, name, _, _)| name == "api_errors_total")
        .map(|(_, _, _, v)| match v {
            DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(total, 4, "{all:?}");
}

#[test]
fn refusals_are_counted_by_reason() {
    let ((), snapshotter) = recorded(async {
        let full = ApiErrorLayer::new().limit(Limit::fixed(0)).layer(router());
        let maintenance = Maintenance::new();
        maintenance.enable();
        let closed = ApiErrorLayer::new()
            .maintenance(maintenance)
            .layer(router());
        let drain = Drain::new();
        let draining = ApiErrorLayer::new().drain(drain.clone()).layer(router());
        drain.trigger();
        let deadline = ApiErrorLayer::new()
            .limit(Limit::fixed(8))
            .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
            .layer(router());
        let mut zero = req("GET", "/ok");
        zero.headers_mut()
            .insert("x-request-timeout-ms", "0".parse().unwrap());
        for (response, status) in [
            (full.oneshot(req("GET", "/ok")).await.unwrap(), 503),
            (closed.oneshot(req("GET", "/ok")).await.unwrap(), 503),
            (draining.oneshot(req("GET", "/ok")).await.unwrap(), 503),
            (deadline.oneshot(zero).await.unwrap(), 504),
        ] {
            assert_eq!(response.status().as_u16(), status);
        }
    });
    let all = metrics(&snapshotter);
    for reason in ["overloaded", "maintenance", "shutting_down", "deadline"] {
        assert_eq!(
            counter(&all, "api_shed_total", &[("reason", reason)]),
            1,
            "{reason}: {all:?}"
        );
    }
    for (status, code) in [
        ("503", "overloaded"),
        ("503", "maintenance"),
        ("503", "shutting_down"),
        ("504", "gateway_timeout"),
    ] {
        assert_eq!(
            counter(
                &all,
                "api_errors_total",
                &[("status", status), ("error", code)]
            ),
            1,
            "{code}"
        );
    }
}

/// The value of the gauge `series` (name and labels, as Prometheus writes them) in `text`.
fn prometheus_gauge(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Builds what `make` returns with a Prometheus recorder as the local one (the gauges are
/// registered with the recorder current when the layer is built). The exporter users run, not
/// the debugging recorder, whose snapshots set gauges back to zero.
fn with_prometheus<T>(
    make: impl FnOnce() -> T,
) -> (T, metrics_exporter_prometheus::PrometheusHandle) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let made = metrics::with_local_recorder(&recorder, make);
    // The handle renders what the recorder holds; the recorder itself may go.
    (made, handle)
}

#[test]
fn the_gauges_follow_requests_in_flight_and_the_limit() {
    let ((app, release), prometheus) = with_prometheus(|| {
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let wait = std::sync::Mutex::new(Some(wait));
        let held = std::sync::Arc::new(wait);
        let router = Router::new().route(
            "/held",
            get(move || {
                let wait = held.lock().unwrap().take();
                async move {
                    if let Some(wait) = wait {
                        let _ = wait.await;
                    }
                    "done"
                }
            }),
        );
        (
            ApiErrorLayer::new().limit(Limit::fixed(8)).layer(router),
            release,
        )
    });
    let in_flight = || prometheus_gauge(&prometheus.render(), "api_in_flight");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(in_flight(), Some(0.0));
        assert_eq!(
            prometheus_gauge(&prometheus.render(), "api_concurrency_limit"),
            Some(8.0)
        );

        let mut call = std::pin::pin!(app.oneshot(req("GET", "/held")));
        // One poll: admitted, and waiting in the handler.
        tokio::select! {
            biased;
            _ = &mut call => panic!("the handler waits"),
            () = std::future::ready(()) => {}
        }
        assert_eq!(in_flight(), Some(1.0));
        release.send(()).unwrap();
        assert_eq!(call.await.unwrap().status(), StatusCode::OK);
        assert_eq!(in_flight(), Some(0.0));
    });

    // The adaptive limit starts at its initial limit.
    let ((), snapshotter) = recorded(async {
        let layer = ApiErrorLayer::new().limit(Limit::adaptive(
            AdaptiveConcurrency::default().initial_limit(6),
        ));
        let _ = layer.layer(router());
    });
    assert_eq!(
        gauge(&metrics(&snapshotter), "api_concurrency_limit"),
        Some(6.0)
    );
}

/// Bursts on two worker threads: the gauge ends at the counter's value, 0, every time. (It was
/// set from a count read before: two threads could leave the older value behind.)
#[test]
fn the_in_flight_gauge_ends_at_zero_after_concurrent_bursts() {
    let (app, prometheus) = with_prometheus(|| {
        let router = Router::new().route(
            "/work",
            get(|| async {
                tokio::task::yield_now().await;
                "done"
            }),
        );
        ApiErrorLayer::new()
            .limit(Limit::fixed(10_000))
            .layer(router)
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for _ in 0..20 {
        runtime.block_on(async {
            let burst: Vec<_> = (0..200)
                .map(|_| tokio::spawn(app.clone().oneshot(req("GET", "/work"))))
                .collect();
            for call in burst {
                assert_eq!(call.await.unwrap().unwrap().status(), StatusCode::OK);
            }
        });
        assert_eq!(
            prometheus_gauge(&prometheus.render(), "api_in_flight"),
            Some(0.0)
        );
    }
}

/// With an adaptive limit and a route table, the gauges are per resource, labelled with the
/// route pattern (never the raw path), and `(unmatched)` for the rest.
#[test]
fn adaptive_gauges_are_per_resource() {
    let (app, prometheus) = with_prometheus(|| {
        let policy = MethodPolicy::builder()
            .resource("/notes/{id}", Resource::allow([Method::GET]))
            .build()
            .unwrap();
        ApiErrorLayer::new()
            .limit(Limit::adaptive(AdaptiveConcurrency::default()))
            .method_policy(policy)
            .layer(Router::new().route("/notes/{id}", get(|| async { "note" })))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let reply = app.clone().oneshot(req("GET", "/notes/7")).await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
    });
    let text = prometheus.render();
    let series = |name: &str, resource: &str| {
        prometheus_gauge(&text, &format!("{name}{{resource=\"{resource}\"}}"))
    };
    assert_eq!(series("api_in_flight", "/notes/{id}"), Some(0.0), "{text}");
    assert_eq!(series("api_in_flight", "(unmatched)"), Some(0.0), "{text}");
    assert_eq!(
        series("api_concurrency_limit", "/notes/{id}"),
        Some(16.0),
        "{text}"
    );
    assert!(!text.contains("/notes/7"), "{text}");
    assert_eq!(prometheus_gauge(&text, "api_in_flight"), None, "{text}");
}

/// Every series has a `# HELP` (and `# TYPE`) line, as `promtool check metrics` requires.
#[test]
fn every_metric_is_described() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let prometheus = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        let app = ApiErrorLayer::new()
            .limit(Limit::fixed(0))
            .layer(Router::new().route("/notes/{id}", get(|| async { "note" })));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let reply = runtime
            .block_on(app.oneshot(req("GET", "/notes/7")))
            .unwrap();
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
    });
    let text = prometheus.render();
    for name in [
        "api_errors_total",
        "api_shed_total",
        "api_in_flight",
        "api_concurrency_limit",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
        assert!(text.contains(&format!("# TYPE {name} ")), "{name}: {text}");
    }
}

/// `use tower_api_errors::*` beside the `metrics` crate's macros: nothing public at the root
/// shadows a dependency's name (the documentation module was `metrics`, which made
/// `metrics::counter!` ambiguous, E0659).
mod glob_import_beside_the_metrics_crate {
    #[allow(unused_imports)]
    use tower_api_errors::*;

    #[test]
    fn metrics_macros_resolve() {
        metrics::counter!("app_requests_total").increment(1);
        let _ = ApiError::not_found();
    }
}
