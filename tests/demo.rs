//! The demo's API (examples/demo/app.rs) over a real socket: every route and status of the
//! API document, and every 405/501/OPTIONS/HEAD rule of the method policy.

#[path = "../examples/demo/app.rs"]
mod app;
mod common;
#[path = "support/simulation.rs"]
mod simulation;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{request, send, serve, Reply};
use http::{Request, StatusCode};
use http_body_util::Full;

async fn served(settings: app::Settings) -> (SocketAddr, app::Demo) {
    let demo = app::demo(&settings);
    let addr = serve(demo.service.clone()).await;
    (addr, demo)
}

async fn start() -> SocketAddr {
    served(app::Settings::default()).await.0
}

fn json_post(uri: &str, body: &'static str) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Full::from(body))
        .unwrap()
}

fn with_token(method: &str, uri: &str, token: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::default())
        .unwrap()
}

fn assert_error(reply: &Reply, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    let body = reply.error_body();
    assert_eq!(body["error"], code, "{body}");
    body
}

#[tokio::test]
async fn health_is_ok() {
    let reply = send(start().await, request("GET", "/health")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({"ok": true}));
}

#[tokio::test]
async fn notes_are_created_from_11027_and_read_back() {
    let addr = start().await;
    let body = r#"{"customer_id":1001,"body":"This is a test note."}"#;
    let first = send(addr, json_post("/notes", body)).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.json(), serde_json::json!({"ok": true, "id": 11027}));
    let second = send(addr, json_post("/notes", body)).await;
    assert_eq!(second.json()["id"], 11028);

    let read = send(addr, request("GET", "/notes/11027")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["note"]["body"], "This is a test note.");
    let missing = send(addr, request("GET", "/notes/1")).await;
    assert_eq!(
        assert_error(&missing, 404, "not_found")["detail"],
        "There is no note 1."
    );
}

#[tokio::test]
async fn bad_notes_are_400_415_422_with_field_lists() {
    let addr = start().await;
    let missing = send(addr, json_post("/notes", r#"{"body":"no customer"}"#)).await;
    let body = assert_error(&missing, 400, "missing_parameter");
    assert_eq!(body["param"], "customer_id");
    assert_eq!(
        body["errors"],
        serde_json::json!([{"pointer": "/customer_id", "detail": "missing field `customer_id`"}])
    );
    let malformed = send(addr, json_post("/notes", r#"{"customer_id":"#)).await;
    let body = assert_error(&malformed, 400, "bad_request");
    assert_eq!(body["errors"][0]["pointer"], "");
    let plain = Request::post("/notes")
        .header("content-type", "text/plain")
        .body(Full::from("customer_id=1"))
        .unwrap();
    assert_error(&send(addr, plain).await, 415, "unsupported_media_type");
    let wrong_type = send(
        addr,
        json_post("/notes", r#"{"customer_id":"x","body":"b"}"#),
    )
    .await;
    let body = assert_error(&wrong_type, 400, "invalid_body");
    assert_eq!(body["errors"][0]["pointer"], "/customer_id");
    // A number JSON Schema calls an integer is taken; a fraction is the handler's 422.
    let whole = send(
        addr,
        json_post("/notes", r#"{"customer_id":352.0,"body":"b"}"#),
    )
    .await;
    assert_eq!(whole.status, StatusCode::CREATED);
    let fraction = send(
        addr,
        json_post("/notes", r#"{"customer_id":3.5,"body":"b"}"#),
    )
    .await;
    let body = assert_error(&fraction, 422, "invalid_params");
    assert_eq!(body["errors"][0]["pointer"], "/customer_id");
    // One below i64::MIN reads as the f64 -2^63, which must not pass for i64::MIN.
    let below = send(
        addr,
        json_post(
            "/notes",
            r#"{"customer_id":-9223372036854775809,"body":"b"}"#,
        ),
    )
    .await;
    assert_error(&below, 422, "invalid_params");
}

#[tokio::test]
async fn disallowed_methods_are_405_with_allow() {
    let addr = start().await;
    for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
        let reply = send(addr, request(method, "/reports/1234/result")).await;
        assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS", "{method}");
        let body = assert_error(&reply, 405, "method_not_allowed");
        assert_eq!(
            body["allowed"],
            serde_json::json!(["GET", "HEAD", "OPTIONS"])
        );
        assert_eq!(
            body["detail"],
            format!("{method} is not supported for this resource.")
        );
    }
    assert_eq!(
        send(addr, request("GET", "/reports/1234/result"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn planned_methods_are_501_and_uncacheable() {
    let addr = start().await;
    for (method, uri) in [
        ("POST", "/payments"),
        ("DELETE", "/notes/7"),
        ("GET", "/notes"),
    ] {
        let reply = send(addr, request(method, uri)).await;
        assert_eq!(reply.headers["cache-control"], "no-store", "{method} {uri}");
        assert!(reply.headers.contains_key("allow"));
        let body = assert_error(&reply, 501, "not_implemented");
        assert_eq!(
            body["detail"],
            format!("{method} is planned for this resource but not implemented yet.")
        );
    }
    let reply = send(addr, request("POST", "/payments")).await;
    assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");
}

#[tokio::test]
async fn unknown_methods_are_501_and_unknown_paths_404() {
    let addr = start().await;
    for method in ["BREW", "get", "FOO"] {
        assert_error(
            &send(addr, request(method, "/")).await,
            501,
            "not_implemented",
        );
    }
    // QUERY is a method the server knows (RFC 9110 + PATCH + QUERY): where a resource does not
    // take it, that is a 405 with Allow, and an unknown path is a 404.
    let query = send(addr, request("QUERY", "/payments")).await;
    assert_error(&query, 405, "method_not_allowed");
    assert!(query.headers.contains_key("allow"));
    assert_error(&send(addr, request("QUERY", "/")).await, 404, "not_found");
    assert_error(
        &send(addr, request("GET", "/nowhere")).await,
        404,
        "not_found",
    );
}

#[tokio::test]
async fn head_and_options_follow_the_policy() {
    let addr = start().await;
    let head = send(addr, request("HEAD", "/payments")).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    let options = send(addr, request("OPTIONS", "/notes/5")).await;
    assert_eq!(options.status, StatusCode::NO_CONTENT);
    assert_eq!(options.headers["allow"], "GET, HEAD, OPTIONS");
    assert!(options.body.is_empty());
    let options = send(addr, request("OPTIONS", "/admin/maintenance")).await;
    assert_eq!(options.headers["allow"], "PUT, DELETE, OPTIONS");
    // HEAD of a 405 has the GET's headers and no body.
    let head = send(addr, request("HEAD", "/admin/maintenance")).await;
    assert_eq!(head.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(head.headers["allow"], "PUT, DELETE, OPTIONS");
    assert!(head.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_handlers_past_the_deadline_are_504() {
    let settings = app::Settings {
        timeout: Duration::from_millis(50),
        ..app::Settings::default()
    };
    let (addr, _demo) = served(settings).await;
    assert_error(
        &send(addr, request("GET", "/slow?ms=60000")).await,
        504,
        "gateway_timeout",
    );
    let fast = send(addr, request("GET", "/slow?ms=0")).await;
    assert_eq!(fast.status, StatusCode::OK);
}

#[tokio::test]
async fn panics_are_500_without_the_panic_text() {
    let reply = send(start().await, request("GET", "/panic")).await;
    assert_error(&reply, 500, "internal_error");
    assert!(!String::from_utf8_lossy(&reply.body).contains("secret-internal-state"));
}

#[tokio::test]
async fn private_is_401_403_200() {
    let addr = start().await;
    let anonymous = send(addr, request("GET", "/private")).await;
    assert_eq!(anonymous.headers["www-authenticate"], "Bearer");
    assert_error(&anonymous, 401, "unauthorized");
    assert_error(
        &send(addr, with_token("GET", "/private", "wrong")).await,
        403,
        "forbidden",
    );
    let allowed = send(addr, with_token("GET", "/private", app::TOKEN)).await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn maintenance_is_switched_by_the_admin_routes() {
    let (addr, demo) = served(app::Settings::default()).await;
    assert_error(
        &send(addr, request("PUT", "/admin/maintenance")).await,
        401,
        "unauthorized",
    );
    assert_error(
        &send(addr, with_token("PUT", "/admin/maintenance", "wrong")).await,
        403,
        "forbidden",
    );
    let on = send(addr, with_token("PUT", "/admin/maintenance", app::TOKEN)).await;
    assert_eq!(on.status, StatusCode::OK);
    assert!(demo.maintenance.is_enabled());

    let reply = send(addr, request("GET", "/payments")).await;
    assert_eq!(reply.headers["retry-after"], "1");
    assert_error(&reply, 503, "maintenance");
    assert_eq!(
        send(addr, request("GET", "/health")).await.status,
        StatusCode::OK
    );

    let off = send(addr, with_token("DELETE", "/admin/maintenance", app::TOKEN)).await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(
        send(addr, request("GET", "/payments")).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_max_in_flight_are_503() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(2),
        timeout: Duration::from_secs(60),
        retry_after: Duration::from_secs(4),
        ..app::Settings::default()
    };
    let (addr, demo) = served(settings).await;
    let slow: Vec<_> = (0..2)
        .map(|_| tokio::spawn(send(addr, request("GET", "/slow?ms=60000"))))
        .collect();
    while demo.in_flight.current() < 2 {
        tokio::task::yield_now().await;
    }
    // /health is critical: never refused by the limit.
    let health = send(addr, request("GET", "/health")).await;
    assert_eq!(health.status, StatusCode::OK);
    let reply = send(addr, request("GET", "/payments")).await;
    assert_eq!(reply.headers["retry-after"], "4");
    assert_eq!(assert_error(&reply, 503, "overloaded")["retry_after"], 4);
    for task in slow {
        task.abort();
    }
}

#[tokio::test]
async fn reports_read_the_database_and_honour_the_deadline_header() {
    let addr = start().await;
    let reply = send(addr, request("GET", "/reports/7/result")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["result"], "complete");
    let deadline = |value: &str| {
        Request::get("/reports/7/result")
            .header(app::DEADLINE_HEADER, value)
            .body(Full::<Bytes>::default())
            .unwrap()
    };
    assert_error(&send(addr, deadline("0")).await, 504, "gateway_timeout");
    assert_error(&send(addr, deadline("soon")).await, 400, "bad_request");
    assert_eq!(send(addr, deadline("2000")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_adaptive_demo_serves_and_a_drain_answers_shutting_down() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Auto,
        ..app::Settings::default()
    };
    let (addr, demo) = served(settings).await;
    assert!(demo.in_flight.is_adaptive());
    assert_eq!(
        send(addr, request("GET", "/reports/1/result")).await.status,
        StatusCode::OK
    );
    demo.drain.trigger();
    for path in ["/health", "/reports/1/result", "/payments"] {
        let reply = send(addr, request("GET", path)).await;
        assert_error(&reply, 503, "shutting_down");
        assert_eq!(reply.headers["connection"], "close");
        assert_eq!(reply.headers["retry-after"], "1");
    }
    assert_eq!(demo.drain.in_flight(), 0);
}

/// The media types the demo answers errors in.
const SHAPES: &[&str] = &[
    "application/json",
    "application/problem+json",
    "application/vnd.google.rpc.status+json",
    "application/vnd.api+json",
];

/// Every answer of the demo in every shape: the methods and paths of the property below, the
/// bodies `POST /notes` refuses, tokens, an echoed `x-request-id`, maintenance and the drain,
/// each error body valid against its shape's schema. With `AIP193_ANSWERS=FILE`, the AIP-193
/// bodies are written to FILE, one a line, for `.ci/aip193.sh` to read with the
/// `googleapis-common-protos` definitions.
#[tokio::test]
async fn every_answer_in_every_shape_is_valid_against_its_schema() {
    use properties::{METHODS, PATHS};
    let demo = app::demo(&app::Settings::default());
    let mut aip193 = Vec::new();
    let mut answered = std::collections::BTreeSet::new();
    for phase in ["serving", "maintenance", "draining"] {
        match phase {
            "maintenance" => demo.maintenance.enable(),
            "draining" => {
                demo.maintenance.disable();
                demo.drain.trigger();
            }
            _ => {}
        }
        for shape in SHAPES {
            let mut requests = Vec::new();
            for method in METHODS {
                for path in PATHS {
                    requests.push(
                        Request::builder()
                            .method(*method)
                            .uri(*path)
                            .body(Full::<Bytes>::default())
                            .unwrap(),
                    );
                }
            }
            for body in [
                r#"{"body":"no customer"}"#,
                r#"{"customer_id":"#,
                r#"{"customer_id":"x","body":"b"}"#,
                r#"{"customer_id":3.5,"body":"b"}"#,
            ] {
                requests.push(json_post("/notes", body));
            }
            requests.push(with_token("GET", "/private", "wrong"));
            requests.push(common::request("GET", "/panic"));
            if phase == "serving" {
                // Past the demo's deadline.
                requests.push(common::request("GET", "/slow?ms=60000"));
            }
            let mut traced = common::request("GET", "/notes/1");
            traced
                .headers_mut()
                .insert("x-request-id", "every-shape-1".parse().unwrap());
            requests.push(traced);
            for mut request in requests {
                request
                    .headers_mut()
                    .insert("accept", shape.parse().unwrap());
                let (method, uri) = (request.method().clone(), request.uri().clone());
                let reply = common::call(demo.service.clone(), request).await;
                if reply.status.as_u16() < 400 || method == "HEAD" {
                    continue;
                }
                assert_eq!(reply.headers["content-type"], *shape, "{method} {uri}");
                let body = reply.error_body();
                answered.insert((*shape, reply.status.as_u16()));
                if *shape == SHAPES[2] {
                    aip193.push(body.to_string());
                }
            }
        }
    }
    for shape in SHAPES {
        for status in [400, 401, 403, 404, 405, 415, 422, 500, 501, 503, 504] {
            assert!(
                answered.contains(&(*shape, status)),
                "no {status} in {shape}"
            );
        }
    }
    if let Some(file) = std::env::var_os("AIP193_ANSWERS") {
        std::fs::write(file, aip193.join("\n") + "\n").unwrap();
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    pub(super) const METHODS: &[&str] = &[
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW", "get",
        "QUERY", "M-SEARCH",
    ];
    pub(super) const PATHS: &[&str] = &[
        "/",
        "/health",
        "/notes",
        "/notes/11027",
        "/notes/x",
        "/reports/1/result",
        "/reports//result",
        "/payments",
        "/payments/",
        "/private",
        "/admin/maintenance",
        "/nowhere",
        "/%2e%2e/etc",
        "/slow?ms=1",
    ];
    /// Every status the demo documents.
    const DOCUMENTED: &[u16] = &[
        200, 201, 204, 400, 401, 403, 404, 405, 415, 422, 500, 501, 503, 504,
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn every_answer_is_documented_and_valid(
            method in prop::sample::select(METHODS),
            path in prop::sample::select(PATHS),
            suffix in "[a-z0-9/._-]{0,12}",
            shape in prop::sample::select(SHAPES),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let demo = app::demo(&app::Settings::default());
            let uri = if path.contains('?') { path.to_owned() } else { format!("{path}{suffix}") };
            let req = Request::builder().method(method).uri(&uri).header("accept", shape).body(Full::<Bytes>::default()).unwrap();
            let reply = runtime.block_on(common::call(demo.service, req));
            prop_assert!(DOCUMENTED.contains(&reply.status.as_u16()), "{method} {uri}: {}", reply.status);
            if reply.status == StatusCode::METHOD_NOT_ALLOWED {
                prop_assert!(reply.headers.contains_key("allow"));
            }
            if method == "HEAD" {
                prop_assert!(reply.body.is_empty(), "HEAD {uri} has a body");
            } else if reply.status.as_u16() >= 400 {
                prop_assert_eq!(reply.headers["content-type"].to_str().unwrap(), shape);
                let body = reply.error_body();
                if reply.status == StatusCode::METHOD_NOT_ALLOWED && shape.ends_with("/json") {
                    prop_assert!(body["allowed"].is_array());
                }
            }
        }
    }
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_before_it_is_sent() {
    let addr = start().await;
    let head = format!(
        "POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app::MAX_BODY * 100
    );
    // Nothing but the head is sent: the answer cannot wait for the body (nor for the deadline).
    let head = common::raw_http1(addr, &head).await;
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
}

/// A client that sends part of its body and stalls is told it was slow: `408`, not a `504`
/// that blames the server (the demo has `SlowClientLayer` inside). Paused clock: the 2 s
/// deadline passes without a wait.
#[tokio::test(start_paused = true)]
async fn a_stalled_upload_is_408() {
    let addr = start().await;
    let head = common::raw_http1(
        addr,
        "POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await;
    assert!(head.starts_with("http/1.1 408"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
}

/// The note store keeps at most `MAX_NOTES`: the oldest goes first.
#[tokio::test]
async fn the_note_store_is_bounded() {
    use tower::ServiceExt;
    let demo = app::demo(&app::Settings::default());
    let mut ids = Vec::new();
    for _ in 0..=app::MAX_NOTES {
        let req = http::Request::post("/notes")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(r#"{"customer_id":1,"body":"x"}"#))
            .unwrap();
        let reply = common::collect(demo.service.clone().oneshot(req).await.unwrap()).await;
        assert_eq!(reply.status, StatusCode::CREATED);
        ids.push(reply.json()["id"].as_u64().unwrap());
    }
    let get = |id: u64| {
        let req = http::Request::get(format!("/notes/{id}"))
            .body(axum::body::Body::empty())
            .unwrap();
        demo.service.clone().oneshot(req)
    };
    let oldest = common::collect(get(ids[0]).await.unwrap()).await;
    assert_eq!(oldest.status, StatusCode::NOT_FOUND);
    for &id in &ids[1..] {
        let kept = common::collect(get(id).await.unwrap()).await;
        assert_eq!(kept.status, StatusCode::OK, "note {id}");
    }
}

#[tokio::test]
async fn openapi_json_documents_every_route_and_what_the_layer_answers() {
    let addr = start().await;
    let reply = send(addr, request("GET", "/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let doc = reply.json();
    // Every route is documented, and nothing else.
    let mut documented: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort_unstable();
    assert_eq!(
        documented,
        [
            "/admin/maintenance",
            "/health",
            "/metrics",
            "/notes",
            "/notes/{id}",
            "/openapi.json",
            "/panic",
            "/payments",
            "/private",
            "/reports/{id}/result",
            "/slow",
        ]
    );
    // The planned methods of the declaration, as 501 operations with their resource's Allow.
    for (path, method, allow) in [
        ("/notes", "get", "^POST, OPTIONS$"),
        ("/notes/{id}", "put", "^GET, HEAD, OPTIONS$"),
        ("/notes/{id}", "delete", "^GET, HEAD, OPTIONS$"),
        ("/payments", "post", "^GET, HEAD, OPTIONS$"),
    ] {
        let not_implemented = &doc["paths"][path][method]["responses"]["501"];
        assert_eq!(
            not_implemented["headers"]["Allow"]["schema"]["pattern"], allow,
            "{method} {path}"
        );
    }
    // The demo's deadline, limit and maintenance: 500, 503 and 504 on every operation; 401 where
    // a token is needed.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["500", "503", "504"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
            let secured = operation.get("security").is_some();
            assert_eq!(responses.contains_key("401"), secured, "{method} {path}");
        }
    }
    assert_eq!(
        doc["components"]["schemas"]["ApiError"]["properties"]["errors"]["items"]["required"],
        serde_json::json!(["pointer", "detail"])
    );
}

/// Without the crate's `metrics` feature the layer counts nothing: `/metrics` says so, in an
/// error body naming the feature, rather than answering an empty 200.
#[cfg(not(feature = "metrics"))]
#[tokio::test]
async fn metrics_without_the_feature_name_it() {
    let addr = start().await;
    let reply = send(addr, request("GET", "/metrics")).await;
    assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED);
    let body = reply.error_body();
    assert_eq!(body["error"], "metrics_disabled");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("--features metrics"));
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let addr = start().await;
    let reply = send(addr, request("GET", "/metrics")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    // What the layer answered is counted there.
    {
        let missing = send(addr, request("GET", "/notes/999999")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        let planned = send(addr, request("POST", "/payments")).await;
        assert_eq!(planned.status, StatusCode::NOT_IMPLEMENTED);
        let text =
            String::from_utf8(send(addr, request("GET", "/metrics")).await.body.to_vec()).unwrap();
        for line in [
            "api_errors_total{status=\"501\",error=\"not_implemented\"}",
            // Other tests of this process set other limits: only the type is certain.
            "# TYPE api_concurrency_limit gauge",
            "# TYPE api_in_flight gauge",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
    }
}

/// The demo under `--max-in-flight auto` keeps `GET /payments` answering 200 while
/// `/reports/1234/result` is offered 5× its database's capacity (4 connections × 10 ms): one
/// adaptive limit per resource of its route table. On the paused clock, deterministic.
#[tokio::test(start_paused = true)]
async fn the_adaptive_demo_keeps_payments_answering_while_reports_are_overloaded() {
    use simulation::{open_loop, Client, Phase, Recorder, View};
    use tower::ServiceExt;

    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Auto,
        db_pool: 4,
        db_time: Duration::from_millis(10),
        ..app::Settings::default()
    };
    let demo = app::demo(&settings);
    let service =
        ServiceExt::<http::Request<axum::body::Body>>::map_response(demo.service.clone(), |r| {
            r.map(axum::body::Body::new)
        });
    let app = tower::util::BoxCloneSyncService::new(service);
    let recorder = Recorder::default();
    let start = tokio::time::Instant::now();
    let phase = |rate, secs| Phase {
        rate,
        length: Duration::from_secs(secs),
    };
    let clients = Client::named("clients");
    let reports = open_loop(
        &app,
        "/reports/1234/result",
        clients,
        vec![phase(2000.0, 6)],
        1,
        &recorder,
    );
    let payments = open_loop(
        &app,
        "/payments",
        clients,
        vec![phase(200.0, 6)],
        2,
        &recorder,
    );
    reports.await.unwrap();
    payments.await.unwrap();
    let outcomes = recorder.outcomes();
    let end = start + Duration::from_secs(6);
    let payments = View::of(&outcomes, "/payments", start, end);
    let reports = View::of(
        &outcomes,
        "/reports/1234/result",
        start + Duration::from_secs(1),
        end,
    );
    assert!(payments.total() > 1_000);
    assert_eq!(payments.ok(), payments.total(), "{:?}", payments.others());
    assert!(reports.refused() > 0, "the reports were overloaded");
    // The reports still get their database's capacity, 400 a second.
    assert!(reports.goodput(Duration::from_secs(5)) >= 360.0);
    let load = demo
        .in_flight
        .resource(Some("/reports/{id}/result"))
        .unwrap();
    assert!((4..=8).contains(&load.limit), "{load:?}");
    let payments_load = demo.in_flight.resource(Some("/payments")).unwrap();
    assert_eq!(payments_load.current, 0);
}
