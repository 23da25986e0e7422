//! The two inner services the black-box tests wrap: an axum Router and a bare
//! `tower::service_fn`, answering the same paths the same way where both can.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Layer, ServiceExt};
use tower_api_errors::{ApiError, ApiErrorLayer};

/// A service as the tests drive it, whatever its inner body type.
pub type App = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Counts live handler futures: incremented when a slow handler starts, decremented when its
/// future is dropped (completed or cancelled).
#[derive(Clone, Default)]
pub struct Live(Arc<AtomicUsize>);

impl Live {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    fn guard(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.0.clone())
    }
}

struct LiveGuard(Arc<AtomicUsize>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub const SECRET: &str = "hunter2-at-/etc/secret";

/// The axum Router behind the layer.
pub fn router(live: Live) -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/domain",
            get(|| async { Err::<(), _>(ApiError::missing_parameter("customer_id")) }),
        )
        .route(
            "/text400",
            get(|| async { (StatusCode::BAD_REQUEST, "customer_id must be positive") }),
        )
        .route(
            "/text500",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, SECRET) }),
        )
        .route(
            "/json409",
            get(|| async {
                (
                    StatusCode::CONFLICT,
                    Json(serde_json::json!({"own": "format"})),
                )
            }),
        )
        .route("/headers", get(|| async { headers_response() }))
        .route("/unauth", get(|| async { StatusCode::UNAUTHORIZED }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("{SECRET}");
                }
            }),
        )
        .route(
            "/slow",
            get(move || {
                let guard = live.guard();
                async move {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    drop(guard);
                    "slow"
                }
            }),
        )
        .route(
            "/json",
            post(|Json(body): Json<serde_json::Value>| async move { Json(body) }),
        )
        .route("/only-get", get(|| async { "got" }))
}

/// 429 with the headers normalization must keep.
fn headers_response() -> Response<Body> {
    Response::builder()
        .status(StatusCode::TOO_MANY_REQUESTS)
        .header("retry-after", "7")
        .header("access-control-allow-origin", "*")
        .header("x-request-id", "abc")
        .header("x-custom", "kept")
        .header("content-type", "text/html")
        .body(Body::from("<h1>slow down</h1>"))
        .unwrap()
}

/// The same paths as a bare `service_fn`, plus inner errors (an axum Router cannot fail).
pub fn service_fn(
    live: Live,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<Full<Bytes>>,
    Error = BoxError,
    Future = impl Send,
> + Clone
       + Send
       + Sync {
    tower::service_fn(move |req: Request<Body>| {
        let path = req.uri().path().to_owned();
        if path == "/panic-call" {
            panic!("{SECRET} in call");
        }
        let live = live.clone();
        async move {
            let text = |status: StatusCode, text: &'static str| {
                Response::builder()
                    .status(status)
                    .header("content-type", "text/plain; charset=utf-8")
                    .body(Full::from(text))
                    .unwrap()
            };
            let response = match path.as_str() {
                "/hello" => Response::new(Full::from("hello")),
                "/domain" => return Err(ApiError::missing_parameter("customer_id").into()),
                "/domain-response" => Response::from(ApiError::missing_parameter("customer_id"))
                    .map(|body| Full::new(collect_error_body(body))),
                "/text400" => text(StatusCode::BAD_REQUEST, "customer_id must be positive"),
                "/text500" => text(StatusCode::INTERNAL_SERVER_ERROR, SECRET),
                "/json409" => Response::builder()
                    .status(StatusCode::CONFLICT)
                    .header("content-type", "application/json")
                    .body(Full::from(r#"{"own":"format"}"#))
                    .unwrap(),
                "/headers" => {
                    let (parts, _) = headers_response().into_parts();
                    Response::from_parts(parts, Full::from("<h1>slow down</h1>"))
                }
                "/unauth" => {
                    let mut response = Response::new(Full::default());
                    *response.status_mut() = StatusCode::UNAUTHORIZED;
                    response
                }
                "/panic" => panic!("{SECRET}"),
                "/slow" => {
                    let _guard = live.guard();
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    Response::new(Full::from("slow"))
                }
                "/io-timeout" => {
                    return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, SECRET).into())
                }
                "/elapsed" => return Err(tower::timeout::error::Elapsed::new().into()),
                "/overloaded" => return Err(tower::load_shed::error::Overloaded::new().into()),
                "/secret-error" => return Err(SECRET.into()),
                _ => {
                    let mut response = Response::new(Full::default());
                    *response.status_mut() = StatusCode::NOT_FOUND;
                    response
                }
            };
            Ok(response)
        }
    })
}

/// An `ErrorBody` is one frame; reading it synchronously keeps `service_fn` simple.
fn collect_error_body(body: tower_api_errors::body::ErrorBody) -> Bytes {
    use http_body::Body as _;
    let mut body = std::pin::pin!(body);
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    match body.as_mut().poll_frame(&mut cx) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap(),
        _ => Bytes::new(),
    }
}

/// Both inner services behind `layer`, named.
pub fn apps(layer: &ApiErrorLayer, live: &Live) -> [(&'static str, App); 2] {
    [
        (
            "axum",
            App::new(ServiceExt::<Request<Body>>::map_response(
                layer.layer(router(live.clone())),
                |r| r.map(Body::new),
            )),
        ),
        (
            "service_fn",
            App::new(ServiceExt::<Request<Body>>::map_response(
                layer.layer(service_fn(live.clone())),
                |r| r.map(Body::new),
            )),
        ),
    ]
}
