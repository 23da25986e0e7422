//! Shared test support: serving a service on 127.0.0.1:0, a hyper client, and validation of
//! error bodies against the JSON Schemas in `schema/`.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::net::TcpListener;
use tower::{Service, ServiceExt};

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON; panics with the body's text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as JSON, after checking the content type and validating it against the schema
    /// of its shape.
    pub fn error_body(&self) -> Value {
        let content_type = self.headers["content-type"].to_str().unwrap();
        let body = self.json();
        let status = match content_type {
            "application/json" => {
                assert_valid(&body);
                body["status"].clone()
            }
            "application/problem+json" => {
                assert_valid_problem(&body);
                body["status"].clone()
            }
            "application/vnd.google.rpc.status+json" => {
                assert_valid_aip193(&body);
                body["error"]["code"].clone()
            }
            "application/vnd.api+json" => {
                assert_valid_json_api(&body);
                let status = body["errors"][0]["status"].as_str().unwrap();
                Value::from(status.parse::<u16>().unwrap())
            }
            other => panic!("unexpected content type {other}"),
        };
        assert_eq!(
            self.headers["content-length"].to_str().unwrap(),
            self.body.len().to_string()
        );
        assert_eq!(status, self.status.as_u16(), "the body says the status");
        body
    }
}

fn compile(schema: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(schema).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn check(validator: &jsonschema::Validator, body: &Value) {
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{body} violates the schema: {errors:?}");
}

/// Validates an `application/json` error body against `schema/error.schema.json`.
pub fn assert_valid(body: &Value) {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    check(
        SCHEMA.get_or_init(|| compile(include_str!("../../schema/error.schema.json"))),
        body,
    );
}

/// Validates an `application/problem+json` body against `schema/problem.schema.json`.
pub fn assert_valid_problem(body: &Value) {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    check(
        SCHEMA.get_or_init(|| compile(include_str!("../../schema/problem.schema.json"))),
        body,
    );
}

/// Validates an AIP-193 body against `schema/aip193.schema.json`.
pub fn assert_valid_aip193(body: &Value) {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    check(
        SCHEMA.get_or_init(|| compile(include_str!("../../schema/aip193.schema.json"))),
        body,
    );
}

/// Validates a JSON:API error document against `schema/json-api.schema.json`.
pub fn assert_valid_json_api(body: &Value) {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    check(
        SCHEMA.get_or_init(|| compile(include_str!("../../schema/json-api.schema.json"))),
        body,
    );
}

/// Whether `body` is valid against `schema/error.schema.json`, without panicking: for tests
/// that prove the schema refuses a shape.
pub fn schema_accepts(body: &Value) -> bool {
    compile(include_str!("../../schema/error.schema.json")).is_valid(body)
}

/// Whether `body` is valid against `schema/problem.schema.json`.
pub fn problem_schema_accepts(body: &Value) -> bool {
    compile(include_str!("../../schema/problem.schema.json")).is_valid(body)
}

/// Calls `service` in process and collects the response.
pub async fn call<S, B, ResBody>(service: S, req: Request<B>) -> Reply
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: std::fmt::Debug,
{
    let response = service.oneshot(req).await.unwrap();
    collect(response).await
}

/// Collects a response.
pub async fn collect<B>(response: Response<B>) -> Reply
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// Serves `service` on 127.0.0.1:0 (HTTP/1.1 and h2c) until the test's runtime ends.
pub async fn serve<S, B>(service: S) -> SocketAddr
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Sends one request over a fresh HTTP/1.1 connection to `addr`.
pub async fn send(addr: SocketAddr, req: Request<Full<Bytes>>) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(with_host(req, addr)).await.unwrap();
    collect(response).await
}

/// Sends one request over a fresh HTTP/2 (h2c, prior knowledge) connection to `addr`.
pub async fn send_h2(addr: SocketAddr, req: Request<Full<Bytes>>) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let (mut parts, body) = req.into_parts();
    // `*` (asterisk form) is not a path to append: built from its parts, the URI keeps it as
    // the path, and h2 sends it as `:path: *` beside `:authority`.
    parts.uri = http::Uri::builder()
        .scheme("http")
        .authority(addr.to_string())
        .path_and_query(parts.uri.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .unwrap();
    let response = sender
        .send_request(Request::from_parts(parts, body))
        .await
        .unwrap();
    collect(response).await
}

fn with_host(mut req: Request<Full<Bytes>>, addr: SocketAddr) -> Request<Full<Bytes>> {
    req.headers_mut()
        .entry(http::header::HOST)
        .or_insert_with(|| addr.to_string().parse().unwrap());
    req
}

/// A request with an empty body.
pub fn request(method: &str, uri: &str) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::default())
        .unwrap()
}

/// Writes `head` (a whole HTTP/1.1 request head, `\r\n`-terminated) on a fresh connection and
/// returns the response head, lower-cased. For what a client library would not send: an
/// `OPTIONS *`, a declared body that never comes.
pub async fn raw_http1(addr: SocketAddr, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed: {:?}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&answer).to_lowercase()
}

/// A Router whose `/wait` handler signals `started`, then waits for `release`.
pub fn waiting_router(
    started: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Notify>,
) -> axum::Router {
    axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .route(
            "/wait",
            axum::routing::get(move || {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    "released"
                }
            }),
        )
}

/// Runs `f` on a current-thread runtime with a subscriber that keeps every event (DEBUG and
/// up) as text.
pub fn captured_logs<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let output = tracing::subscriber::with_default(subscriber, || block_on(f));
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    (output, text)
}

pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}
