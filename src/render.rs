//! Rendering an [`ApiError`] into a response: the body contract, in JSON or
//! `application/problem+json`, and the headers that go with it.
//!
//! The error path is a hot path too (overload, scanners), so the body is written straight into
//! one buffer (no `serde_json::Value`), numbers in headers come from a static table, and the
//! answers whose bytes do not depend on the request are rendered once ([`Canned`]).

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use http::header::{
    HeaderName, ACCEPT, ALLOW, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE,
    CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED,
    RETRY_AFTER, TRAILER, TRANSFER_ENCODING, VARY, WWW_AUTHENTICATE,
};
use http::uri::PathAndQuery;
use http::{response, HeaderMap, HeaderValue, Request, Response, StatusCode};
use serde_json::Value;

use crate::body::ErrorBody;
use crate::methods::MethodId;
use crate::{observe, ApiError};

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

/// Rendering settings. Kept for the life of the program once per distinct value
/// ([`Rendering::kept`]), so that a response future carries a plain reference to them: no
/// reference count, and eight bytes to move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rendering {
    pub(crate) format: Format,
    pub(crate) negotiate: bool,
    pub(crate) problem_type_base: Option<&'static str>,
    pub(crate) challenge: &'static HeaderValue,
    /// Whether an inner `405` to `OPTIONS` becomes `204` with `Allow`, and `Allow` lists it.
    pub(crate) answer_options: bool,
}

static BEARER: HeaderValue = HeaderValue::from_static("Bearer");

impl Default for Rendering {
    fn default() -> Self {
        Self {
            format: Format::Json,
            negotiate: true,
            problem_type_base: None,
            challenge: &BEARER,
            answer_options: true,
        }
    }
}

impl Rendering {
    /// These settings, kept (once per distinct value).
    pub(crate) fn kept(self) -> &'static Self {
        static KEPT: Mutex<Vec<&'static Rendering>> = Mutex::new(Vec::new());
        keep(self, &KEPT)
    }
}

/// Keeps a configuration value for the life of the program, once per distinct value, so that
/// the `Copy` rendering settings can point at it. Configuration is built a handful of times
/// per process; the same value configured again is found, not kept twice.
pub(crate) fn keep<T: PartialEq + Send + Sync>(
    value: T,
    kept: &Mutex<Vec<&'static T>>,
) -> &'static T {
    let mut kept = kept
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = kept.iter().find(|k| ***k == value) {
        return found;
    }
    let leaked: &'static T = Box::leak(Box::new(value));
    kept.push(leaked);
    leaked
}

// A static, not a const: a const would build and drop a `HeaderName` at every use.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest `x-request-id` echoed in `request_id`.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// What the layer remembers of a request to render its errors after the request itself has
/// moved into the inner service. Building it allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) format: Format,
    method: MethodId,
    /// The first `x-request-id` field line that is a safe token.
    request_id: Option<HeaderValue>,
    instance: Option<PathAndQuery>,
}

impl RequestContext {
    #[inline(always)]
    pub(crate) fn capture<B>(req: &Request<B>, method: MethodId, rendering: &Rendering) -> Self {
        let headers = req.headers();
        // Nothing to look up in an empty map: skip the lookups, not only their results.
        let (format, request_id) = if headers.is_empty() {
            (rendering.format, None)
        } else {
            let format = if rendering.negotiate {
                negotiate(rendering.format, headers)
            } else {
                rendering.format
            };
            (format, request_id(headers))
        };
        Self {
            format,
            method,
            request_id,
            // For a problem document's `instance`, and the error event's `path` when a
            // subscriber could take it: a reference count, not a copy, and nothing at all
            // (not even that) when neither needs it.
            instance: (format == Format::Problem || observe::events_enabled())
                .then(|| original_path(req))
                .flatten(),
        }
    }

    /// Whether the request is a `HEAD`: its answer has the head of a `GET`'s, and no body.
    pub(crate) fn is_head(&self) -> bool {
        self.method == MethodId::HEAD
    }

    /// The request method's name, unless it is an extension method other than `QUERY`.
    pub(crate) fn method(&self) -> Option<&'static str> {
        self.method.name()
    }

    /// The request's path, without the query.
    pub(crate) fn instance_path(&self) -> Option<&str> {
        self.instance.as_ref().map(PathAndQuery::path)
    }

    /// For a response rendered without a request (no layer): JSON, nothing echoed.
    fn detached() -> Self {
        Self {
            format: Format::Json,
            method: MethodId::OTHER,
            request_id: None,
            instance: None,
        }
    }

    /// Whether the body is the same for every request: JSON, nothing echoed.
    fn is_plain(&self) -> bool {
        self.format == Format::Json && self.request_id.is_none()
    }

    pub(crate) fn request_id(&self) -> Option<&str> {
        // Only safe ASCII tokens are kept.
        self.request_id.as_ref().and_then(|id| id.to_str().ok())
    }
}

/// The path the client asked for: behind axum's `nest_service` the layer sees the path under
/// the prefix, and axum keeps the original.
fn original_path<B>(req: &Request<B>) -> Option<PathAndQuery> {
    #[cfg(feature = "axum")]
    if let Some(original) = req.extensions().get::<::axum::extract::OriginalUri>() {
        return original.0.path_and_query().cloned();
    }
    req.uri().path_and_query().cloned()
}

/// The first `x-request-id` field line that is a safe token: a proxy that appends its own id
/// after the client's does not hide it, and an unsafe line does not hide a safe one. Only short
/// tokens are echoed: no control characters, quotes or markup can come back. Keeping it is a
/// reference count, not a copy.
fn request_id(headers: &HeaderMap) -> Option<HeaderValue> {
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b);
    headers
        .get_all(&X_REQUEST_ID)
        .iter()
        .find(|v| {
            let v = v.as_bytes();
            !v.is_empty() && v.len() <= MAX_REQUEST_ID_LEN && v.iter().all(safe)
        })
        .cloned()
}

/// Picks the format from every `Accept` field line, as RFC 9110 §12.5.1 says: each type's
/// quality is the one of the most specific range that matches it (`application/json` before
/// `application/*` before `*/*`), `q=0` means "not acceptable", the higher quality wins, and a
/// tie (or nothing acceptable: an error is sent anyway) keeps `default`.
fn negotiate(default: Format, headers: &HeaderMap) -> Format {
    let mut fields = headers.get_all(ACCEPT).iter().peekable();
    if fields.peek().is_none() {
        return default;
    }
    // (specificity, quality in thousandths) of the most specific range seen for each type.
    type Best = Option<(u8, u16)>;
    let (mut json, mut problem): (Best, Best) = (None, None);
    let ranges = fields
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(MediaRange::parse);
    for range in ranges {
        for (subtype, best) in [("json", &mut json), ("problem+json", &mut problem)] {
            if let Some(specificity) = range.matches("application", subtype) {
                *best = match *best {
                    Some((s, q)) if s > specificity => Some((s, q)),
                    Some((s, q)) if s == specificity => Some((s, q.max(range.quality))),
                    _ => Some((specificity, range.quality)),
                };
            }
        }
    }
    let quality = |best: Best| best.map_or(0, |(_, q)| q);
    let (json, problem) = (quality(json), quality(problem));
    match json.cmp(&problem) {
        std::cmp::Ordering::Greater => Format::Json,
        std::cmp::Ordering::Less => Format::Problem,
        std::cmp::Ordering::Equal => default,
    }
}

/// One media range of an `Accept` field.
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    /// Parameters besides `q` make a range more specific than the same range without them.
    has_params: bool,
    quality: u16,
}

impl<'a> MediaRange<'a> {
    fn parse(text: &'a str) -> Option<Self> {
        let mut params = text.split(';');
        let (kind, subtype) = params.next()?.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut range = Self {
            kind,
            subtype,
            has_params: false,
            quality: 1000,
        };
        for param in params {
            let (name, value) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                range.quality = parse_quality(value.trim())?;
                // Everything after the weight is an accept-ext, not a media type parameter.
                break;
            }
            range.has_params = true;
        }
        Some(range)
    }

    /// How specifically this range names `kind/subtype`, or `None` when it does not match.
    fn matches(&self, kind: &str, subtype: &str) -> Option<u8> {
        if self.kind == "*" {
            return Some(1);
        }
        if !self.kind.eq_ignore_ascii_case(kind) {
            return None;
        }
        if self.subtype == "*" {
            return Some(2);
        }
        self.subtype
            .eq_ignore_ascii_case(subtype)
            .then_some(3 + u8::from(self.has_params))
    }
}

/// A `qvalue` (RFC 9110 §12.4.2) in thousandths: `0`, `0.5`, `1`, `1.000`; anything else is
/// invalid.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Headers of an inner body that the error body replaces: they describe a representation
/// that is no longer sent.
const REPLACED_HEADERS: [HeaderName; 15] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    CONTENT_RANGE,
    CONTENT_LANGUAGE,
    CONTENT_LOCATION,
    CONTENT_DISPOSITION,
    HeaderName::from_static("content-md5"),
    HeaderName::from_static("content-digest"),
    HeaderName::from_static("repr-digest"),
    HeaderName::from_static("digest"),
    TRANSFER_ENCODING,
    TRAILER,
    ETAG,
    LAST_MODIFIED,
];

/// An error the layer answers with whose bytes do not depend on the request, rendered once:
/// answering it clones a header map and a reference-counted body. A request that asks for the
/// problem format or echoes an `x-request-id` gets it rendered anew.
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    error: ApiError,
    /// The error's headers, `Content-Type`, `Content-Length` and `Vary`.
    headers: HeaderMap,
    json: Bytes,
}

impl Canned {
    pub(crate) fn new(error: ApiError) -> Self {
        let json = render(
            &error,
            error.headers(),
            &RequestContext::detached(),
            &Rendering::default(),
        );
        let mut headers = HeaderMap::with_capacity(error.headers().len() + 3);
        headers.extend(error.headers().clone());
        headers.insert(CONTENT_TYPE, Format::Json.content_type());
        headers.insert(CONTENT_LENGTH, number_value(json.len() as u64));
        headers.insert(VARY, HeaderValue::from_static("accept"));
        Self {
            error,
            headers,
            json,
        }
    }

    #[cfg(test)]
    pub(crate) fn error(&self) -> &ApiError {
        &self.error
    }

    /// The answer for the request of `ctx`.
    pub(crate) fn respond(
        &self,
        ctx: &RequestContext,
        rendering: &Rendering,
    ) -> Response<ErrorBody> {
        if !ctx.is_plain() {
            return respond(self.error.clone(), fresh_parts(), ctx, rendering);
        }
        observe::error_response(self.error.status(), self.error.code_cow(), ctx);
        let mut headers = self.headers.clone();
        if !rendering.negotiate {
            headers.remove(VARY);
        }
        let body = error_body(ctx, self.json.clone());
        let mut response = Response::new(body);
        *response.status_mut() = self.error.status();
        *response.headers_mut() = headers;
        response
    }
}

/// The JSON body of the status's default error and the head that goes with it, rendered once
/// per status.
struct DefaultBody {
    json: Bytes,
    length: HeaderValue,
    /// `Content-Type`, `Content-Length` and `Vary`: a response with no other header clones it.
    headers: HeaderMap,
    /// The same without `Vary`, for a layer that does not negotiate.
    headers_without_vary: HeaderMap,
}

fn default_body(status: StatusCode) -> &'static DefaultBody {
    static BODIES: [OnceLock<DefaultBody>; 200] = [const { OnceLock::new() }; 200];
    BODIES[usize::from(status.as_u16() - 400)].get_or_init(|| {
        let error = ApiError::new(status);
        let json = render(
            &error,
            &HeaderMap::new(),
            &RequestContext::detached(),
            &Rendering::default(),
        );
        let length = number_value(json.len() as u64);
        let mut headers_without_vary = HeaderMap::with_capacity(3);
        headers_without_vary.insert(CONTENT_TYPE, Format::Json.content_type());
        headers_without_vary.insert(CONTENT_LENGTH, length.clone());
        let mut headers = headers_without_vary.clone();
        headers.insert(VARY, HeaderValue::from_static("accept"));
        DefaultBody {
            json,
            length,
            headers,
            headers_without_vary,
        }
    })
}

/// The answer for `error`, on a fresh response head.
pub(crate) fn respond_fresh(
    error: ApiError,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    if error.is_default() && error.headers().is_empty() {
        return respond_status(error.status(), ctx, rendering);
    }
    respond(error, fresh_parts(), ctx, rendering)
}

/// The default error of `status` (a deadline, a panic), on a fresh head.
pub(crate) fn respond_status(
    status: StatusCode,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    let mut parts = fresh_parts();
    parts.status = status;
    respond_default(parts, ctx, rendering)
}

/// The answer for `error` on top of `parts`: an inner response's head, whose other headers and
/// extensions are kept, or a fresh one. The error's own headers are added to the head.
pub(crate) fn respond(
    mut error: ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    strip_representation(&mut parts);
    parts.status = error.status();
    let headers = error.take_headers();
    if !headers.is_empty() {
        parts.headers.reserve(headers.len() + 3);
        parts.headers.extend(headers);
    }
    finish(&error, parts, ctx, rendering)
}

/// The answer for a handler's `error` that reached the layer inside a response (see
/// [`ApiError::into_detached_response`]): the error's headers are already in `parts`, as the
/// middleware between the handler and the layer left them, and so is the status.
pub(crate) fn respond_carried(
    mut error: ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    strip_representation(&mut parts);
    error.follow_status(parts.status);
    parts.status = error.status();
    // The detached rendering's default challenge gives way to the layer's.
    if !error.headers().contains_key(WWW_AUTHENTICATE)
        && parts.headers.get(WWW_AUTHENTICATE) == Some(&BEARER)
    {
        parts.headers.remove(WWW_AUTHENTICATE);
    }
    finish(&error, parts, ctx, rendering)
}

/// The status's default error on top of an inner response's head (normalization).
pub(crate) fn respond_default(
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    let status = parts.status;
    if parts.headers.is_empty() && ctx.is_plain() && status != StatusCode::UNAUTHORIZED {
        // The usual case (axum's empty 404, a deadline, a panic): a head rendered once.
        observe::error_response(status, None, ctx);
        let body = default_body(status);
        parts.headers = if rendering.negotiate {
            body.headers.clone()
        } else {
            body.headers_without_vary.clone()
        };
        let body = error_body(ctx, body.json.clone());
        return Response::from_parts(parts, body);
    }
    strip_representation(&mut parts);
    let plain = ctx.is_plain()
        && !parts.headers.contains_key(RETRY_AFTER)
        && !(matches!(status.as_u16(), 405 | 501) && parts.headers.contains_key(ALLOW));
    if !plain {
        let error = ApiError::new(status);
        return finish(&error, parts, ctx, rendering);
    }
    observe::error_response(status, None, ctx);
    add_vary_and_challenge(&mut parts, rendering);
    let body = default_body(status);
    parts
        .headers
        .insert(CONTENT_TYPE, Format::Json.content_type());
    parts.headers.insert(CONTENT_LENGTH, body.length.clone());
    let body = error_body(ctx, body.json.clone());
    Response::from_parts(parts, body)
}

pub(crate) fn strip_representation(parts: &mut response::Parts) {
    if parts.headers.is_empty() {
        return;
    }
    for name in &REPLACED_HEADERS {
        // A 416 keeps its `Content-Range: bytes */length` (RFC 9110 §15.5.17).
        if !(name == CONTENT_RANGE && parts.status == StatusCode::RANGE_NOT_SATISFIABLE) {
            parts.headers.remove(name);
        }
    }
}

fn add_vary_and_challenge(parts: &mut response::Parts, rendering: &Rendering) {
    if rendering.negotiate && !varies_on_accept(&parts.headers) {
        // The body's format depends on Accept: caches must not serve one client's to another.
        parts
            .headers
            .append(VARY, HeaderValue::from_static("accept"));
    }
    if parts.status == StatusCode::UNAUTHORIZED && !parts.headers.contains_key(WWW_AUTHENTICATE) {
        // RFC 9110 §15.5.2: a 401 carries at least one challenge.
        parts
            .headers
            .insert(WWW_AUTHENTICATE, rendering.challenge.clone());
    }
}

/// Whether a `Vary` field already names `Accept` (or `*`).
fn varies_on_accept(headers: &HeaderMap) -> bool {
    headers
        .get_all(VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim() == "*" || name.trim().eq_ignore_ascii_case("accept"))
}

fn finish(
    error: &ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    if parts.status == StatusCode::METHOD_NOT_ALLOWED && !parts.headers.contains_key(ALLOW) {
        // RFC 9110 §15.5.6 requires Allow; only the code that refused the method knows it.
        tracing::warn!("a 405 without Allow: build it with ApiError::method_not_allowed");
    }
    observe::error_response(parts.status, error.code_cow(), ctx);
    add_vary_and_challenge(&mut parts, rendering);
    let body = render(error, &parts.headers, ctx, rendering);
    parts
        .headers
        .insert(CONTENT_TYPE, ctx.format.content_type());
    parts
        .headers
        .insert(CONTENT_LENGTH, number_value(body.len() as u64));
    let body = if ctx.is_head() {
        ErrorBody::empty()
    } else {
        ErrorBody::new(body)
    };
    Response::from_parts(parts, body)
}

/// The body for the request of `ctx`: none for `HEAD`, whose `Content-Length` still tells the
/// `GET`'s (RFC 9110 §8.6).
fn error_body(ctx: &RequestContext, json: Bytes) -> ErrorBody {
    if ctx.is_head() {
        ErrorBody::empty()
    } else {
        ErrorBody::new(json)
    }
}

/// A fresh response head.
pub(crate) fn fresh_parts() -> response::Parts {
    Response::new(()).into_parts().0
}

impl ApiError {
    /// The response a handler sends: complete without the layer (JSON, no `request_id`, no
    /// `Vary`, since nothing negotiates there), and carrying the error itself in its extensions
    /// so that the layer renders it once more, for the request at hand and with its own
    /// settings, keeping what middleware in between changed (status, headers).
    pub(crate) fn into_detached_response(self) -> Response<ErrorBody> {
        let mut parts = fresh_parts();
        parts.status = self.status();
        parts.headers = self.headers().clone();
        if parts.status == StatusCode::UNAUTHORIZED && !parts.headers.contains_key(WWW_AUTHENTICATE)
        {
            parts.headers.insert(WWW_AUTHENTICATE, BEARER.clone());
        }
        let json = render(
            &self,
            &parts.headers,
            &RequestContext::detached(),
            &Rendering::default(),
        );
        parts
            .headers
            .insert(CONTENT_TYPE, Format::Json.content_type());
        parts
            .headers
            .insert(CONTENT_LENGTH, number_value(json.len() as u64));
        parts.extensions.insert(self);
        Response::from_parts(parts, ErrorBody::new(json))
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
/// assert!(!response.headers().contains_key("vary"));
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

/// The body: members in the contract's order, then the error's own members.
fn render(
    error: &ApiError,
    headers: &HeaderMap,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Bytes {
    with_scratch(|buf| {
        let mut out = JsonObject::new(buf);
        let status = error.status();
        let code = status.as_u16();
        match ctx.format {
            Format::Json => {
                out.raw("ok", b"false");
                out.number("status", u64::from(code));
                out.string("error", error.code());
                out.string("message", error.message());
                out.string("detail", error.detail());
            }
            Format::Problem => {
                match rendering.problem_type_base {
                    Some(base) => out.problem_type(base, error.code()),
                    None => out.string("type", "about:blank"),
                }
                // RFC 9457 §4.2.1: with `about:blank`, the title is the reason phrase.
                let title = match rendering.problem_type_base {
                    None => status.canonical_reason().unwrap_or(error.message()),
                    Some(_) => error.message(),
                };
                out.string("title", title);
                out.number("status", u64::from(code));
                out.string("detail", error.detail());
                if let Some(path_and_query) = &ctx.instance {
                    out.string("instance", path_and_query.path());
                }
                out.raw("ok", b"false");
                out.string("error", error.code());
                out.string("message", error.message());
            }
        }
        if matches!(code, 405 | 501) && headers.contains_key(ALLOW) {
            out.methods("allowed", headers);
        }
        if let Some(seconds) = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        {
            // Whoever set the header (an inner service too), the member stays a number every
            // JSON parser reads exactly.
            out.number("retry_after", seconds.min(crate::MAX_RETRY_AFTER.as_secs()));
        }
        out.raw(
            "retryable",
            if error.is_retryable() {
                b"true"
            } else {
                b"false"
            },
        );
        if let Some(id) = ctx.request_id() {
            out.string("request_id", id);
        }
        for (key, value) in error.members() {
            out.value(key, value);
        }
        out.close();
    })
}

thread_local! {
    // One buffer per thread that bodies are written into before being copied out at their
    // exact size: a body costs one allocation, never a series of reallocations.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

fn with_scratch(write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut write = Some(write);
    let written = SCRATCH.try_with(|scratch| {
        // Rendering never re-enters itself; should it, it gets a buffer of its own below.
        let mut buf = scratch.try_borrow_mut().ok()?;
        buf.clear();
        (write.take()?)(&mut buf);
        let body = Bytes::copy_from_slice(&buf);
        // A huge member grew the buffer: give the memory back.
        if buf.capacity() > 64 * 1024 {
            *buf = Vec::with_capacity(512);
        }
        Some(body)
    });
    match (written, write) {
        (Ok(Some(body)), _) => body,
        // The thread is being torn down, or the buffer is in use.
        (_, write) => {
            let mut buf = Vec::new();
            if let Some(write) = write {
                write(&mut buf);
            }
            Bytes::from(buf)
        }
    }
}

/// A JSON object written member by member into a buffer.
struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Self { buf, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        write_str(self.buf, key);
        self.buf.push(b':');
    }

    fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key);
        self.buf.extend_from_slice(json);
    }

    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_str(self.buf, value);
    }

    fn number(&mut self, key: &str, value: u64) {
        self.key(key);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn value(&mut self, key: &str, value: &Value) {
        self.key(key);
        // Writing into a Vec cannot fail, and a `Value` always serializes.
        serde_json::to_writer(&mut *self.buf, value).expect("a JSON value serializes");
    }

    /// `type`: `base` followed by the code, percent-encoded so that the whole stays a valid
    /// URI reference whatever the code is.
    fn problem_type(&mut self, base: &str, code: &str) {
        self.key("type");
        self.buf.push(b'"');
        write_escaped(self.buf, base);
        for byte in code.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                self.buf.push(byte);
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                self.buf.extend_from_slice(&[
                    b'%',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
            }
        }
        self.buf.push(b'"');
    }

    /// The methods of every `Allow` field (a list may be split over several), in order, each
    /// once; anything that is not a method token is left out.
    fn methods(&mut self, key: &str, headers: &HeaderMap) {
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
            }
        }
        self.key(key);
        self.buf.push(b'[');
        for (i, token) in seen[..count].iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            // A token needs no escaping.
            self.buf.push(b'"');
            self.buf.extend_from_slice(token.as_bytes());
            self.buf.push(b'"');
        }
        self.buf.push(b']');
    }

    fn close(self) {
        self.buf.push(b'}');
    }
}

/// RFC 9110 §5.6.2 `tchar`: what a method token is made of.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped, as
/// serde_json does; the rest copied as it is.
fn write_str(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    write_escaped(buf, text);
    buf.push(b'"');
}

fn write_escaped(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                buf.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escape);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// Numbers below this come from a static table: a header value for them allocates nothing.
const TABLED: usize = 10_000;

static DIGITS: [[u8; 4]; TABLED] = {
    let mut table = [[b'0'; 4]; TABLED];
    let mut n = 0;
    while n < TABLED {
        let (mut rest, mut i) = (n, 4);
        while i > 0 {
            i -= 1;
            table[n][i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        n += 1;
    }
    table
};

/// A status code's three digits, from the same table: a `&'static str`, no allocation.
#[cfg(feature = "metrics")]
pub(crate) fn status_digits(status: StatusCode) -> &'static str {
    let digits: &'static [u8; 4] = &DIGITS[usize::from(status.as_u16())];
    std::str::from_utf8(&digits[1..]).expect("ASCII digits")
}

/// `n` as a header value (`Content-Length`, `Retry-After`), without allocating below
/// 10 000: `HeaderValue::from(n)` allocates twice.
pub(crate) fn number_value(n: u64) -> HeaderValue {
    if n >= TABLED as u64 {
        return HeaderValue::from(n);
    }
    let digits: &'static [u8; 4] = &DIGITS[n as usize];
    let skip = match n {
        0..=9 => 3,
        10..=99 => 2,
        100..=999 => 1,
        _ => 0,
    };
    HeaderValue::from_static(std::str::from_utf8(&digits[skip..]).expect("ASCII digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(ACCEPT, HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn accept_negotiation_follows_rfc_9110() {
        use Format::{Json, Problem};
        // (default, Accept field lines, expected)
        let table: &[(Format, &[&str], Format)] = &[
            (Json, &[], Json),
            (Problem, &[], Problem),
            (Json, &["application/problem+json"], Problem),
            (Json, &["Application/Problem+JSON"], Problem),
            (
                Json,
                &["application/json;q=0.5, application/problem+json"],
                Problem,
            ),
            (
                Json,
                &["application/json, application/problem+json;q=0.9"],
                Json,
            ),
            (
                Json,
                &["application/json;Q=0.1, application/problem+json"],
                Problem,
            ),
            (Problem, &["application/json"], Json),
            (Problem, &["*/*"], Problem),
            (Json, &["*/*"], Json),
            // q=0: not acceptable, whatever a wildcard says.
            (Json, &["application/problem+json;q=0"], Json),
            (Problem, &["application/problem+json;q=0, */*"], Json),
            // The most specific range decides a type's quality.
            (
                Json,
                &["application/problem+json;q=0.5, application/*;q=0.9"],
                Json,
            ),
            (
                Json,
                &["application/json;q=0.5, application/*;q=0.9"],
                Problem,
            ),
            (
                Json,
                &["application/*;q=0.9, */*;q=0.1, application/json;q=0.2"],
                Problem,
            ),
            // Every field line counts, not only the first.
            (Json, &["text/html", "application/problem+json"], Problem),
            (
                Json,
                &["application/json;q=0.1", "application/problem+json;q=0.2"],
                Problem,
            ),
            // Ties keep the default; nothing acceptable keeps it too.
            (
                Problem,
                &["application/json, application/problem+json"],
                Problem,
            ),
            (Json, &["application/*"], Json),
            (Problem, &["text/html"], Problem),
            (Json, &["text/html"], Json),
            // Invalid weights make a range invalid, not preferred.
            (Json, &["application/problem+json;q=2"], Json),
            (Json, &["application/problem+json;q=0.1234"], Json),
            (Json, &["application/problem+json;q=abc"], Json),
            // Browser-style lists.
            (
                Json,
                &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                Json,
            ),
            (
                Problem,
                &["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"],
                Problem,
            ),
        ];
        for (default, lines, expected) in table {
            assert_eq!(
                negotiate(*default, &accept(lines)),
                *expected,
                "default {default:?}, Accept {lines:?}"
            );
        }
    }

    #[test]
    fn qvalues_are_parsed_exactly() {
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality(""), None);
        assert_eq!(parse_quality("0.1234"), None);
    }

    #[test]
    fn allowed_reads_every_allow_field_once_and_only_tokens() {
        let mut headers = HeaderMap::new();
        headers.append(ALLOW, HeaderValue::from_static("GET"));
        headers.append(ALLOW, HeaderValue::from_static("POST, GET,,"));
        headers.append(ALLOW, HeaderValue::from_static("bad token, HEAD"));
        let mut buf = Vec::new();
        let mut out = JsonObject::new(&mut buf);
        out.methods("allowed", &headers);
        out.close();
        assert_eq!(buf, br#"{"allowed":["GET","POST","HEAD"]}"#);
    }

    #[test]
    fn a_416_keeps_its_content_range_and_negotiated_bodies_vary() {
        let mut parts = fresh_parts();
        parts.status = StatusCode::RANGE_NOT_SATISFIABLE;
        parts
            .headers
            .insert(CONTENT_RANGE, HeaderValue::from_static("bytes */1000"));
        let ctx = RequestContext::capture(
            &Request::new(()),
            MethodId::of(&http::Method::GET),
            &Rendering::default(),
        );
        let error = ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE);
        let response = respond(error, parts, &ctx, &Rendering::default());
        assert_eq!(response.headers()[CONTENT_RANGE], "bytes */1000");
        assert_eq!(response.headers()[VARY], "accept");
    }

    #[test]
    fn vary_is_not_repeated() {
        let mut parts = fresh_parts();
        parts.status = StatusCode::NOT_FOUND;
        parts
            .headers
            .insert(VARY, HeaderValue::from_static("Origin, Accept"));
        let ctx = RequestContext::capture(
            &Request::new(()),
            MethodId::of(&http::Method::GET),
            &Rendering::default(),
        );
        let response = respond_default(parts, &ctx, &Rendering::default());
        assert_eq!(response.headers().get_all(VARY).iter().count(), 1);
    }

    #[test]
    fn request_id_is_the_first_safe_token() {
        let id = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-request-id", HeaderValue::from_bytes(value).unwrap());
            }
            request_id(&headers).map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(id(&[b"4f1c2e9a"]).as_deref(), Some("4f1c2e9a"));
        assert_eq!(id(&[b"a\"b"]), None);
        assert_eq!(id(&[b"<script>"]), None);
        assert_eq!(
            id(&[&[b'a'; MAX_REQUEST_ID_LEN]]).map(|s| s.len()),
            Some(64)
        );
        assert_eq!(id(&[&[b'a'; MAX_REQUEST_ID_LEN + 1]]), None);
        assert_eq!(id(&[b""]), None);
        assert_eq!(id(&[b"first", b"second"]).as_deref(), Some("first"));
        assert_eq!(id(&[b"<bad>", b"good"]).as_deref(), Some("good"));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for text in [
            "plain",
            "quote \" and \\ back",
            "line\nfeed\ttab\r\u{1}\u{1f}\u{8}\u{c}",
            "café ✓",
            "",
        ] {
            let mut buf = Vec::new();
            write_str(&mut buf, text);
            assert_eq!(buf, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn number_values_match_their_decimal_text() {
        for n in [0, 7, 10, 99, 100, 999, 1000, 9999, 10_000, 86_400, u64::MAX] {
            assert_eq!(number_value(n), n.to_string().as_str());
        }
    }

    #[test]
    fn problem_types_are_valid_uri_references() {
        let mut buf = Vec::new();
        let mut out = JsonObject::new(&mut buf);
        out.problem_type("https://errors.example/", "not found/ü");
        out.close();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"type":"https://errors.example/not%20found%2F%C3%BC"}"#
        );
    }

    #[test]
    fn canned_answers_equal_fresh_renderings() {
        let error = ApiError::overloaded(std::time::Duration::from_secs(3));
        let canned = Canned::new(error.clone());
        let ctx = RequestContext::capture(
            &Request::new(()),
            MethodId::of(&http::Method::GET),
            &Rendering::default(),
        );
        let a = canned.respond(&ctx, &Rendering::default());
        let b = respond_fresh(error, &ctx, &Rendering::default());
        assert_eq!(a.status(), b.status());
        assert_eq!(a.headers(), b.headers());
        assert_eq!(a.body().bytes(), b.body().bytes());
    }
}
