//! Rendering an [`ApiError`] into a response: the body contract, in JSON or
//! `application/problem+json`, and the headers that go with it.

use std::io::Write;

use bytes::Bytes;
use http::header::HeaderName;
use http::header::{
    ACCEPT, ALLOW, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    LAST_MODIFIED, RETRY_AFTER, TRANSFER_ENCODING, VARY, WWW_AUTHENTICATE,
};
use http::uri::PathAndQuery;
use http::{response, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use crate::body::ErrorBody;
use crate::ApiError;

/// How error bodies are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// `application/json`: the flat object of the contract (`ok`, `status`, `error`,
    /// `message`, `detail`, …).
    #[default]
    Json,
    /// `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, `instance`,
    /// with the contract's other members as extensions.
    Problem,
}

impl Format {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Format::Json => "application/json",
            Format::Problem => "application/problem+json",
        })
    }
}

/// Rendering settings. `Copy`, so that a response future carries its own and needs no
/// reference-counted handle to the layer's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rendering {
    pub(crate) format: Format,
    pub(crate) negotiate: bool,
    pub(crate) problem_type_base: Option<&'static str>,
    /// A valid header value: checked when configured.
    pub(crate) challenge: &'static str,
}

impl Default for Rendering {
    fn default() -> Self {
        Self {
            format: Format::Json,
            negotiate: true,
            problem_type_base: None,
            challenge: "Bearer",
        }
    }
}

// A static, not a const: a const would build and drop a `HeaderName` at every use.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest `x-request-id` echoed in `request_id`.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// What the layer remembers of a request to render its errors after the request itself has
/// moved into the inner service. Copying it allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) format: Format,
    pub(crate) head: bool,
    request_id: RequestId,
    instance: Option<PathAndQuery>,
}

impl RequestContext {
    pub(crate) fn capture<B>(req: &Request<B>, rendering: &Rendering) -> Self {
        let format = if rendering.negotiate {
            negotiate(rendering.format, req.headers())
        } else {
            rendering.format
        };
        Self {
            format,
            head: req.method() == Method::HEAD,
            request_id: RequestId::from_headers(req.headers()),
            // Only the problem format names the request's path; the JSON format must not pay
            // for it.
            instance: (format == Format::Problem)
                .then(|| req.uri().path_and_query().cloned())
                .flatten(),
        }
    }
}

impl ApiError {
    /// The response a handler sends without the layer: JSON, no `request_id`. Under the layer
    /// it is rendered again, for the request at hand.
    fn into_detached_response(self) -> Response<ErrorBody> {
        let ctx = RequestContext {
            format: Format::Json,
            head: false,
            request_id: RequestId::NONE,
            instance: None,
        };
        let carried = self.clone();
        let mut response = respond(self, fresh_parts(), &ctx, &Rendering::default());
        // The layer recognizes a domain error by this extension and renders it itself.
        response.extensions_mut().insert(carried);
        response
    }
}

/// Without the layer, an [`ApiError`] is a complete JSON response.
///
/// ```
/// use http::Response;
/// use tower_api_errors::{ApiError, ErrorBody};
///
/// let response = Response::<ErrorBody>::from(ApiError::not_found());
/// assert_eq!(response.status(), 404);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
impl From<ApiError> for Response<ErrorBody> {
    fn from(error: ApiError) -> Self {
        error.into_detached_response()
    }
}

impl<B> From<ApiError> for Response<crate::ResponseBody<B>> {
    fn from(error: ApiError) -> Self {
        error
            .into_detached_response()
            .map(crate::ResponseBody::from)
    }
}

/// A copy of a safe `x-request-id`, kept inline so that remembering it never allocates.
#[derive(Clone, Copy)]
struct RequestId {
    len: u8,
    bytes: [u8; MAX_REQUEST_ID_LEN],
}

impl RequestId {
    const NONE: Self = Self {
        len: 0,
        bytes: [0; MAX_REQUEST_ID_LEN],
    };

    fn from_headers(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(&X_REQUEST_ID) else {
            return Self::NONE;
        };
        let value = value.as_bytes();
        // Echo only short tokens: no control characters, quotes or markup can come back.
        let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b);
        if value.is_empty() || value.len() > MAX_REQUEST_ID_LEN || !value.iter().all(safe) {
            return Self::NONE;
        }
        let mut id = Self::NONE;
        id.bytes[..value.len()].copy_from_slice(value);
        id.len = value.len() as u8;
        id
    }

    fn as_str(&self) -> Option<&str> {
        let bytes = &self.bytes[..usize::from(self.len)];
        // Only ASCII is ever stored.
        (!bytes.is_empty()).then(|| std::str::from_utf8(bytes).unwrap_or_default())
    }
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// Picks the format from `Accept`: an explicit preference for one of the two JSON media types
/// wins, anything else keeps `default`.
fn negotiate(default: Format, headers: &HeaderMap) -> Format {
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return default;
    };
    // The common case ("*/*", "application/json", a browser's list) never names problem+json:
    // skip the parse when it could not change the answer.
    let names_problem = accept
        .as_bytes()
        .windows(b"problem+json".len())
        .any(|w| w.eq_ignore_ascii_case(b"problem+json"));
    if default == Format::Json && !names_problem {
        return default;
    }
    let (mut json, mut problem) = (0.0_f32, 0.0_f32);
    for range in accept.split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or_default().trim();
        let q = params
            .filter_map(|p| {
                let p = p.trim();
                p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
            })
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("application/json") {
            json = json.max(q);
        } else if media.eq_ignore_ascii_case("application/problem+json") {
            problem = problem.max(q);
        }
    }
    if problem > 0.0 && problem > json {
        Format::Problem
    } else if json > 0.0 && json > problem {
        Format::Json
    } else {
        default
    }
}

/// Representation headers of an inner body that the error body replaces.
const REPLACED_HEADERS: [http::header::HeaderName; 7] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    CONTENT_RANGE,
    TRANSFER_ENCODING,
    ETAG,
    LAST_MODIFIED,
];

/// The response for `error`, on top of `parts` (an inner response's head, whose other headers
/// and extensions are kept, or a fresh one).
pub(crate) fn respond(
    mut error: ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    for name in &REPLACED_HEADERS {
        // A 416 keeps its `Content-Range: bytes */length` (RFC 9110 §15.5.17).
        if !(name == CONTENT_RANGE && parts.status == StatusCode::RANGE_NOT_SATISFIABLE) {
            parts.headers.remove(name);
        }
    }
    parts.status = error.status();
    parts.headers.extend(std::mem::take(error.headers_mut()));
    if parts.status == StatusCode::METHOD_NOT_ALLOWED && !parts.headers.contains_key(ALLOW) {
        // RFC 9110 §15.5.6 requires Allow; only the code that refused the method knows it.
        tracing::warn!("a 405 without Allow: build it with ApiError::method_not_allowed");
    }
    if rendering.negotiate {
        // The body's format depends on Accept: caches must not serve one client's to another.
        parts
            .headers
            .append(VARY, HeaderValue::from_static("accept"));
    }
    if parts.status == StatusCode::UNAUTHORIZED && !parts.headers.contains_key(WWW_AUTHENTICATE) {
        parts.headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(rendering.challenge),
        );
    }
    let body = render(&error, &parts.headers, ctx, rendering);
    parts
        .headers
        .insert(CONTENT_TYPE, ctx.format.content_type());
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let body = if ctx.head {
        ErrorBody::empty()
    } else {
        ErrorBody::new(body)
    };
    Response::from_parts(parts, body)
}

/// A fresh response head.
pub(crate) fn fresh_parts() -> response::Parts {
    Response::new(()).into_parts().0
}

/// The body: members in the contract's order, then the error's own members.
fn render(
    error: &ApiError,
    headers: &HeaderMap,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Bytes {
    let mut out = JsonObject::default();
    let status = error.status().as_u16();
    match ctx.format {
        Format::Json => {
            out.member("ok", &false);
            out.member("status", &status);
            out.member("error", error.code());
            out.member("message", error.message());
            out.member("detail", error.detail());
        }
        Format::Problem => {
            match rendering.problem_type_base {
                Some(base) => out.member("type", &format!("{base}{}", error.code())),
                None => out.member("type", "about:blank"),
            }
            out.member("title", error.message());
            out.member("status", &status);
            out.member("detail", error.detail());
            if let Some(path_and_query) = &ctx.instance {
                out.member("instance", path_and_query.path());
            }
            out.member("ok", &false);
            out.member("error", error.code());
        }
    }
    if matches!(status, 405 | 501) && headers.contains_key(ALLOW) {
        out.member("allowed", &allowed_methods(headers));
    }
    if let Some(seconds) = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    {
        out.member("retry_after", &seconds);
    }
    if let Some(id) = ctx.request_id.as_str() {
        out.member("request_id", id);
    }
    for (key, value) in error.members() {
        out.member(key, value);
    }
    out.finish()
}

/// The methods of every `Allow` field (a list may be split over several), in order, each once;
/// anything that is not a method token is left out.
fn allowed_methods(headers: &HeaderMap) -> Vec<&str> {
    let mut methods: Vec<&str> = Vec::new();
    let tokens = headers
        .get_all(ALLOW)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| Method::from_bytes(token.as_bytes()).is_ok());
    for token in tokens {
        if !methods.contains(&token) {
            methods.push(token);
        }
    }
    methods
}

/// A JSON object written member by member; serde_json does the escaping.
struct JsonObject {
    buf: Vec<u8>,
}

impl Default for JsonObject {
    fn default() -> Self {
        // Most bodies fit: one allocation instead of a series of reallocations.
        Self {
            buf: Vec::with_capacity(256),
        }
    }
}

impl JsonObject {
    fn member<T: serde::Serialize + ?Sized>(&mut self, key: &str, value: &T) {
        self.buf.push(if self.buf.is_empty() { b'{' } else { b',' });
        // Writing into a Vec cannot fail, and keys and values are valid JSON values.
        serde_json::to_writer(&mut self.buf, key).expect("a string serializes");
        self.buf.push(b':');
        serde_json::to_writer(&mut self.buf, value).expect("a JSON value serializes");
    }

    fn finish(mut self) -> Bytes {
        self.buf.write_all(b"}").expect("writing to a Vec");
        Bytes::from(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
        headers
    }

    #[test]
    fn accept_picks_the_preferred_json_type() {
        use Format::*;
        assert_eq!(
            negotiate(Json, &headers("application/problem+json")),
            Problem
        );
        assert_eq!(
            negotiate(
                Json,
                &headers("application/json;q=0.5, application/problem+json")
            ),
            Problem
        );
        assert_eq!(
            negotiate(
                Json,
                &headers("application/json, application/problem+json;q=0.9")
            ),
            Json
        );
        assert_eq!(negotiate(Problem, &headers("application/json")), Json);
        assert_eq!(negotiate(Problem, &headers("*/*")), Problem);
        assert_eq!(
            negotiate(Json, &headers("application/problem+json;q=0")),
            Json
        );
        assert_eq!(
            negotiate(Json, &headers("Application/Problem+JSON")),
            Problem
        );
        assert_eq!(
            negotiate(
                Json,
                &headers("application/json;Q=0.1, application/problem+json")
            ),
            Problem
        );
        assert_eq!(negotiate(Json, &HeaderMap::new()), Json);
    }

    #[test]
    fn allowed_reads_every_allow_field_once_and_only_tokens() {
        let mut headers = HeaderMap::new();
        headers.append(ALLOW, HeaderValue::from_static("GET"));
        headers.append(ALLOW, HeaderValue::from_static("POST, GET,,"));
        headers.append(ALLOW, HeaderValue::from_static("bad token, HEAD"));
        assert_eq!(allowed_methods(&headers), ["GET", "POST", "HEAD"]);
    }

    #[test]
    fn a_416_keeps_its_content_range_and_negotiated_bodies_vary() {
        let mut parts = fresh_parts();
        parts.status = StatusCode::RANGE_NOT_SATISFIABLE;
        parts
            .headers
            .insert(CONTENT_RANGE, HeaderValue::from_static("bytes */1000"));
        let ctx = RequestContext::capture(&Request::new(()), &Rendering::default());
        let error = ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE);
        let response = respond(error, parts, &ctx, &Rendering::default());
        assert_eq!(response.headers()[CONTENT_RANGE], "bytes */1000");
        assert_eq!(response.headers()[VARY], "accept");
    }

    #[test]
    fn request_id_must_be_a_short_token() {
        let id = |value: &[u8]| {
            let mut headers = HeaderMap::new();
            headers.insert("x-request-id", HeaderValue::from_bytes(value).unwrap());
            RequestId::from_headers(&headers)
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(id(b"4f1c2e9a").as_deref(), Some("4f1c2e9a"));
        assert_eq!(id(b"a\"b"), None);
        assert_eq!(id(b"<script>"), None);
        assert_eq!(id(&[b'a'; MAX_REQUEST_ID_LEN]).map(|s| s.len()), Some(64));
        assert_eq!(id(&[b'a'; MAX_REQUEST_ID_LEN + 1]), None);
        assert_eq!(id(b""), None);
    }
}
