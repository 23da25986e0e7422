//! [`ErrorFacts`]: everything a shape may say about one error, read from the error, the head
//! it goes out on and the request it answers.

use std::cell::Cell;
use std::time::Duration;

use http::header::{ALLOW, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::contract::api_error::MAX_RETRY_AFTER;
use crate::ApiError;

/// The facts of one error response, handed to an [`ErrorShape`](crate::shape::ErrorShape) to write
/// its body: the same whatever decided the answer (a refusal of the layer's own, a handler's
/// [`ApiError`], a normalized inner answer, a panic, a deadline, a `Json` rejection).
///
/// A body that reads neither [`path`](Self::path) nor a [`request_id`](Self::request_id)
/// the request sent is the same for every request: the layer renders such an error once per
/// shape and sends the same bytes again, as it does with the document's own answers.
///
/// ```
/// use tower_api_errors::shape::{shape_fn, ErrorFacts};
///
/// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| {
///     serde_json::json!({
///         "success": false,
///         "error": {
///             "type": e.code(),
///             "message": e.detail(),
///             "retry_in": e.retry_after().map(|d| d.as_secs()),
///         },
///     })
/// });
/// # let _ = shape;
/// ```
#[derive(Debug)]
pub struct ErrorFacts<'a> {
    error: &'a ApiError,
    /// `message` and `detail` in the layer's words.
    message: &'a str,
    detail: &'a str,
    headers: &'a HeaderMap,
    path: Option<&'a str>,
    request_id: Option<&'a str>,
    /// What of the request was read: its path, an id it sent.
    read_path: Cell<bool>,
    read_id: Cell<bool>,
}

impl<'a> ErrorFacts<'a> {
    pub(crate) fn new(
        error: &'a ApiError,
        (message, detail): (&'a str, &'a str),
        headers: &'a HeaderMap,
        path: Option<&'a str>,
        request_id: Option<&'a str>,
    ) -> Self {
        Self {
            error,
            message,
            detail,
            headers,
            path,
            request_id,
            read_path: Cell::new(false),
            read_id: Cell::new(false),
        }
    }

    /// Whether the body written is the same for another request: nothing of this one's read.
    pub(crate) fn is_shared(&self) -> bool {
        !self.read_path.get() && !self.read_id.get()
    }

    /// The HTTP status.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"status": e.status().as_u16()}));
    /// let body = render(shape, ApiError::not_found());
    /// assert_eq!(body["status"], 404);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.error.status()
    }

    /// The stable error code (`not_found`, `overloaded`, a handler's own).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"code": e.code()}));
    /// let body = render(shape, ApiError::not_found().with_code("note_not_found"));
    /// assert_eq!(body["code"], "note_not_found");
    /// ```
    pub fn code(&self) -> &'a str {
        self.error.code()
    }

    /// The message for the status: the API document's, or the layer's own words
    /// ([`reword`](crate::ApiErrorLayer::reword)).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"title": e.message()}));
    /// let body = render(shape, ApiError::not_found());
    /// assert_eq!(body["title"], "Not Found");
    /// ```
    pub fn message(&self) -> &'a str {
        self.message
    }

    /// The detail: the one set, or the status's default (the API document's explanation, or
    /// the layer's own words).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"detail": e.detail()}));
    /// let body = render(shape, ApiError::not_found().with_detail("No note 7."));
    /// assert_eq!(body["detail"], "No note 7.");
    /// ```
    pub fn detail(&self) -> &'a str {
        self.detail
    }

    /// Whether the same request may succeed later.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"retry": e.is_retryable()}));
    /// let body = render(shape, ApiError::gateway_timeout());
    /// assert_eq!(body["retry"], true);
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.error.is_retryable()
    }

    /// The methods the resource allows, for a `405` or a `501` that says so (its `Allow`), in
    /// order, each once; empty otherwise.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"allowed": e.allowed_methods()}));
    /// let body = render(shape, ApiError::method_not_allowed([http::Method::GET]));
    /// assert_eq!(body["allowed"], json!(["GET"]));
    /// ```
    pub fn allowed_methods(&self) -> Vec<&'a str> {
        let mut methods = Vec::new();
        if matches!(self.status().as_u16(), 405 | 501) {
            allowed_methods(self.headers, |method| methods.push(method));
        }
        methods
    }

    /// When to retry: the answer's `Retry-After` in seconds (at most
    /// [`MAX_RETRY_AFTER`]), whoever set it.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"wait": e.retry_after().map(|d| d.as_secs())}));
    /// let body = render(shape, ApiError::overloaded(std::time::Duration::from_secs(3)));
    /// assert_eq!(body["wait"], 3);
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after_seconds(self.headers).map(Duration::from_secs)
    }

    /// The request's echoed `x-request-id`, when it sent a safe one.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"trace": e.request_id()}));
    /// let body = render(shape, ApiError::not_found());
    /// assert_eq!(body["trace"], "4f1c2e9a");
    /// ```
    pub fn request_id(&self) -> Option<&'a str> {
        // Without an id, the body is the one of every request without one.
        self.read_id.set(self.request_id.is_some());
        self.request_id
    }

    /// The path the client asked for, without the query.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"path": e.path()}));
    /// let body = render(shape, ApiError::not_found());
    /// assert_eq!(body["path"], "/notes/7");
    /// ```
    pub fn path(&self) -> Option<&'a str> {
        self.read_path.set(true);
        self.path
    }

    /// The field-level problems, as `(pointer, detail)`: a JSON Pointer (RFC 6901) into the
    /// request's content, and what is wrong there (see [`FieldError`](crate::FieldError)).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"fields": e.field_errors().map(|(pointer, _)| pointer).collect::<Vec<_>>()}));
    /// let body = render(shape, ApiError::invalid_params([tower_api_errors::FieldError::new(["title"], "is empty")]));
    /// assert_eq!(body["fields"], json!(["/title"]));
    /// ```
    pub fn field_errors(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.error
            .member("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| {
                Some((
                    item.get("pointer")?.as_str()?,
                    item.get("detail")?.as_str()?,
                ))
            })
    }

    /// The error's own members ([`ApiError::with`]), in order, without the field errors.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"extra": e.members().map(|(key, _)| key).collect::<Vec<_>>()}));
    /// let body = render(shape, ApiError::not_found().with("note_id", 7));
    /// assert_eq!(body["extra"], json!(["note_id"]));
    /// ```
    pub fn members(&self) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.error.members().filter(|(key, _)| *key != "errors")
    }

    /// The error itself, for what the accessors above do not say.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::ApiError;
    /// # use http_body_util::BodyExt;
    /// # use tower::{Layer, ServiceExt};
    /// # /// The body `shape` writes for `error`, answered to `GET /notes/7?full=1` with an
    /// # /// `x-request-id`.
    /// # fn render(shape: impl tower_api_errors::shape::ErrorShape, error: ApiError) -> Value {
    /// #     let app = tower_api_errors::ApiErrorLayer::new().shape(shape).layer(tower::service_fn(
    /// #         move |_req: http::Request<()>| {
    /// #             let error = error.clone();
    /// #             async move { Err::<http::Response<String>, _>(error) }
    /// #         },
    /// #     ));
    /// #     let req = http::Request::get("/notes/7?full=1").header("x-request-id", "4f1c2e9a");
    /// #     let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// #     runtime.block_on(async {
    /// #         let response = app.oneshot(req.body(()).unwrap()).await.unwrap();
    /// #         let body = response.into_body().collect().await.unwrap().to_bytes();
    /// #         serde_json::from_slice(&body).unwrap()
    /// #     })
    /// # }
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"source": e.error().member("note_id").is_some()}));
    /// let body = render(shape, ApiError::not_found().with("note_id", 7));
    /// assert_eq!(body["source"], true);
    /// ```
    pub fn error(&self) -> &'a ApiError {
        self.error
    }
}

/// The methods of every `Allow` field (a list may be split over several), in order, each
/// once; anything that is not a method token is left out.
pub(crate) fn allowed_methods<'h>(headers: &'h HeaderMap, mut each: impl FnMut(&'h str)) {
    const MAX: usize = 32;
    let mut seen: [&str; MAX] = [""; MAX];
    let mut count = 0;
    let tokens = headers
        .get_all(ALLOW)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty() && token.bytes().all(is_tchar));
    for token in tokens {
        if count < MAX && !seen[..count].contains(&token) {
            seen[count] = token;
            count += 1;
            each(token);
        }
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a method token is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A `Retry-After` in seconds, whoever set the header (an inner service too), capped so that
/// it stays a number every JSON parser reads exactly.
pub(crate) fn retry_after_seconds(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .map(|seconds| seconds.min(MAX_RETRY_AFTER.as_secs()))
}
