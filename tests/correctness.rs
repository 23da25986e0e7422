//! Every error rendered once with the layer's settings, nothing of a replaced body survives,
//! error bodies never stall or tear the answer: the regressions of the 0.1 review, each named
//! after the behaviour it holds.

mod common;

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use common::{call, captured_logs, collect, raw_http1, request, send, send_h2, serve, Reply};
use http::header::{ACCEPT, CONTENT_TYPE, TRANSFER_ENCODING, VARY, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tower::{service_fn, Layer, ServiceBuilder, ServiceExt};
use tower_api_errors::classify::BoxError;
use tower_api_errors::overload::{SlowClientLayer, WatchedBody};
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::{ApiError, ApiErrorLayer};

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A service that answers every request with `response()`.
fn answering(
    response: fn() -> Response<Full<Bytes>>,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req: Request<Body>| async move { Ok::<_, Infallible>(response()) })
}

// --- 1. rendered once --------------------------------------------------------------------------

fn handler_errors() -> Router {
    Router::new()
        .route(
            "/missing",
            get(|| async { Err::<(), _>(ApiError::not_found()) }),
        )
        .route(
            "/login",
            get(|| async { Err::<(), _>(ApiError::new(StatusCode::UNAUTHORIZED)) }),
        )
        .route(
            "/realm",
            get(|| async { Err::<(), _>(ApiError::unauthorized("Bearer realm=\"api\"")) }),
        )
        .route(
            // A challenge from configuration that is no header value: no panic in the
            // handler, and the 401 still carries a challenge, the layer's.
            "/bad-realm",
            get(|| async {
                let realm = String::from("staff\nX-Injected: 1");
                Err::<(), _>(ApiError::unauthorized(format!("Basic realm=\"{realm}\"")))
            }),
        )
        .route(
            "/chunked",
            get(|| async {
                Err::<(), _>(
                    ApiError::bad_request()
                        .with_header(TRANSFER_ENCODING, HeaderValue::from_static("chunked")),
                )
            }),
        )
}

#[tokio::test]
async fn a_handler_error_is_rendered_once_with_one_vary() {
    let addr = serve(ApiErrorLayer::new().layer(handler_errors())).await;
    let reply = send(addr, request("GET", "/missing")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.headers.get_all(VARY).iter().count(), 1);
    assert_eq!(reply.headers[VARY], "accept");
    assert_eq!(reply.error_body()["error"], "not_found");
}

#[tokio::test]
async fn without_negotiation_a_handler_error_has_no_vary() {
    let app = ApiErrorLayer::new()
        .negotiate_format(false)
        .layer(handler_errors());
    let reply = call(app, get_req("/missing")).await;
    assert!(!reply.headers.contains_key(VARY), "{reply:?}");
    reply.error_body();
}

#[tokio::test]
async fn the_layers_challenge_reaches_a_handlers_401() {
    let app = ApiErrorLayer::new()
        .challenge(HeaderValue::from_static("Basic realm=\"staff\""))
        .layer(handler_errors());
    let reply = call(app.clone(), get_req("/login")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = reply.headers.get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(challenges, ["Basic realm=\"staff\""]);
    reply.error_body();
    // A challenge the handler chose is its own.
    let reply = call(app.clone(), get_req("/realm")).await;
    assert_eq!(reply.headers[WWW_AUTHENTICATE], "Bearer realm=\"api\"");
    // One that is not a header value gives way to the layer's.
    let reply = call(app, get_req("/bad-realm")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<_> = reply.headers.get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(challenges, ["Basic realm=\"staff\""]);
    assert!(!reply.headers.contains_key("x-injected"));
}

#[tokio::test]
async fn middleware_inside_the_layer_keeps_its_status_and_headers() {
    let gone = axum::middleware::map_response(|mut response: axum::response::Response| async {
        if response.status() == StatusCode::NOT_FOUND {
            *response.status_mut() = StatusCode::GONE;
            response
                .headers_mut()
                .insert("x-archived", HeaderValue::from_static("2025"));
        }
        response
    });
    let app = ApiErrorLayer::new().layer(handler_errors().layer(gone));
    let reply = call(app, get_req("/missing")).await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert_eq!(reply.headers["x-archived"], "2025");
    let body = reply.error_body();
    assert_eq!(body["error"], "gone");
    assert_eq!(body["message"], "Gone");
}

// --- 2. nothing of a replaced body survives ----------------------------------------------------

#[tokio::test]
async fn replaced_bodies_leave_no_representation_headers() {
    let csv = answering(|| {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(CONTENT_TYPE, "text/csv")
            .header("content-disposition", "attachment; filename=report.csv")
            .header("content-language", "fr")
            .header("content-location", "/reports/1.csv")
            .header("content-md5", "Q2hlY2sgSW50ZWdyaXR5IQ==")
            .header("content-digest", "sha-256=:abc=:")
            .header("repr-digest", "sha-256=:abc=:")
            .header("digest", "SHA-256=abc=")
            .header("trailer", "expires")
            .header("etag", "\"v1\"")
            .header("x-kept", "yes")
            .body(Full::from("a,b\n1,2\n"))
            .unwrap()
    });
    let reply = call(ApiErrorLayer::new().layer(csv), get_req("/r")).await;
    for gone in [
        "content-disposition",
        "content-language",
        "content-location",
        "content-md5",
        "content-digest",
        "repr-digest",
        "digest",
        "trailer",
        "etag",
    ] {
        assert!(!reply.headers.contains_key(gone), "{gone} survived");
    }
    assert_eq!(reply.headers["x-kept"], "yes");
    assert_eq!(reply.headers[CONTENT_TYPE], "application/json");
    reply.error_body();
}

#[tokio::test]
async fn framing_headers_on_an_api_error_do_not_break_the_connection() {
    let addr = serve(ApiErrorLayer::new().layer(handler_errors())).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    // Two requests on one HTTP/1.1 connection: the first must not have torn it.
    for _ in 0..2 {
        let req = Request::get("/chunked")
            .header("host", addr.to_string())
            .body(Full::<Bytes>::default())
            .unwrap();
        let reply = collect(sender.send_request(req).await.unwrap()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert!(!reply.headers.contains_key(TRANSFER_ENCODING));
        reply.error_body();
    }
}

// --- 3, 4, 10, 18. reading an inner body: panics, stalls, charsets, logs ------------------------

/// A text body of a 4xx that says it has `hint` bytes, gives `ready`, then stalls or panics.
struct Misbehaving {
    hint: u64,
    ready: Option<&'static [u8]>,
    then_panic: bool,
}

impl http_body::Body for Misbehaving {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(ready) = self.ready.take() {
            return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(ready)))));
        }
        if self.then_panic {
            panic!("the body panicked: secret-body-state");
        }
        Poll::Pending
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.hint)
    }
}

fn misbehaving(
    then_panic: bool,
) -> impl tower::Service<
    Request<hyper::body::Incoming>,
    Response = Response<Misbehaving>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |_req| async move {
        let body = Misbehaving {
            hint: 5,
            ready: Some(b"ab"),
            then_panic,
        };
        Ok::<_, Infallible>(
            Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .header(CONTENT_TYPE, "text/plain")
                .body(body)
                .unwrap(),
        )
    })
}

#[tokio::test]
async fn a_panicking_error_body_is_a_500_on_both_protocols() {
    let addr = serve(ApiErrorLayer::new().layer(misbehaving(true))).await;
    for reply in [
        send(addr, request("GET", "/")).await,
        send_h2(addr, request("GET", "/")).await,
    ] {
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
        let body = reply.error_body();
        assert_eq!(body["error"], "internal_error");
        assert!(!body.to_string().contains("secret"));
    }
}

#[tokio::test]
async fn a_panicking_classifier_is_a_500() {
    let failing =
        service_fn(|_req: Request<Body>| async { Err::<Response<Body>, BoxError>("boom".into()) });
    let app = ApiErrorLayer::new()
        .classify_errors(|_error: BoxError| -> ApiError { panic!("classifier bug") })
        .layer(failing);
    let reply = call(app, get_req("/")).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error_body()["error"], "internal_error");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_detail_body_does_not_hold_back_the_head() {
    let stalled = || {
        service_fn(|_req: Request<Body>| async {
            let body = Misbehaving {
                hint: 5,
                ready: Some(b"ab"),
                then_panic: false,
            };
            Ok::<_, Infallible>(
                Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .header(CONTENT_TYPE, "text/plain")
                    .body(body)
                    .unwrap(),
            )
        })
    };
    for layer in [
        ApiErrorLayer::new(),
        ApiErrorLayer::new().timeout(Duration::from_secs(30)),
    ] {
        let start = tokio::time::Instant::now();
        let reply = call(layer.layer(stalled()), get_req("/")).await;
        // On the paused clock, any wait would have advanced time.
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            reply.error_body()["detail"],
            "The request was unacceptable, often due to missing a required parameter."
        );
    }
}

#[tokio::test]
async fn text_detail_honours_its_charset() {
    let latin1 = answering(|| {
        Response::builder()
            .status(StatusCode::CONFLICT)
            .header(CONTENT_TYPE, "text/plain; charset=ISO-8859-1")
            .body(Full::from(&b"caf\xe9 ferm\xe9"[..]))
            .unwrap()
    });
    let reply = call(ApiErrorLayer::new().layer(latin1), get_req("/")).await;
    assert_eq!(reply.error_body()["detail"], "café fermé");

    let unknown = answering(|| {
        Response::builder()
            .status(StatusCode::CONFLICT)
            .header(CONTENT_TYPE, "text/plain; charset=shift_jis")
            .body(Full::from(&b"\x83e\x83X\x83g"[..]))
            .unwrap()
    });
    let reply = call(ApiErrorLayer::new().layer(unknown), get_req("/")).await;
    assert_eq!(
        reply.error_body()["detail"],
        "Your request conflicts with the current state of the resource."
    );
}

#[test]
fn a_replaced_5xx_text_is_logged_not_sent() {
    // What axum answers for a missing `Extension`: a plain-text 500.
    let missing_extension = answering(|| {
        Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::from(
                "Missing request extension: Extension of type `Db` was not found",
            ))
            .unwrap()
    });
    let app = ApiErrorLayer::new().layer(missing_extension);
    let (reply, logs) = captured_logs(call(app, get_req("/")));
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!String::from_utf8_lossy(&reply.body).contains("Extension"));
    assert!(logs.contains("status=500"), "{logs}");
    assert!(
        logs.contains("Extension of type `Db` was not found"),
        "{logs}"
    );
}

// --- 5. Accept over several field lines ----------------------------------------------------------

#[tokio::test]
async fn every_accept_field_line_counts() {
    let req = || {
        let mut req = get_req("/missing");
        req.headers_mut()
            .append(ACCEPT, HeaderValue::from_static("text/html;q=0.9"));
        req.headers_mut().append(
            ACCEPT,
            HeaderValue::from_static("application/problem+json, application/*;q=0.1"),
        );
        req
    };
    let reply = call(ApiErrorLayer::new().layer(handler_errors()), req()).await;
    assert_eq!(reply.headers[CONTENT_TYPE], "application/problem+json");
    reply.error_body();
}

// --- 6. OPTIONS * ---------------------------------------------------------------------------------

#[tokio::test]
async fn options_asterisk_is_204_with_every_allowed_method() {
    let policy = MethodPolicy::builder()
        .resource(
            "/notes",
            Resource::allow([Method::POST]).plan([Method::GET]),
        )
        .resource(
            "/notes/{id}",
            Resource::allow([Method::GET, Method::DELETE]),
        )
        .build()
        .unwrap();
    let app = ApiErrorLayer::new()
        .method_policy(policy)
        .layer(handler_errors());
    let addr = serve(app).await;
    let head = raw_http1(
        addr,
        "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 204"), "{head}");
    assert!(
        head.contains("allow: post, get, head, delete, options"),
        "{head}"
    );
}

// --- 8. the client's path behind nest_service ------------------------------------------------------

#[tokio::test]
async fn problem_instance_is_the_clients_path_under_a_prefix() {
    let policy = MethodPolicy::builder()
        .resource(
            "/reports/{id}",
            Resource::allow([Method::GET]).refuse([Method::POST]),
        )
        .build()
        .unwrap();
    let api = ApiErrorLayer::new()
        .method_policy(policy)
        .layer(handler_errors());
    let app = Router::new().nest_service("/api", api);
    let req = Request::post("/api/reports/1")
        .header(ACCEPT, "application/problem+json")
        .body(Body::empty())
        .unwrap();
    let reply = call(app, req).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    let body = reply.error_body();
    assert_eq!(body["instance"], "/api/reports/1");
    assert_eq!(body["detail"], "POST is not supported for this resource.");
}

// --- 9. problem documents ---------------------------------------------------------------------------

#[tokio::test]
async fn problem_titles_are_reason_phrases_with_about_blank() {
    let failing = || {
        service_fn(|_req: Request<Body>| async {
            Err::<Response<Body>, BoxError>("db down".into())
        })
    };
    let problem = |uri| {
        Request::get(uri)
            .header(ACCEPT, "application/problem+json")
            .body(Body::empty())
            .unwrap()
    };
    let reply = call(ApiErrorLayer::new().layer(failing()), problem("/")).await;
    let body = reply.error_body();
    assert_eq!(body["type"], "about:blank");
    assert_eq!(body["title"], "Internal Server Error");
    assert_eq!(body["message"], "Server Error");

    let typed = ApiErrorLayer::new().problem_type_base("https://errors.example.com/");
    let reply = call(typed.layer(failing()), problem("/")).await;
    let body = reply.error_body();
    assert_eq!(body["type"], "https://errors.example.com/internal_error");
    assert_eq!(body["title"], "Server Error");
}

// --- 11. request bodies: 413 at once, 408 for slow clients ----------------------------------------

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_at_once() {
    let router = Router::new().route(
        "/upload",
        axum::routing::post(|body: Bytes| async move { body.len().to_string() }),
    );
    let app = ApiErrorLayer::new()
        .timeout(Duration::from_secs(600))
        .layer(router.layer(tower_http::limit::RequestBodyLimitLayer::new(1024)));
    let addr = serve(app).await;
    // The head says 10 MB are coming, and nothing comes: only the head can be answered.
    let head = raw_http1(
        addr,
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
}

/// A request body that never comes.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_client_gets_408_and_a_slow_handler_504() {
    use http_body_util::BodyExt;
    let reads_body = |req: Request<WatchedBody<Stalled>>| async move {
        let body = req.into_body().collect().await?.to_bytes();
        Ok::<_, io::Error>(Response::new(Full::new(body)))
    };
    let layer = ApiErrorLayer::new()
        .timeout(Duration::from_secs(5))
        .watch_request_body();
    let slow_client = ServiceBuilder::new()
        .layer(layer.clone())
        .layer(SlowClientLayer::new())
        .service(service_fn(reads_body));
    let reply = collect(slow_client.oneshot(Request::new(Stalled)).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::REQUEST_TIMEOUT);
    assert_eq!(reply.error_body()["error"], "request_timeout");
    assert_eq!(reply.error_body()["retryable"], true);

    let slow_handler = ServiceBuilder::new()
        .layer(layer.clone())
        .layer(SlowClientLayer::new())
        .service(service_fn(|_req: Request<WatchedBody<Stalled>>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, io::Error>(Response::new(Full::<Bytes>::default()))
        }));
    let reply = collect(slow_handler.oneshot(Request::new(Stalled)).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);

    // Without the watcher, the layer cannot tell: 504.
    let unwatched = layer.layer(service_fn(|req: Request<Stalled>| async move {
        use http_body_util::BodyExt;
        let body = req.into_body().collect().await?.to_bytes();
        Ok::<_, io::Error>(Response::new(Full::new(body)))
    }));
    let reply = collect(unwatched.oneshot(Request::new(Stalled)).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);

    // A watcher without `watch_request_body` outside: 504 too, and a warning says why.
    let unflagged = ServiceBuilder::new()
        .layer(ApiErrorLayer::new().timeout(Duration::from_secs(5)))
        .layer(SlowClientLayer::new())
        .service(service_fn(reads_body));
    let reply = collect(unflagged.oneshot(Request::new(Stalled)).await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
}

/// The signal is the request's own (issue 20, item 7), not a thread-local: a body read on
/// another task is seen too (before: `504`), and a stalled upload and a slow handler in flight
/// together on one layer each get their own answer.
#[tokio::test(start_paused = true)]
async fn slow_clients_and_slow_handlers_in_flight_together_are_told_apart() {
    use http_body_util::BodyExt;
    let app = ServiceBuilder::new()
        .layer(
            ApiErrorLayer::new()
                .timeout(Duration::from_secs(5))
                .watch_request_body(),
        )
        .layer(SlowClientLayer::new())
        .service(service_fn(
            |req: Request<WatchedBody<Stalled>>| async move {
                if req.uri().path() == "/upload" {
                    // The body is read on a task of its own.
                    let read = tokio::spawn(async move { req.into_body().collect().await });
                    let body = read.await.expect("no panic")?.to_bytes();
                    return Ok::<_, io::Error>(Response::new(Full::new(body)));
                }
                drop(req);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(Response::new(Full::<Bytes>::default()))
            },
        ));
    let upload = app
        .clone()
        .oneshot(Request::post("/upload").body(Stalled).unwrap());
    let report = app.oneshot(Request::get("/report").body(Stalled).unwrap());
    let (upload, report) = tokio::join!(upload, report);
    assert_eq!(upload.unwrap().status(), StatusCode::REQUEST_TIMEOUT);
    assert_eq!(report.unwrap().status(), StatusCode::GATEWAY_TIMEOUT);
}

// --- 16. drift between the route table and the Router ----------------------------------------------

fn items() -> Router {
    Router::new().route(
        "/api/v1/items/{id}",
        get(|| async { "item" }).put(|| async { "updated" }),
    )
}

#[test]
fn a_forgotten_policy_line_does_not_hide_a_handler_and_is_logged() {
    // The Router has PUT; the table lists only GET.
    let policy = MethodPolicy::builder()
        .resource("/api/v1/items/{id}", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let app = ApiErrorLayer::new().method_policy(policy).layer(items());
    let put = Request::put("/api/v1/items/7").body(Body::empty()).unwrap();
    let (reply, logs) = captured_logs(call(app, put));
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "updated");
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("method=\"PUT\""), "{logs}");
    assert!(logs.contains("/api/v1/items/7"), "{logs}");
}

#[tokio::test]
async fn a_misspelled_resource_claims_nothing_for_options() {
    let policy = MethodPolicy::builder()
        .resource("/api/v1/itemz/{id}", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let app = ApiErrorLayer::new().method_policy(policy).layer(items());
    let options = Request::options("/api/v1/itemz/7")
        .body(Body::empty())
        .unwrap();
    let reply = call(app.clone(), options).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // The real resource, not in the table, still answers OPTIONS from the Router's 405.
    let options = Request::options("/api/v1/items/7")
        .body(Body::empty())
        .unwrap();
    let reply = call(app, options).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.headers["allow"], "GET, HEAD, PUT, OPTIONS");
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn methods_left_out_of_the_table_read_like_those_in_it() {
    let policy = MethodPolicy::builder()
        .resource(
            "/api/v1/items/{id}",
            Resource::allow([Method::GET, Method::PUT]).refuse([Method::POST]),
        )
        .build()
        .unwrap();
    let app = ApiErrorLayer::new().method_policy(policy).layer(items());
    let reply_to = |method: &str| {
        Request::builder()
            .method(method)
            .uri("/api/v1/items/7")
            .body(Body::empty())
            .unwrap()
    };
    let refused: Reply = call(app.clone(), reply_to("POST")).await;
    let left_out: Reply = call(app, reply_to("DELETE")).await;
    for reply in [&refused, &left_out] {
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(reply.headers["allow"], "GET, HEAD, PUT, OPTIONS");
    }
    assert_eq!(
        refused.error_body()["detail"],
        "POST is not supported for this resource."
    );
    assert_eq!(
        left_out.error_body()["detail"],
        "DELETE is not supported for this resource."
    );
}

// --- 13. retry advice stays exact -------------------------------------------------------------

#[tokio::test]
async fn an_inner_retry_after_beyond_a_day_is_clamped_in_the_body() {
    let unavailable = answering(|| {
        Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("retry-after", "99999999999")
            .body(Full::default())
            .unwrap()
    });
    let reply = call(ApiErrorLayer::new().layer(unavailable), get_req("/")).await;
    assert_eq!(reply.error_body()["retry_after"], 86_400);
}

#[tokio::test(start_paused = true)]
async fn a_zero_deadline_is_504_at_once_without_a_limit() {
    let called = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = called.clone();
    let handler = service_fn(move |_req: Request<Body>| {
        seen.store(true, std::sync::atomic::Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::from("done"))) }
    });
    let app = ApiErrorLayer::new()
        .deadline_header(http::HeaderName::from_static("x-request-timeout-ms"))
        .layer(handler);
    let req = Request::get("/")
        .header("x-request-timeout-ms", "0")
        .body(Body::empty())
        .unwrap();
    let reply = call(app, req).await;
    assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT);
    reply.error_body();
    assert!(
        !called.load(std::sync::atomic::Ordering::SeqCst),
        "the handler ran"
    );
}

/// Issue 21, item 8: `with_header` takes what `http`'s builders take (`&str`, `String`), and
/// drops an invalid name or value with a warning instead of panicking in a handler.
#[test]
fn with_header_converts_and_drops_what_is_invalid() {
    let (error, logs) = captured_logs(async {
        tower_api_errors::ApiError::not_found()
            .with_header("x-quota-remaining", 0.to_string())
            .with_header("x-echo", "a\nb")
            .with_header("bad name", "v")
    });
    assert_eq!(error.headers()["x-quota-remaining"], "0");
    assert!(!error.headers().contains_key("x-echo"));
    assert_eq!(error.headers().len(), 1);
    assert!(logs.contains("ignored an invalid header value"), "{logs}");
    assert!(logs.contains("ignored an invalid header name"), "{logs}");
}
