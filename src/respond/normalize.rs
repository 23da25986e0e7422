//! Normalization: an inner error response (status >= 400) that is not already JSON becomes the
//! documented body with the same status, keeping every header but the replaced body's own
//! (`Content-Type`, `Content-Length`, `Content-Encoding`, `Content-Disposition`…). So axum's
//! empty 404 and 405, its `text/plain` rejections, tower-http's 408 and 413 all read like the
//! rest of the API.
//!
//! A short `text/plain` body of a 4xx (at most [`DETAIL_LIMIT`] bytes by its size hint, in
//! UTF-8 or ISO-8859-1) becomes the `detail`: axum's "Failed to parse the request body as
//! JSON…" is worth passing on. Only what the body has *ready* is read: the layer never makes a
//! client wait for a body it only wants to quote. A 5xx body is never sent; a short excerpt of
//! its text is logged. Responses already in JSON (`application/json`, `…+json`) pass untouched.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_ENCODING, CONTENT_TYPE};
use http::{response, HeaderValue, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;

use crate::contract::method_id::not_supported_detail;
use crate::respond::context::RequestContext;
use crate::respond::error_body::ErrorBody;
use crate::respond::exit::{exit, fresh_parts, strip_representation, Answer};
use crate::respond::observe::{log_panic, log_panic_in_drop};
use crate::respond::settings::Rendering;
use crate::ApiError;

/// The longest 4xx text body that becomes `detail`.
pub const DETAIL_LIMIT: usize = 1024;

/// The longest excerpt of a replaced 5xx text body that is logged.
const LOGGED_EXCERPT: usize = 256;

/// What becomes of an inner error response.
pub(crate) enum Normalized<B> {
    /// Already JSON: sent as it is.
    Untouched(Response<B>),
    /// Replaced by the error body: answered through the [one exit](crate::respond::exit).
    Answered(Response<ErrorBody>),
    /// An inner `405` to `OPTIONS`, become `204` with `Allow`: no error response.
    Options(Response<ErrorBody>),
}

/// Decides what becomes of `response`, whose status is >= 400. `cx` is the response future's:
/// a body is polled with it only for what it has ready, never waited for.
pub(crate) fn normalize<B: Body<Data = Bytes>>(
    response: Response<B>,
    ctx: &RequestContext,
    rendering: &Rendering,
    cx: &mut Context<'_>,
) -> Normalized<B> {
    let (mut parts, body) = response.into_parts();
    if !matches!(
        parts.status,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
    ) {
        // axum adds the route's `Allow` to whatever its fallback answered: behind an auth layer
        // that is a `401` listing methods the route then refuses (`OPTIONS`) just the same.
        // `Allow` belongs to the 405 and the policy's 501 (RFC 9110 §10.2.1).
        parts.headers.remove(ALLOW);
    }
    if parts.headers.get(CONTENT_TYPE).is_some_and(is_json) && !carries_error(&parts) {
        return Normalized::Untouched(Response::from_parts(parts, body));
    }
    // From here on the body is replaced, and dropped on the way (by any branch): guarded.
    let body = Replaced::new(body);
    // A domain error: rendered here, once, for this request and with the layer's settings.
    if let Some(error) = parts.extensions.remove::<ApiError>() {
        return answered(Answer::Carried { error, parts }, ctx, rendering);
    }
    if parts.headers.is_empty() && parts.status != StatusCode::METHOD_NOT_ALLOWED {
        // No type, no encoding: nothing to read (axum's empty 404, a bare status).
        return answered(
            Answer::Inner {
                parts,
                detail_unread: false,
            },
            ctx,
            rendering,
        );
    }
    if parts.status == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(normalized) = method_not_allowed(&mut parts, ctx, rendering) {
            return normalized;
        }
    }
    let content_type = parts.headers.get(CONTENT_TYPE);
    // An encoded (compressed) body is no readable text.
    let identity = parts
        .headers
        .get(CONTENT_ENCODING)
        .is_none_or(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"identity"));
    let charset = content_type
        .filter(|_| identity)
        .and_then(|value| text_charset(value, parts.status.is_server_error()));

    if parts.status.is_server_error() {
        let excerpt = match charset {
            Some(charset) => match read_ready(body, LOGGED_EXCERPT, true, cx) {
                Ok(text) => text.and_then(|text| charset.decode(&text)),
                Err(()) => {
                    return answered(
                        Answer::Status(StatusCode::INTERNAL_SERVER_ERROR),
                        ctx,
                        rendering,
                    )
                }
            },
            None => None,
        };
        tracing::error!(
            target: "tower_api_errors::normalize",
            status = parts.status.as_u16(),
            excerpt = excerpt.as_deref().unwrap_or_default(),
            "replaced the body of an inner 5xx response"
        );
        return answered(
            Answer::Inner {
                parts,
                detail_unread: false,
            },
            ctx,
            rendering,
        );
    }

    let Some(charset) = charset else {
        return answered(
            Answer::Inner {
                parts,
                detail_unread: false,
            },
            ctx,
            rendering,
        );
    };
    let hint = body.size_hint();
    let short = hint.lower() > 0 && hint.upper().is_some_and(|n| n <= DETAIL_LIMIT as u64);
    if !short {
        return answered(
            Answer::Inner {
                parts,
                detail_unread: true,
            },
            ctx,
            rendering,
        );
    }
    let text = match read_ready(body, DETAIL_LIMIT, false, cx) {
        Ok(text) => text.and_then(|text| charset.decode(&text)),
        Err(()) => {
            return answered(
                Answer::Status(StatusCode::INTERNAL_SERVER_ERROR),
                ctx,
                rendering,
            )
        }
    };
    let detail = text
        .map(|text| text.trim().to_owned())
        .filter(|t| !t.is_empty());
    match detail {
        Some(detail) => {
            let error = ApiError::new(parts.status).with_detail(detail);
            answered(Answer::Replaced { error, parts }, ctx, rendering)
        }
        None => {
            let answer = Answer::Inner {
                parts,
                detail_unread: false,
            };
            answered(answer, ctx, rendering)
        }
    }
}

/// Whether the inner response carries a domain error to render (rather than its body).
fn carries_error(parts: &response::Parts) -> bool {
    parts.extensions.get::<ApiError>().is_some()
}

pin_project! {
    /// An inner body the layer replaces. Its `Drop` may panic (a guard inside it): the head is
    /// not sent yet, so the panic is caught and logged, and the answer leaves as decided (the
    /// status is the inner response's, right about the request). Without this the panic would
    /// unwind into the server's connection task.
    struct Replaced<B> {
        // `None` once dropped; `Some` for as long as it can be read.
        #[pin]
        body: Option<B>,
    }

    impl<B> PinnedDrop for Replaced<B> {
        fn drop(this: Pin<&mut Self>) {
            let mut body = this.project().body;
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                log_panic_in_drop(&*panic, "the inner response's body");
            }
        }
    }
}

impl<B> Replaced<B> {
    fn new(body: B) -> Self {
        Self { body: Some(body) }
    }
}

impl<B: Body> Body for Replaced<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        match self.project().body.as_pin_mut() {
            Some(body) => body.poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body
            .as_ref()
            .map_or_else(|| http_body::SizeHint::with_exact(0), Body::size_hint)
    }
}

/// Sends `answer` through the one exit. Inlined where the kind of answer is known, so that only
/// its branch of the exit remains.
#[inline(always)]
fn answered<B>(answer: Answer<'_>, ctx: &RequestContext, rendering: &Rendering) -> Normalized<B> {
    Normalized::Answered(exit(answer, ctx, rendering))
}

/// An inner 405 in the same words as the method policy's: `Allow` listed as the layer lists it,
/// and the `detail` naming the method. An inner 405 to `OPTIONS` means the resource exists but
/// has no `OPTIONS` handler: the layer answers `204` with `Allow`, as RFC 9110 §9.3.7 suggests.
fn method_not_allowed<B>(
    parts: &mut response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Option<Normalized<B>> {
    let Some(allow) = canonical_allow(parts, rendering.answer_options) else {
        // Under axum's `Router::layer` the layer wraps each route, and sees the method
        // router's 405 before axum adds `Allow`: the usual way to get here by mistake.
        tracing::warn!(
            target: "tower_api_errors::normalize",
            "an inner 405 without Allow (RFC 9110 requires it); from axum, the layer may be \
             under Router::layer, per route: wrap the whole Router, ApiErrorLayer::wrap(router)"
        );
        return None;
    };
    parts.headers.insert(ALLOW, allow);
    let mut parts = std::mem::replace(parts, fresh_parts());
    if rendering.answer_options && ctx.method() == Some("OPTIONS") {
        // Everything else the inner response said (CORS, request ids…) stays.
        strip_representation(&mut parts);
        parts.status = StatusCode::NO_CONTENT;
        return Some(Normalized::Options(Response::from_parts(
            parts,
            ErrorBody::empty(),
        )));
    }
    // A HEAD answer describes the GET answer, so it names GET: same text, same Content-Length.
    let named = match ctx.method() {
        Some("HEAD") => "GET",
        Some(method) => method,
        None => "The method",
    };
    let detail = not_supported_detail(named);
    let error = ApiError::new(StatusCode::METHOD_NOT_ALLOWED).with_detail(detail);
    Some(answered(Answer::Replaced { error, parts }, ctx, rendering))
}

/// The inner response's `Allow` methods as the layer writes them (`GET, HEAD, OPTIONS`), or
/// `None` when it has none.
fn canonical_allow(parts: &response::Parts, answer_options: bool) -> Option<HeaderValue> {
    let mut methods: Vec<&str> = Vec::new();
    for value in parts.headers.get_all(ALLOW) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !methods.contains(&token) {
                methods.push(token);
            }
        }
    }
    if methods.is_empty() {
        return None;
    }
    if answer_options && !methods.contains(&"OPTIONS") {
        methods.push("OPTIONS");
    }
    HeaderValue::from_str(&methods.join(", ")).ok()
}

/// Reads what `body` has ready, at most `limit` bytes. `Ok(None)` when the body would make us
/// wait, fails, or is longer than `limit` (unless `truncate`, which keeps the first `limit`
/// bytes); `Err` when polling it panicked (logged).
fn read_ready<B: Body<Data = Bytes>>(
    body: B,
    limit: usize,
    truncate: bool,
    cx: &mut Context<'_>,
) -> Result<Option<Vec<u8>>, ()> {
    let mut body = pin!(body);
    let mut text = Vec::new();
    loop {
        let frame = match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_frame(cx))) {
            Ok(Poll::Ready(Some(Ok(frame)))) => frame,
            Ok(Poll::Ready(None)) => return Ok(Some(text)),
            Ok(Poll::Ready(Some(Err(_))) | Poll::Pending) => return Ok(None),
            Err(panic) => {
                log_panic(&*panic);
                return Err(());
            }
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if text.len() + data.len() > limit {
            if !truncate {
                return Ok(None);
            }
            text.extend_from_slice(&data[..limit - text.len()]);
            return Ok(Some(text));
        }
        text.extend_from_slice(&data);
    }
}

/// The text encodings a `detail` is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
}

impl Charset {
    fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            // Invalid UTF-8 is no text worth quoting: the default detail is better.
            Charset::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
            Charset::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        }
    }
}

/// The charset of a text body the layer can read: `text/plain` (any `text/*` when `any_text`),
/// in UTF-8 (also the default, and US-ASCII, its subset) or ISO-8859-1. Anything else is not
/// read.
fn text_charset(value: &HeaderValue, any_text: bool) -> Option<Charset> {
    let value = value.to_str().ok()?;
    let mut params = value.split(';');
    let media = params.next()?.trim();
    let (kind, subtype) = media.split_once('/')?;
    if !kind.eq_ignore_ascii_case("text") || !(any_text || subtype.eq_ignore_ascii_case("plain")) {
        return None;
    }
    let charset = params
        .filter_map(|param| param.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"'));
    match charset {
        None => Some(Charset::Utf8),
        Some(name)
            if ["utf-8", "utf8", "us-ascii"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n)) =>
        {
            Some(Charset::Utf8)
        }
        Some(name)
            if ["iso-8859-1", "latin1", "iso_8859-1", "l1"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n)) =>
        {
            Some(Charset::Latin1)
        }
        Some(_) => None,
    }
}

fn is_json(value: &HeaderValue) -> bool {
    let value = value.to_str().unwrap_or_default();
    let media = value.split(';').next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        || media
            .get(media.len().saturating_sub(5)..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        let json = |v: &'static str| is_json(&HeaderValue::from_static(v));
        assert!(json("application/json"));
        assert!(json("Application/JSON; charset=utf-8"));
        assert!(json("application/problem+json"));
        assert!(json("application/vnd.api+json"));
        assert!(!json("text/plain"));
        assert!(!json("json"));
        assert!(!json("application/jsonx"));
    }

    #[test]
    fn charsets() {
        let charset = |v: &'static str| text_charset(&HeaderValue::from_static(v), false);
        assert_eq!(charset("text/plain"), Some(Charset::Utf8));
        assert_eq!(charset("text/plain; charset=utf-8"), Some(Charset::Utf8));
        assert_eq!(
            charset("Text/Plain; Charset=\"UTF-8\""),
            Some(Charset::Utf8)
        );
        assert_eq!(
            charset("text/plain; charset=ISO-8859-1"),
            Some(Charset::Latin1)
        );
        assert_eq!(charset("text/plain; charset=shift_jis"), None);
        assert_eq!(charset("text/html"), None);
        assert_eq!(
            text_charset(&HeaderValue::from_static("text/html"), true),
            Some(Charset::Utf8)
        );
        assert_eq!(Charset::Latin1.decode(b"caf\xe9").as_deref(), Some("café"));
        assert_eq!(Charset::Utf8.decode(b"caf\xe9"), None);
    }
}
