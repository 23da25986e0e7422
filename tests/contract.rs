//! The failure table of DESIGN.md, row by row, through an axum Router and a bare
//! `service_fn`, in process. Every error body is validated against `schema/`.

#[path = "support/apps.rs"]
mod apps;
mod common;

use std::time::Duration;

use apps::{apps, Live};
use axum::body::Body;
use common::{call, Reply};
use http::{Request, StatusCode};
use tower::{Layer, Service, ServiceExt};
use tower_api_errors::overload::Limit;
use tower_api_errors::{ApiErrorLayer, Format};

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

async fn each(
    layer: &ApiErrorLayer,
    req: impl Fn() -> Request<Body>,
) -> Vec<(&'static str, Reply)> {
    let mut replies = Vec::new();
    for (name, app) in apps(layer, &Live::default()) {
        replies.push((name, call(app, req()).await));
    }
    replies
}

#[tokio::test]
async fn success_passes_through_untouched() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/hello")).await {
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.body, "hello", "{name}");
    }
}

#[tokio::test]
async fn domain_errors_are_rendered_by_the_layer() {
    let layer = ApiErrorLayer::new();
    let req = || {
        Request::get("/domain")
            .header("x-request-id", "4f1c2e9a")
            .body(Body::empty())
            .unwrap()
    };
    for (name, reply) in each(&layer, req).await {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        let body = reply.error_body();
        assert_eq!(body["ok"], false);
        assert_eq!(body["error"], "missing_parameter", "{name}");
        assert_eq!(body["message"], "Bad Request");
        assert_eq!(body["param"], "customer_id");
        // The layer, not the handler, adds the request id.
        assert_eq!(body["request_id"], "4f1c2e9a", "{name}");
    }
    // A service_fn may also answer with `Response::from(ApiError)`.
    let (_, app) = apps(&layer, &Live::default()).into_iter().nth(1).unwrap();
    let reply = call(app, req().map(|_| Body::empty())).await;
    assert_eq!(reply.error_body()["error"], "missing_parameter");
    let mut domain_response = req();
    *domain_response.uri_mut() = "/domain-response".parse().unwrap();
    let (_, app) = apps(&layer, &Live::default()).into_iter().nth(1).unwrap();
    let body = call(app, domain_response).await.error_body();
    assert_eq!(body["param"], "customer_id");
    assert_eq!(body["request_id"], "4f1c2e9a");
}

#[tokio::test]
async fn empty_error_responses_get_the_canonical_body() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/missing")).await {
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{name}");
        let body = reply.error_body();
        assert_eq!(body["error"], "not_found");
        assert_eq!(body["message"], "Not Found");
        assert_eq!(
            body["detail"],
            "You requested a resource that doesn't exist."
        );
        assert!(body.get("request_id").is_none());
    }
}

#[tokio::test]
async fn short_4xx_text_becomes_detail_but_5xx_text_never_does() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/text400")).await {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(
            reply.error_body()["detail"],
            "customer_id must be positive",
            "{name}"
        );
    }
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/text500")).await {
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
        let body = reply.error_body();
        assert_eq!(body["message"], "Server Error");
        assert_eq!(body["error"], "internal_error");
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("hunter2"),
            "{name}"
        );
    }
}

#[tokio::test]
async fn json_error_responses_pass_untouched() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/json409")).await {
        assert_eq!(reply.status, StatusCode::CONFLICT, "{name}");
        assert_eq!(reply.json(), serde_json::json!({"own": "format"}), "{name}");
    }
}

#[tokio::test]
async fn normalization_keeps_every_header_but_the_bodys() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/headers")).await {
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert_eq!(reply.headers["retry-after"], "7");
        assert_eq!(reply.headers["access-control-allow-origin"], "*");
        assert_eq!(reply.headers["x-request-id"], "abc");
        assert_eq!(reply.headers["x-custom"], "kept");
        assert_eq!(reply.headers["content-type"], "application/json");
        let body = reply.error_body();
        assert_eq!(body["error"], "too_many_requests");
        assert_eq!(body["retry_after"], 7);
        // An HTML body is no detail.
        assert!(!body["detail"].as_str().unwrap().contains("<h1>"));
    }
}

#[tokio::test]
async fn a_401_without_challenge_gets_one() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/unauth")).await {
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(reply.headers["www-authenticate"], "Bearer", "{name}");
        assert_eq!(reply.error_body()["error"], "unauthorized");
    }
    let layer = ApiErrorLayer::new().challenge(http::HeaderValue::from_static("Basic realm=\"x\""));
    for (_, reply) in each(&layer, || get("/unauth")).await {
        assert_eq!(reply.headers["www-authenticate"], "Basic realm=\"x\"");
    }
}

#[tokio::test]
async fn head_gets_the_same_status_and_headers_and_no_body() {
    let layer = ApiErrorLayer::new();
    let gets = each(&layer, || get("/missing")).await;
    let heads = each(&layer, || {
        Request::head("/missing").body(Body::empty()).unwrap()
    })
    .await;
    for ((name, get), (_, head)) in gets.iter().zip(&heads) {
        assert_eq!(head.status, get.status, "{name}");
        assert_eq!(head.headers, get.headers, "{name}");
        assert!(head.body.is_empty(), "{name}");
        assert!(!get.body.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn panics_become_500_without_their_text() {
    for (name, reply) in each(&ApiErrorLayer::new(), || get("/panic")).await {
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{name}");
        assert_eq!(reply.error_body()["error"], "internal_error");
        assert!(
            !String::from_utf8_lossy(&reply.body).contains("hunter2"),
            "{name}"
        );
    }
    // A panic in `call` itself, before any future exists.
    let (_, app) = apps(&ApiErrorLayer::new(), &Live::default())
        .into_iter()
        .nth(1)
        .unwrap();
    let reply = call(app, get("/panic-call")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!String::from_utf8_lossy(&reply.body).contains("hunter2"));
}

async fn service_fn_reply(layer: &ApiErrorLayer, uri: &str) -> Reply {
    let (_, app) = apps(layer, &Live::default()).into_iter().nth(1).unwrap();
    call(app, get(uri)).await
}

#[tokio::test]
async fn inner_timeout_errors_are_504() {
    for uri in ["/io-timeout", "/elapsed"] {
        let reply = service_fn_reply(&ApiErrorLayer::new(), uri).await;
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{uri}");
        let body = reply.error_body();
        assert_eq!(body["error"], "gateway_timeout");
        assert_eq!(body["message"], "Gateway Timeout");
        assert!(!String::from_utf8_lossy(&reply.body).contains("hunter2"));
    }
}

#[tokio::test]
async fn inner_overload_is_503_with_retry_after() {
    let reply = service_fn_reply(&ApiErrorLayer::new(), "/overloaded").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "1");
    let body = reply.error_body();
    assert_eq!(body["error"], "overloaded");
    assert_eq!(body["retry_after"], 1);
}

#[tokio::test]
async fn other_inner_errors_are_500_without_their_text() {
    let reply = service_fn_reply(&ApiErrorLayer::new(), "/secret-error").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error_body()["error"], "internal_error");
    assert!(!String::from_utf8_lossy(&reply.body).contains("hunter2"));
}

#[tokio::test]
async fn a_custom_classifier_decides_inner_errors() {
    let layer = ApiErrorLayer::new().classify_errors(|error: tower::BoxError| {
        tower_api_errors::ApiError::new(StatusCode::BAD_GATEWAY).with(
            "kind",
            if error.to_string().contains("hunter2") {
                "secret"
            } else {
                "other"
            },
        )
    });
    let app = tower::Layer::layer(&layer, apps::service_fn(Live::default()));
    let reply = call(app, get("/secret-error")).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY);
    let body = reply.error_body();
    assert_eq!(body["error"], "bad_gateway");
    assert_eq!(body["kind"], "secret");
}

#[tokio::test]
async fn unrecognized_methods_are_501_on_any_path() {
    for method in ["BREW", "get", "FOO"] {
        let req = || {
            Request::builder()
                .method(method)
                .uri("/hello")
                .body(Body::empty())
                .unwrap()
        };
        for (name, reply) in each(&ApiErrorLayer::new(), req).await {
            assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{name} {method}");
            let body = reply.error_body();
            assert_eq!(body["error"], "not_implemented");
            // One fixed answer: nothing a scanner sends is echoed.
            assert_eq!(
                body["detail"],
                "The request's method is not one this server recognizes."
            );
        }
    }
    // QUERY is recognized by default (it reaches the inner service), and recognizing a
    // method lets it through too.
    for (name, reply) in each(&ApiErrorLayer::new(), || {
        Request::builder()
            .method("QUERY")
            .uri("/hello")
            .body(Body::empty())
            .unwrap()
    })
    .await
    {
        assert_ne!(reply.status, StatusCode::NOT_IMPLEMENTED, "{name}");
    }
    let query = http::Method::from_bytes(b"PURGE").unwrap();
    let layer = ApiErrorLayer::new().recognize_method(query.clone());
    let req = || {
        Request::builder()
            .method(query.clone())
            .uri("/hello")
            .body(Body::empty())
            .unwrap()
    };
    for (name, reply) in each(&layer, req).await {
        assert_ne!(reply.status, StatusCode::NOT_IMPLEMENTED, "{name}");
    }
}

#[tokio::test]
async fn problem_json_by_accept_or_configuration() {
    let req = || {
        Request::get("/missing?q=1")
            .header("accept", "application/problem+json")
            .header("x-request-id", "r-1")
            .body(Body::empty())
            .unwrap()
    };
    for (name, reply) in each(&ApiErrorLayer::new(), req).await {
        assert_eq!(
            reply.headers["content-type"], "application/problem+json",
            "{name}"
        );
        let body = reply.error_body();
        assert_eq!(body["type"], "about:blank");
        assert_eq!(body["title"], "Not Found");
        assert_eq!(body["instance"], "/missing");
        assert_eq!(body["error"], "not_found");
        assert_eq!(body["request_id"], "r-1");
    }
    let layer = ApiErrorLayer::new()
        .format(Format::Problem)
        .problem_type_base("https://api.example.com/problems/");
    for (name, reply) in each(&layer, || get("/domain")).await {
        let body = reply.error_body();
        assert_eq!(
            body["type"], "https://api.example.com/problems/missing_parameter",
            "{name}"
        );
        assert_eq!(body["param"], "customer_id");
    }
    // An explicit preference for plain JSON wins over the configured default.
    let json = || {
        Request::get("/missing")
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap()
    };
    for (_, reply) in each(&layer, json).await {
        assert_eq!(reply.headers["content-type"], "application/json");
        reply.error_body();
    }
}

#[tokio::test]
async fn unsafe_request_ids_are_not_echoed() {
    for id in ["a b", "<script>", &"x".repeat(65), "\"quoted\""] {
        let req = || {
            Request::get("/missing")
                .header("x-request-id", id)
                .body(Body::empty())
                .unwrap()
        };
        for (name, reply) in each(&ApiErrorLayer::new(), req).await {
            assert!(
                reply.error_body().get("request_id").is_none(),
                "{name} {id}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_deadline_gives_504_and_drops_the_handler_at_once() {
    let live = Live::default();
    let layer = ApiErrorLayer::new().timeout(Duration::from_secs(2));
    for (name, mut app) in apps(&layer, &live) {
        let started = tokio::time::Instant::now();
        let future = app.ready().await.unwrap().call(get("/slow"));
        let mut future = std::pin::pin!(future);
        let response = future.as_mut().await.unwrap();
        // On the paused clock the deadline elapses exactly, not "about".
        assert_eq!(started.elapsed(), Duration::from_secs(2), "{name}");
        // The handler was cancelled when the deadline passed, while the response future is
        // still alive.
        assert_eq!(live.count(), 0, "{name}");
        let reply = common::collect(response).await;
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{name}");
        assert_eq!(reply.error_body()["error"], "gateway_timeout");
    }
}

#[tokio::test(start_paused = true)]
async fn handlers_within_the_deadline_are_untouched() {
    let layer = ApiErrorLayer::new().timeout(Duration::from_secs(11));
    for (name, reply) in each(&layer, || get("/slow")).await {
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert_eq!(reply.body, "slow");
    }
}

#[tokio::test]
async fn overload_maintenance_and_method_policy_hold_for_both_services() {
    // A limit of zero admits nothing: every request is over it.
    for (name, reply) in each(&ApiErrorLayer::new().limit(Limit::fixed(0)), || {
        get("/hello")
    })
    .await
    {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(reply.headers["retry-after"], "1");
        assert_eq!(reply.error_body()["error"], "overloaded");
    }

    let maintenance = tower_api_errors::overload::Maintenance::builder()
        .retry_after(Duration::from_secs(30))
        .build();
    let layer = ApiErrorLayer::new().maintenance(maintenance.clone());
    maintenance.enable();
    for (name, reply) in each(&layer, || get("/hello")).await {
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(reply.headers["retry-after"], "30");
        assert_eq!(reply.error_body()["error"], "maintenance");
    }

    let policy = tower_api_errors::policy::MethodPolicy::builder()
        .resource(
            "/hello",
            tower_api_errors::policy::Resource::allow([http::Method::GET])
                .plan([http::Method::PUT])
                .refuse([http::Method::POST]),
        )
        .build()
        .unwrap();
    let layer = ApiErrorLayer::new().method_policy(policy);
    let method = |m: &'static str| {
        move || {
            Request::builder()
                .method(m)
                .uri("/hello")
                .body(Body::empty())
                .unwrap()
        }
    };
    for (name, reply) in each(&layer, method("POST")).await {
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
        assert_eq!(reply.headers["allow"], "GET, HEAD, OPTIONS");
        assert_eq!(reply.error_body()["error"], "method_not_allowed");
    }
    for (name, reply) in each(&layer, method("PUT")).await {
        assert_eq!(reply.status, StatusCode::NOT_IMPLEMENTED, "{name}");
        assert_eq!(reply.headers["cache-control"], "no-store");
        assert_eq!(
            reply.error_body()["allowed"],
            serde_json::json!(["GET", "HEAD", "OPTIONS"])
        );
    }
    for (name, reply) in each(&layer, method("GET")).await {
        assert_eq!(reply.body, "hello", "{name}");
    }
}

#[tokio::test]
async fn an_encoded_text_body_is_not_read_as_detail() {
    let gzip = tower::service_fn(|_req: Request<Body>| async {
        let response = http::Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "text/plain")
            .header("content-encoding", "gzip")
            .body(http_body_util::Full::from(&[0x1f_u8, 0x8b, 0x08, 0x00][..]))
            .unwrap();
        Ok::<_, std::convert::Infallible>(response)
    });
    let reply = call(tower::Layer::layer(&ApiErrorLayer::new(), gzip), get("/")).await;
    assert!(!reply.headers.contains_key("content-encoding"));
    assert_eq!(
        reply.error_body()["detail"],
        "The request was unacceptable, often due to missing a required parameter."
    );
    assert_eq!(reply.headers["vary"], "accept");
}

/// Whatever a handler passes, what leaves conforms to the published schemas: a 3 000-character
/// detail is cut at 2 048 characters on a character boundary, a code that is not snake_case is
/// rewritten, an empty field detail still says something; each correction is a warning that
/// names the call.
#[test]
fn handler_input_never_leaves_the_schema() {
    use tower_api_errors::{ApiError, FieldError};

    let long_path = "é/".repeat(1_500);
    let (replies, logs) = common::captured_logs(async move {
        let handler = move |_req: Request<Body>| {
            let detail = format!("There is no file {long_path}.");
            async move {
                let error = ApiError::not_found()
                    .with_code("Payment Not Found!")
                    .with_detail(detail);
                Err::<http::Response<Body>, _>(error)
            }
        };
        let long = call(
            ApiErrorLayer::new().layer(tower::service_fn(handler)),
            get("/f"),
        )
        .await;
        let fields = tower::service_fn(|_req: Request<Body>| async {
            let error = ApiError::invalid_params([FieldError::new(["name"], "")]).with_detail("");
            Err::<http::Response<Body>, _>(error)
        });
        let fields = call(ApiErrorLayer::new().layer(fields), get("/f")).await;
        let problem = tower::service_fn(|_req: Request<Body>| async {
            let error = ApiError::not_found().with_detail("x".repeat(5_000));
            Err::<http::Response<Body>, _>(error)
        });
        let layer = ApiErrorLayer::new().format(Format::Problem);
        let problem = call(layer.layer(problem), get("/f")).await;
        (long, fields, problem)
    });
    let (long, fields, problem) = replies;
    let body = long.error_body();
    common::assert_valid(&body);
    assert_eq!(body["error"], "payment_not_found");
    let detail = body["detail"].as_str().unwrap();
    assert_eq!(detail.chars().count(), 2_048);
    assert!(detail.starts_with("There is no file é/é/") && detail.ends_with('…'));
    let body = fields.error_body();
    common::assert_valid(&body);
    assert_eq!(body["errors"][0]["detail"], "Invalid value.");
    assert!(!body["detail"].as_str().unwrap().is_empty());
    let body = problem.json();
    common::assert_valid_problem(&body);
    assert_eq!(body["detail"].as_str().unwrap().chars().count(), 2_048);
    for call in [
        "ApiError::with_detail",
        "ApiError::with_code",
        "FieldError::new",
    ] {
        assert!(logs.contains(call), "no warning names {call}: {logs}");
    }
}

/// `Retry-After: 0` tells every refused client to come back at once: a fixed limit, maintenance
/// and a drain configured with zero send 1 s.
#[tokio::test]
async fn retry_after_is_never_zero() {
    use tower_api_errors::overload::{Drain, Maintenance};

    let ok = || {
        tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::empty()))
        })
    };
    let full = ApiErrorLayer::new().limit(Limit::fixed(0).retry_after(Duration::ZERO));
    let maintenance = Maintenance::builder().retry_after(Duration::ZERO).build();
    let switched = ApiErrorLayer::new().maintenance(maintenance.clone());
    maintenance.enable();
    let drain = Drain::with_retry_after(Duration::ZERO);
    let draining = ApiErrorLayer::new().drain(drain.clone());
    drain.trigger();
    for (name, layer) in [
        ("limit", full),
        ("maintenance", switched),
        ("drain", draining),
    ] {
        let reply = call(layer.layer(ok()), get("/")).await;
        assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert_eq!(reply.headers["retry-after"], "1", "{name}");
        let body = reply.error_body();
        common::assert_valid(&body);
        assert_eq!(body["retry_after"], 1, "{name}");
    }
}
