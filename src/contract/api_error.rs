//! [`ApiError`]: one failure, as the API document describes it.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http::header::{
    HeaderName, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, RETRY_AFTER,
    TRAILER, TRANSFER_ENCODING, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use crate::contract::catalog;
use crate::contract::method_id::allow_header;
use crate::contract::numbers::number_value;
use crate::contract::text;

/// Members of the body that belong to the contract; [`ApiError::with`] never overwrites them.
///
/// `type`, `title` and `instance` are reserved too, since the `application/problem+json`
/// rendering uses them. `errors` is set only through
/// [`ApiError::with_field_errors`](crate::ApiError::with_field_errors), so that it always has
/// the documented shape; `planned` only by a method policy's
/// [`planned_as_405`](crate::policy::MethodPolicyBuilder::planned_as_405), so that it is always `true`.
pub const RESERVED_MEMBERS: &[&str] = &[
    "ok",
    "status",
    "error",
    "message",
    "detail",
    "allowed",
    "planned",
    "retry_after",
    "retryable",
    "request_id",
    "errors",
    "type",
    "title",
    "instance",
];

/// A failure that leaves the server as the documented error body.
///
/// An `ApiError` carries the status, the stable `error` code clients switch on, the `detail`
/// of this occurrence, extra body members and the headers the status calls for (`Allow`,
/// `Retry-After`, `WWW-Authenticate`). The `message` is not settable: it is the API
/// document's Message for the status, so that one status always reads the same.
///
/// Handlers return it (with the `axum` feature it implements `IntoResponse`; without it,
/// `http::Response::from(error)` works), and [`ApiErrorLayer`](crate::ApiErrorLayer) renders
/// it uniformly: it chooses the format and adds the `request_id`.
///
/// ```
/// use tower_api_errors::ApiError;
///
/// let error = ApiError::missing_parameter("customer_id");
/// assert_eq!(error.status(), 400);
/// assert_eq!(error.code(), "missing_parameter");
/// assert_eq!(error.message(), "Bad Request");
/// assert_eq!(error.member("param"), Some(&"customer_id".into()));
///
/// // Required members can't be overwritten by an extra member.
/// let error = ApiError::not_found().with("status", 200).with("ok", true);
/// assert_eq!(error.member("status"), None);
/// ```
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    // `None` while the error says nothing but its status's defaults, so that the errors the
    // layer makes itself (a 504, a 500) and `ApiError::not_found()` allocate nothing. Boxed so
    // that `Result<T, ApiError>` stays small on the success path.
    custom: Option<Box<Inner>>,
}

/// What an error says beyond its status's defaults.
#[derive(Debug, Clone)]
struct Inner {
    code: Cow<'static, str>,
    detail: Option<Cow<'static, str>>,
    members: Vec<(Cow<'static, str>, Value)>,
    headers: HeaderMap,
    retryable: Option<bool>,
    /// What caused the error: logged with it, never sent. An `Arc` so that the error stays
    /// `Clone` (it travels in response extensions).
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Headers that describe or frame the body: the layer writes them for the body it renders, so
/// an error may not set them ([`ApiError::with_header`] drops them).
const BODY_HEADERS: [HeaderName; 6] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    CONTENT_RANGE,
    TRANSFER_ENCODING,
    TRAILER,
];

/// The longest `Retry-After` an error sends: a day. Longer waits are no retry advice, and
/// smaller numbers stay exact in every JSON parser.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

impl ApiError {
    /// An error with `status` and the catalog's code, message and detail for it.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::new(StatusCode::CONFLICT);
    /// assert_eq!(error.code(), "conflict");
    /// ```
    ///
    /// # Panics
    ///
    /// When `status` is not an error (below 400): a 2xx or 3xx with an error body is not HTTP.
    /// (A handler's panic is a 500 under the layer.)
    #[must_use]
    pub fn new(status: StatusCode) -> Self {
        Self::try_new(status).unwrap_or_else(|| {
            panic!("an ApiError needs an error status (4xx or 5xx), not {status}")
        })
    }

    /// Like [`ApiError::new`], for a status that comes from elsewhere: `None` below 400.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower_api_errors::ApiError;
    ///
    /// assert!(ApiError::try_new(StatusCode::OK).is_none());
    /// assert_eq!(ApiError::try_new(StatusCode::GONE).unwrap().code(), "gone");
    /// ```
    #[must_use]
    pub fn try_new(status: StatusCode) -> Option<Self> {
        (status.is_client_error() || status.is_server_error()).then_some(Self {
            status,
            custom: None,
        })
    }

    /// What the error says beyond its status's defaults, made on first use.
    fn custom(&mut self) -> &mut Inner {
        let status = self.status;
        self.custom.get_or_insert_with(|| {
            Box::new(Inner {
                code: Cow::Borrowed(catalog::lookup(status).code),
                detail: None,
                members: Vec::new(),
                headers: HeaderMap::new(),
                retryable: None,
                source: None,
            })
        })
    }

    /// 400 `bad_request`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::bad_request();
    /// assert_eq!(error.status(), 400);
    /// assert_eq!(error.code(), "bad_request");
    /// ```
    #[must_use]
    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST)
    }

    /// 400 `missing_parameter`, with the parameter's name as the `param` member.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::missing_parameter("customer_id");
    /// assert_eq!(error.code(), "missing_parameter");
    /// assert_eq!(error.member("param").unwrap(), "customer_id");
    /// ```
    #[must_use]
    pub fn missing_parameter(param: impl Into<Cow<'static, str>>) -> Self {
        let param = param.into();
        Self::bad_request()
            .with_code("missing_parameter")
            .with_detail(format!("The required parameter `{param}` is missing."))
            .with("param", param.into_owned())
    }

    /// 401 `unauthorized`, with a `WWW-Authenticate` challenge (RFC 9110 §15.5.2 requires one):
    /// a `&'static str`, a `String` (from configuration) or a `HeaderValue`.
    ///
    /// A challenge that is not a valid header value (a newline from a configuration file) does
    /// not panic in the handler: it is dropped with a `tracing` warning, and the 401 gets the
    /// layer's own [`challenge`](crate::ApiErrorLayer::challenge) instead (`Bearer` by
    /// default), so that it still carries one.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::unauthorized("Bearer realm=\"api\"");
    /// assert_eq!(error.headers()["www-authenticate"], "Bearer realm=\"api\"");
    ///
    /// let realm = String::from("admin");
    /// let error = ApiError::unauthorized(format!("Basic realm=\"{realm}\""));
    /// assert_eq!(error.headers()["www-authenticate"], "Basic realm=\"admin\"");
    ///
    /// // Not a header value: the layer's challenge will be sent.
    /// let error = ApiError::unauthorized("Basic realm=\"a\nb\"");
    /// assert!(!error.headers().contains_key("www-authenticate"));
    /// ```
    #[must_use]
    pub fn unauthorized<V>(challenge: V) -> Self
    where
        V: TryInto<HeaderValue>,
    {
        let error = Self::new(StatusCode::UNAUTHORIZED);
        match challenge.try_into() {
            Ok(challenge) => error.with_header(WWW_AUTHENTICATE, challenge),
            Err(_) => {
                tracing::warn!(target: "tower_api_errors::error", "ignored a WWW-Authenticate challenge that is not a valid header value; the layer's challenge is sent");
                error
            }
        }
    }

    /// 403 `forbidden`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::forbidden();
    /// assert_eq!(error.status(), 403);
    /// assert_eq!(error.code(), "forbidden");
    /// ```
    #[must_use]
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN)
    }

    /// 404 `not_found`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::not_found();
    /// assert_eq!(error.status(), 404);
    /// assert_eq!(error.code(), "not_found");
    /// ```
    #[must_use]
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }

    /// 405 `method_not_allowed`, with `Allow` listing `allowed` (RFC 9110 §15.5.6 requires it).
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::method_not_allowed([Method::GET, Method::HEAD]);
    /// assert_eq!(error.headers()["allow"], "GET, HEAD");
    /// ```
    #[must_use]
    pub fn method_not_allowed(allowed: impl IntoIterator<Item = Method>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED).with_header(ALLOW, allow_header(allowed))
    }

    /// 408 `request_timeout`: the client was too slow to send its request.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::request_timeout();
    /// assert_eq!(error.status(), 408);
    /// assert_eq!(error.code(), "request_timeout");
    /// ```
    #[must_use]
    pub fn request_timeout() -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT)
    }

    /// 413 `payload_too_large`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::payload_too_large();
    /// assert_eq!(error.status(), 413);
    /// assert_eq!(error.code(), "payload_too_large");
    /// ```
    #[must_use]
    pub fn payload_too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE)
    }

    /// 415 `unsupported_media_type`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::unsupported_media_type();
    /// assert_eq!(error.status(), 415);
    /// assert_eq!(error.code(), "unsupported_media_type");
    /// ```
    #[must_use]
    pub fn unsupported_media_type() -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE)
    }

    /// 422 `unprocessable_entity`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::unprocessable_entity();
    /// assert_eq!(error.status(), 422);
    /// assert_eq!(error.code(), "unprocessable_entity");
    /// ```
    #[must_use]
    pub fn unprocessable_entity() -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY)
    }

    /// 429 `too_many_requests`, with `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::too_many_requests(Duration::from_secs(30));
    /// assert_eq!(error.status(), 429);
    /// assert_eq!(error.code(), "too_many_requests");
    /// assert_eq!(error.headers()["retry-after"], "30");
    /// ```
    #[must_use]
    pub fn too_many_requests(retry_after: Duration) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS).with_retry_after(retry_after)
    }

    /// 500 `internal_error`. Its message is the API document's "Server Error".
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::internal_error();
    /// assert_eq!(error.status(), 500);
    /// assert_eq!(error.code(), "internal_error");
    /// ```
    #[must_use]
    pub fn internal_error() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 501 `not_implemented`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::not_implemented();
    /// assert_eq!(error.status(), 501);
    /// assert_eq!(error.code(), "not_implemented");
    /// ```
    #[must_use]
    pub fn not_implemented() -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED)
    }

    /// 503 `service_unavailable`, with `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::service_unavailable(Duration::from_secs(30));
    /// assert_eq!(error.status(), 503);
    /// assert_eq!(error.code(), "service_unavailable");
    /// assert_eq!(error.headers()["retry-after"], "30");
    /// ```
    #[must_use]
    pub fn service_unavailable(retry_after: Duration) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE).with_retry_after(retry_after)
    }

    /// 503 `overloaded`: too many requests at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::overloaded(Duration::from_secs(30));
    /// assert_eq!(error.status(), 503);
    /// assert_eq!(error.code(), "overloaded");
    /// assert_eq!(error.headers()["retry-after"], "30");
    /// ```
    #[must_use]
    pub fn overloaded(retry_after: Duration) -> Self {
        Self::service_unavailable(retry_after)
            .with_code("overloaded")
            .with_detail(
                "We received too many requests to process at once. Retry after the time given in Retry-After.",
            )
    }

    /// 503 `maintenance`: the service is switched off for maintenance.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::maintenance(Duration::from_secs(30));
    /// assert_eq!(error.status(), 503);
    /// assert_eq!(error.code(), "maintenance");
    /// assert_eq!(error.headers()["retry-after"], "30");
    /// ```
    #[must_use]
    pub fn maintenance(retry_after: Duration) -> Self {
        Self::service_unavailable(retry_after)
            .with_code("maintenance")
            .with_detail(
                "We are performing maintenance. Retry after the time given in Retry-After.",
            )
    }

    /// 504 `gateway_timeout`.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::gateway_timeout();
    /// assert_eq!(error.status(), 504);
    /// assert_eq!(error.code(), "gateway_timeout");
    /// ```
    #[must_use]
    pub fn gateway_timeout() -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT)
    }

    /// Replaces the stable `error` code.
    #[must_use]
    ///
    /// A code is what clients switch on, so the schemas hold it to `^[a-z][a-z0-9_]*$`. Any
    /// other text is rewritten in `snake_case` (and the call logged as a warning), never sent as
    /// written:
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// assert_eq!(ApiError::not_found().with_code("Payment Not Found!").code(), "payment_not_found");
    /// ```
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        if let Some(code) = text::snake_code(code.into()) {
            self.custom().code = code;
        }
        self
    }

    /// Replaces the `detail` (by default, the API document's Explanation for the status).
    ///
    /// For 5xx errors, keep internal text (error messages, paths) out of it: it is sent.
    ///
    /// A detail is at most [`MAX_DETAIL_CHARS`](crate::body::MAX_DETAIL_CHARS) (2 048) characters, as
    /// the schemas say: a longer one is cut there, on a character boundary, ending in `…` (and
    /// the call logged as a warning); an empty one is ignored.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let path = "a/".repeat(1500);
    /// let error = ApiError::not_found().with_detail(format!("There is no file {path}."));
    /// assert_eq!(error.detail().chars().count(), 2048);
    /// assert!(error.detail().ends_with('…'));
    /// ```
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<Cow<'static, str>>) -> Self {
        if let Some(detail) = text::bounded(detail.into(), "ApiError::with_detail") {
            self.custom().detail = Some(detail);
        }
        self
    }

    /// Adds the body member `key`, or replaces it. A key of [`RESERVED_MEMBERS`] is ignored
    /// (and logged): the contract's members are the layer's to set.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::not_found().with("note_id", 7).with("ok", false);
    /// assert_eq!(error.member("note_id").unwrap(), 7);
    /// // `ok` is the contract's: ignored.
    /// assert!(error.member("ok").is_none());
    /// ```
    #[must_use]
    pub fn with(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        let key = key.into();
        if RESERVED_MEMBERS.contains(&key.as_ref()) {
            tracing::warn!(target: "tower_api_errors::error", member = %key, "ignored an error member that the contract reserves");
            return self;
        }
        let value = value.into();
        let members = &mut self.custom().members;
        match members.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => members.push((key, value)),
        }
        self
    }

    /// `planned: true`: the 405 of a planned method (the one place it is set, so that the
    /// schema's `const` holds).
    pub(crate) fn with_planned(mut self) -> Self {
        self.custom()
            .members
            .push((Cow::Borrowed("planned"), Value::Bool(true)));
        self
    }

    /// Adds a response header, replacing any of the same name. Name and value convert as in
    /// `http::response::Builder::header`: a `HeaderName` / `HeaderValue`, or a `&str` or
    /// `String` (`"x-quota"`, `format!("{remaining}")`).
    ///
    /// A name or value that is not valid in a header (a space in the name, a newline in the
    /// value) is dropped with a `tracing` warning rather than a panic: an error is often built
    /// from what a client sent, and the answer is still worth sending without that header.
    ///
    /// Headers that describe or frame the body (`Content-Type`, `Content-Length`,
    /// `Content-Encoding`, `Content-Range`, `Transfer-Encoding`, `Trailer`) are the renderer's:
    /// they are dropped, with a warning, since they would contradict the body actually sent
    /// (a `Transfer-Encoding: chunked` beside a `Content-Length` makes HTTP/1 clients drop the
    /// connection).
    ///
    /// ```
    /// use http::header::{CACHE_CONTROL, TRANSFER_ENCODING};
    /// use http::HeaderValue;
    /// use tower_api_errors::ApiError;
    ///
    /// let remaining = 0;
    /// let error = ApiError::not_found()
    ///     .with_header(CACHE_CONTROL, HeaderValue::from_static("max-age=60"))
    ///     .with_header("x-quota-remaining", remaining.to_string())
    ///     .with_header("x-echo", "bad\nvalue")
    ///     .with_header(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    /// assert_eq!(error.headers()["cache-control"], "max-age=60");
    /// assert_eq!(error.headers()["x-quota-remaining"], "0");
    /// assert!(!error.headers().contains_key("x-echo"));
    /// assert!(!error.headers().contains_key("transfer-encoding"));
    /// ```
    #[must_use]
    pub fn with_header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        let name = match name.try_into() {
            Ok(name) => name,
            Err(error) => {
                tracing::warn!(target: "tower_api_errors::error", %error, "ignored an invalid header name on an ApiError");
                return self;
            }
        };
        let value = match value.try_into() {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(target: "tower_api_errors::error", header = %name, %error, "ignored an invalid header value on an ApiError");
                return self;
            }
        };
        if BODY_HEADERS.contains(&name) {
            tracing::warn!(target: "tower_api_errors::error", header = %name, "ignored a body header on an ApiError: the layer writes it");
            return self;
        }
        self.custom().headers.insert(name, value);
        self
    }

    /// Sets `Retry-After` (whole seconds, rounded up, at least 1 and at most
    /// [`MAX_RETRY_AFTER`]) and so the `retry_after` member. Never 0: a refusal that tells
    /// clients to come back at once invites them all back at once (urllib3's `Retry` then
    /// spends its three retries within 10 ms).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::service_unavailable(Duration::from_millis(1500));
    /// assert_eq!(error.headers()["retry-after"], "2");
    /// let error = ApiError::service_unavailable(Duration::MAX);
    /// assert_eq!(error.headers()["retry-after"], "86400");
    /// let error = ApiError::service_unavailable(Duration::ZERO);
    /// assert_eq!(error.headers()["retry-after"], "1");
    /// ```
    #[must_use]
    pub fn with_retry_after(self, retry_after: Duration) -> Self {
        let seconds = retry_after
            .min(MAX_RETRY_AFTER)
            .as_secs()
            .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
            .clamp(1, MAX_RETRY_AFTER.as_secs());
        self.with_header(RETRY_AFTER, number_value(seconds))
    }

    /// Says whether the same request can succeed later (the `retryable` member). By default it
    /// is true for 408, 429, 503 and 504, false for every other status.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// assert!(!ApiError::not_found().is_retryable());
    /// assert!(ApiError::not_found().retryable(true).is_retryable());
    /// assert!(ApiError::gateway_timeout().is_retryable());
    /// ```
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.custom().retryable = Some(retryable);
        self
    }

    /// Keeps what caused the error: [`Error::source`](std::error::Error::source) returns it,
    /// and the layer logs it (its `Display`, then its own sources) in the error's `error
    /// response` event, as the `source` field. It is never sent: a database's message is
    /// internal text, and the body keeps the status's words or the [`detail`](Self::with_detail)
    /// the handler chose.
    ///
    /// With it a handler's `?` needs one `map_err`, and no logging of its own:
    ///
    /// ```
    /// use std::error::Error;
    /// use tower_api_errors::ApiError;
    ///
    /// fn load(id: &str) -> Result<u64, ApiError> {
    ///     id.parse::<u64>()
    ///         .map_err(|e| ApiError::internal_error().with_source(e))
    /// }
    ///
    /// let error = load("seven").unwrap_err();
    /// assert_eq!(error.source().unwrap().to_string(), "invalid digit found in string");
    /// // The body says only what the status says.
    /// assert_eq!(error.detail(), "An error occurred on our side.");
    /// ```
    #[must_use]
    pub fn with_source(mut self, source: impl Into<crate::classify::BoxError>) -> Self {
        self.custom().source = Some(Arc::from(source.into()));
        self
    }

    /// The HTTP status.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// assert_eq!(ApiError::not_found().status(), http::StatusCode::NOT_FOUND);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable `error` code.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// assert_eq!(ApiError::not_found().code(), "not_found");
    /// assert_eq!(ApiError::not_found().with_code("note_not_found").code(), "note_not_found");
    /// ```
    pub fn code(&self) -> &str {
        match &self.custom {
            Some(custom) => &custom.code,
            None => catalog::lookup(self.status).code,
        }
    }

    /// The `message`: the API document's Message for the status.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// assert_eq!(ApiError::not_found().message(), "Not Found");
    /// ```
    pub fn message(&self) -> &'static str {
        catalog::lookup(self.status).message
    }

    /// The `detail`: the one set, or the API document's Explanation for the status.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::not_found().with_detail("No note has this id.");
    /// assert_eq!(error.detail(), "No note has this id.");
    /// assert!(!ApiError::not_found().detail().is_empty());
    /// ```
    pub fn detail(&self) -> &str {
        match self.custom.as_ref().and_then(|c| c.detail.as_ref()) {
            Some(detail) => detail,
            None => catalog::lookup(self.status).explanation,
        }
    }

    /// The `detail` set with [`with_detail`](Self::with_detail), if any.
    pub(crate) fn own_detail(&self) -> Option<&str> {
        self.custom.as_ref().and_then(|c| c.detail.as_deref())
    }

    /// An extra member added with [`ApiError::with`].
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::bad_request().with("limit", 100);
    /// assert_eq!(error.member("limit"), Some(&serde_json::json!(100)));
    /// assert_eq!(error.member("offset"), None);
    /// ```
    pub fn member(&self, key: &str) -> Option<&Value> {
        self.members().find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The extra members, in the order they were added.
    ///
    /// ```
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::bad_request().with("limit", 100).with("max", 50);
    /// let keys: Vec<&str> = error.members().map(|(key, _)| key).collect();
    /// assert_eq!(keys, ["limit", "max"]);
    /// ```
    pub fn members(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.custom
            .iter()
            .flat_map(|custom| custom.members.iter())
            .map(|(k, v)| (k.as_ref(), v))
    }

    /// The headers that go with the error (`Allow`, `Retry-After`, `WWW-Authenticate`, …).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::too_many_requests(Duration::from_secs(5));
    /// assert_eq!(error.headers()["retry-after"], "5");
    /// assert!(ApiError::not_found().headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        static NONE: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);
        self.custom.as_ref().map_or(&NONE, |custom| &custom.headers)
    }

    /// The code, as kept (a `&'static str` is not copied); `None` for the status's own.
    pub(crate) fn code_cow(&self) -> Option<&Cow<'static, str>> {
        self.custom.as_ref().map(|custom| &custom.code)
    }

    pub(crate) fn take_headers(&mut self) -> HeaderMap {
        self.custom
            .as_mut()
            .map(|custom| std::mem::take(&mut custom.headers))
            .unwrap_or_default()
    }

    /// Whether the same request can succeed later: the `retryable` member.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::ApiError;
    ///
    /// assert!(ApiError::overloaded(Duration::from_secs(1)).is_retryable());
    /// assert!(!ApiError::bad_request().is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.custom
            .as_ref()
            .and_then(|custom| custom.retryable)
            .unwrap_or(matches!(self.status.as_u16(), 408 | 429 | 503 | 504))
    }

    /// Whether the body says nothing but the status's defaults: no detail, member, retry
    /// advice or code of its own. Such bodies are rendered once per status and reused.
    pub(crate) fn is_default(&self) -> bool {
        self.custom.as_ref().is_none_or(|custom| {
            custom.detail.is_none()
                && custom.members.is_empty()
                && custom.retryable.is_none()
                && custom.code == catalog::lookup(self.status).code
        })
    }

    /// Follows a status that a middleware between the handler and the layer changed (a 404
    /// made a 410): the code and the default detail become the new status's, unless the error
    /// chose its own.
    pub(crate) fn follow_status(&mut self, status: StatusCode) {
        if self.status == status || !(status.is_client_error() || status.is_server_error()) {
            return;
        }
        let old = catalog::lookup(self.status).code;
        if let Some(custom) = self.custom.as_mut().filter(|c| c.code == old) {
            custom.code = Cow::Borrowed(catalog::lookup(status).code);
        }
        self.status = status;
    }

    /// The extra members, reserved ones included: for the typed setters of other modules.
    pub(crate) fn members_mut(&mut self) -> &mut Vec<(Cow<'static, str>, Value)> {
        &mut self.custom().members
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code(),
            self.detail()
        )
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.custom.as_ref()?.source.as_ref()?;
        Some(&**source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_catalog() {
        let error = ApiError::internal_error();
        assert_eq!(error.code(), "internal_error");
        assert_eq!(error.message(), "Server Error");
        assert_eq!(error.detail(), "An error occurred on our side.");
    }

    #[test]
    fn with_replaces_a_member_and_keeps_its_place() {
        let error = ApiError::bad_request()
            .with("a", 1)
            .with("b", 2)
            .with("a", 3);
        let members: Vec<_> = error.members().collect();
        assert_eq!(members, [("a", &Value::from(3)), ("b", &Value::from(2))]);
    }

    #[test]
    fn reserved_members_are_ignored() {
        for key in RESERVED_MEMBERS {
            assert!(ApiError::bad_request().with(*key, 1).member(key).is_none());
        }
    }

    #[test]
    #[should_panic(expected = "needs an error status")]
    fn a_success_status_is_no_error() {
        let _ = ApiError::new(StatusCode::NO_CONTENT);
    }

    #[test]
    fn retry_after_is_clamped_to_a_day() {
        let error = ApiError::service_unavailable(Duration::MAX);
        assert_eq!(error.headers()[RETRY_AFTER], "86400");
        let error = ApiError::service_unavailable(Duration::from_secs(86_401));
        assert_eq!(error.headers()[RETRY_AFTER], "86400");
    }

    #[test]
    fn body_headers_cannot_be_set() {
        for name in BODY_HEADERS {
            let error =
                ApiError::bad_request().with_header(name.clone(), HeaderValue::from_static("x"));
            assert!(error.headers().is_empty(), "{name}");
        }
    }

    #[test]
    fn a_changed_status_brings_its_code_unless_the_error_chose_one() {
        let mut error = ApiError::not_found();
        error.follow_status(StatusCode::GONE);
        assert_eq!((error.status(), error.code()), (StatusCode::GONE, "gone"));
        assert_eq!(error.message(), "Gone");
        let mut error = ApiError::not_found().with_code("no_such_note");
        error.follow_status(StatusCode::GONE);
        assert_eq!(error.code(), "no_such_note");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let error = ApiError::overloaded(Duration::from_millis(1500));
        assert_eq!(error.headers()[RETRY_AFTER], "2");
        assert_eq!(error.code(), "overloaded");
    }

    #[test]
    fn retryable_follows_the_status_unless_set() {
        for (status, retryable) in [(408, true), (429, true), (503, true), (504, true)]
            .into_iter()
            .chain([400, 404, 405, 409, 500, 501, 502].map(|s| (s, false)))
        {
            let error = ApiError::new(StatusCode::from_u16(status).unwrap());
            assert_eq!(error.is_retryable(), retryable, "{status}");
            assert_eq!(
                error.clone().retryable(!retryable).is_retryable(),
                !retryable
            );
        }
    }
}
