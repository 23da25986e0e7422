//! One `tracing` event per error response the layer sends, none on the happy path; with the
//! `metrics` feature, the counters and gauges of `tower_api_errors::api_metrics`.

mod common;

#[allow(dead_code)] // its `on_failure` and `app` are used here, not its `main`
#[path = "../examples/axum.rs"]
mod axum_example;

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::{call, captured_logs};
use http::{Method, Request, StatusCode};
use tower::{Layer, ServiceExt};
use tower_api_errors::overload::{Drain, Limit, Maintenance};
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiError, ApiErrorLayer};

fn req(method: &str, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("x-request-id", "req-42")
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
            "/panic",
            get(|| async {
                panic!("secret panic text");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route(
            "/slow",
            get(|| async {
                std::future::pending::<()>().await;
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

/// The lines of the "error response" events.
fn error_events(logs: &str) -> Vec<&str> {
    logs.lines()
        .filter(|line| line.contains("error response"))
        .collect()
}

#[test]
fn the_happy_path_has_no_event() {
    let app = ApiErrorLayer::new().method_policy(policy()).layer(router());
    let (reply, logs) = captured_logs(call(app, req("GET", "/ok?x=1")));
    assert_eq!(reply.status, StatusCode::OK);
    assert!(logs.is_empty(), "{logs}");
}

#[test]
fn a_handler_error_is_one_debug_event_with_the_request_s_facts() {
    let app = ApiErrorLayer::new().layer(router());
    let (reply, logs) = captured_logs(call(app, req("GET", "/notes/7?secret=query")));
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    let event = events[0];
    assert!(event.contains("DEBUG"), "{event}");
    for field in [
        "status=404",
        "error=\"note_not_found\"",
        "method=\"GET\"",
        "path=\"/notes/7\"",
        "request_id=\"req-42\"",
    ] {
        assert!(event.contains(field), "{field} missing: {event}");
    }
    assert!(
        !logs.contains("secret=query"),
        "the query is not logged: {logs}"
    );
}

#[test]
fn the_layer_s_own_answers_are_one_event_each() {
    let app = ApiErrorLayer::new().method_policy(policy()).layer(router());
    let (reply, logs) = captured_logs(call(app.clone(), req("POST", "/payments")));
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert!(
        events[0].contains(" WARN "),
        "a 5xx is a warning: {}",
        events[0]
    );
    assert!(
        events[0].contains("error=\"not_implemented\""),
        "{}",
        events[0]
    );
    assert!(events[0].contains("method=\"POST\""), "{}", events[0]);
    assert!(events[0].contains("path=\"/payments\""), "{}", events[0]);

    // An unrecognized method: its name is not kept, the rest is.
    let (reply, logs) = captured_logs(call(app, req("BREW", "/payments")));
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert!(events[0].contains("method=\"other\""), "{}", events[0]);
}

#[test]
fn normalized_inner_answers_are_one_event_each() {
    let app = ApiErrorLayer::new().layer(router());
    // axum's empty 404 and its 405 (with Allow).
    for (method, uri, status, code) in [
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/ok", 405, "method_not_allowed"),
    ] {
        let (reply, logs) = captured_logs(call(app.clone(), req(method, uri)));
        assert_eq!(reply.status.as_u16(), status);
        let events = error_events(&logs);
        assert_eq!(events.len(), 1, "{logs}");
        assert!(
            events[0].contains(&format!("error=\"{code}\"")),
            "{}",
            events[0]
        );
        assert!(
            events[0].contains(&format!("path=\"{uri}\"")),
            "{}",
            events[0]
        );
    }
    // A 204 to OPTIONS is no error.
    let policy = ApiErrorLayer::new().method_policy(policy()).layer(router());
    let (reply, logs) = captured_logs(call(policy, req("OPTIONS", "/payments")));
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(error_events(&logs).is_empty(), "{logs}");
}

#[test]
fn a_panic_keeps_its_error_line_and_adds_one_warning() {
    let app = ApiErrorLayer::new().layer(router());
    let (reply, logs) = captured_logs(call(app, req("GET", "/panic")));
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        logs.contains("secret panic text"),
        "the panic is logged: {logs}"
    );
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert!(events[0].contains(" WARN "), "{}", events[0]);
    assert!(
        events[0].contains("error=\"internal_error\""),
        "{}",
        events[0]
    );
    assert!(events[0].contains("path=\"/panic\""), "{}", events[0]);
}

#[test]
fn deadlines_overload_maintenance_and_drain_are_one_event_each() {
    // A deadline: the paused clock lets it pass at once.
    let app = ApiErrorLayer::new()
        .timeout(Duration::from_millis(50))
        .layer(router());
    let (reply, logs) = captured_logs(async {
        tokio::time::pause();
        call(app, req("GET", "/slow")).await
    });
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert!(
        events[0].contains("error=\"gateway_timeout\""),
        "{}",
        events[0]
    );

    let full = ApiErrorLayer::new().limit(Limit::fixed(0)).layer(router());
    let maintenance = Maintenance::new();
    maintenance.enable();
    let closed = ApiErrorLayer::new()
        .maintenance(maintenance)
        .layer(router());
    let drain = Drain::new();
    let draining = ApiErrorLayer::new().drain(drain.clone()).layer(router());
    drain.trigger();
    for ((reply, logs), code) in [
        (captured_logs(call(full, req("GET", "/ok"))), "overloaded"),
        (
            captured_logs(call(closed, req("GET", "/ok"))),
            "maintenance",
        ),
        (
            captured_logs(call(draining, req("GET", "/ok"))),
            "shutting_down",
        ),
    ] {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
        let events = error_events(&logs);
        assert_eq!(events.len(), 1, "{logs}");
        assert!(
            events[0].contains(&format!("error=\"{code}\"")),
            "{}",
            events[0]
        );
    }
}

#[test]
fn a_json_error_passed_untouched_has_no_event() {
    let json_error = tower::service_fn(|_req: Request<Body>| async {
        let response = http::Response::builder()
            .status(StatusCode::CONFLICT)
            .header("content-type", "application/json")
            .body(Body::from(r#"{"already":"there"}"#))
            .unwrap();
        Ok::<_, std::convert::Infallible>(response)
    });
    let app = ApiErrorLayer::new().layer(json_error);
    let (reply, logs) = captured_logs(async { app.oneshot(req("GET", "/x")).await.unwrap() });
    assert_eq!(reply.status(), StatusCode::CONFLICT);
    assert!(error_events(&logs).is_empty(), "{logs}");
}

/// Issue 21, item 8: the recommended TraceLayer composition (`examples/axum.rs`'s
/// `on_failure`) logs a planned 501 and a maintenance 503 below ERROR, and a 500 at ERROR.
#[test]
fn trace_layer_failures_leave_out_the_answers_given_on_purpose() {
    use tower_api_errors::routing::{get as api_get, ApiRouter};
    use tower_http::trace::TraceLayer;

    let maintenance = Maintenance::new();
    let app = ApiRouter::new()
        .route("/payments", api_get(|| async { "[]" }).plan(Method::POST))
        .route("/broken", api_get(|| async { ApiError::internal_error() }))
        .into_service(ApiErrorLayer::new().maintenance(maintenance.clone()))
        .unwrap()
        .into_router()
        .layer(TraceLayer::new_for_http().on_failure(axum_example::on_failure));
    let send = |method: &str, uri: &str| {
        let req = Request::builder().method(method).uri(uri);
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let ((), planned) = captured_logs(async {
        assert_eq!(send("POST", "/payments").await.unwrap().status(), 501);
    });
    maintenance.enable();
    let ((), maintained) = captured_logs(async {
        assert_eq!(send("GET", "/payments").await.unwrap().status(), 503);
    });
    maintenance.disable();
    let ((), broken) = captured_logs(async {
        assert_eq!(send("GET", "/broken").await.unwrap().status(), 500);
    });
    for logs in [&planned, &maintained] {
        assert!(!logs.contains("ERROR"), "{logs}");
        assert!(logs.contains("refused on purpose"), "{logs}");
    }
    assert!(
        broken
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("response failed")),
        "{broken}"
    );
}

/// A database error, with a cause of its own.
#[derive(Debug)]
struct QueryFailed(std::io::Error);

impl std::fmt::Display for QueryFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SELECT * FROM secret_table failed")
    }
}

impl std::error::Error for QueryFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn an_error_s_source_is_logged_with_its_chain_and_never_sent() {
    let app = ApiErrorLayer::new().layer(Router::new().route(
        "/orders",
        get(|| async {
            let cause = std::io::Error::other("connection reset by db-primary");
            Err::<(), _>(ApiError::internal_error().with_source(QueryFailed(cause)))
        }),
    ));
    let (reply, logs) = captured_logs(call(app, req("GET", "/orders")));
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    let events = error_events(&logs);
    assert_eq!(events.len(), 1, "{logs}");
    assert!(
        events[0]
            .contains("source=SELECT * FROM secret_table failed: connection reset by db-primary"),
        "{}",
        events[0]
    );
    let body = String::from_utf8_lossy(&reply.body);
    assert!(
        !body.contains("secret_table") && !body.contains("db-primary"),
        "{body}"
    );
    assert_eq!(reply.json()["detail"], "An error occurred on our side.");
}
