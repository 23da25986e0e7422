//! Normalization: an inner error response (status >= 400) that is not already JSON becomes the
//! documented body with the same status, keeping every header but the body's own
//! (`Content-Type`, `Content-Length`, `Content-Encoding`…). So axum's empty 404 and 405, its
//! `text/plain` rejections, tower-http's 408 and 413 all read like the rest of the API.
//!
//! A short `text/plain` body of a 4xx (at most [`DETAIL_LIMIT`] bytes, known from its size
//! hint, so nothing unbounded is ever buffered) becomes the `detail`: axum's "Failed to parse
//! the request body as JSON…" is worth passing on. A 5xx body is never read: it may hold
//! internal text. Responses already in JSON (`application/json`, `…+json`) pass untouched.

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{response, HeaderValue, Response};
use http_body::Body;

use crate::body::ErrorBody;
use crate::render::{respond, Rendering, RequestContext};
use crate::ApiError;

/// The longest 4xx text body that becomes `detail`.
pub const DETAIL_LIMIT: usize = 1024;

/// What becomes of an inner error response.
pub(crate) enum Normalized<B> {
    /// Already JSON: sent as it is.
    Untouched(Response<B>),
    /// Replaced by the error body.
    Rendered(Response<ErrorBody>),
    /// A short text body to read first: it becomes the `detail`.
    ReadDetail(response::Parts, B),
}

/// Decides what becomes of `response`, whose status is >= 400.
pub(crate) fn normalize<B: Body>(
    response: Response<B>,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Normalized<B> {
    let (mut parts, body) = response.into_parts();
    // A domain error: the handler's rendering is replaced by the layer's, which chooses the
    // format and adds the request id.
    if let Some(error) = parts.extensions.remove::<ApiError>() {
        return Normalized::Rendered(respond(error, parts, ctx, rendering));
    }
    let content_type = parts.headers.get(CONTENT_TYPE);
    if content_type.is_some_and(is_json) {
        return Normalized::Untouched(Response::from_parts(parts, body));
    }
    // An encoded (compressed) body is no readable text.
    let identity = parts
        .headers
        .get(CONTENT_ENCODING)
        .is_none_or(|encoding| encoding.as_bytes().eq_ignore_ascii_case(b"identity"));
    let text_detail =
        parts.status.is_client_error() && content_type.is_some_and(is_text) && identity;
    let hint = body.size_hint();
    let short = hint.lower() > 0 && hint.upper().is_some_and(|n| n <= DETAIL_LIMIT as u64);
    if text_detail && short {
        return Normalized::ReadDetail(parts, body);
    }
    let mut response = respond(ApiError::new(parts.status), parts, ctx, rendering);
    if ctx.head && text_detail {
        // The GET would have carried the text as its detail, which a HEAD answer (an empty
        // body) cannot know: no Content-Length rather than a wrong one (RFC 9110 §8.6).
        response.headers_mut().remove(CONTENT_LENGTH);
    }
    Normalized::Rendered(response)
}

/// The response once the text of a 4xx body is read; `text` is `None` when it could not be
/// (too long after all, or the body failed).
pub(crate) fn with_detail(
    parts: response::Parts,
    text: Option<&Bytes>,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    let mut error = ApiError::new(parts.status);
    if let Some(text) = text {
        let text = String::from_utf8_lossy(text);
        let text = text.trim();
        if !text.is_empty() {
            error = error.with_detail(text.to_owned());
        }
    }
    respond(error, parts, ctx, rendering)
}

fn media_type(value: &HeaderValue) -> &str {
    let value = value.to_str().unwrap_or_default();
    value.split(';').next().unwrap_or_default().trim()
}

fn is_json(value: &HeaderValue) -> bool {
    let media = media_type(value);
    media.eq_ignore_ascii_case("application/json")
        || media
            .get(media.len().saturating_sub(5)..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

fn is_text(value: &HeaderValue) -> bool {
    media_type(value).eq_ignore_ascii_case("text/plain")
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
}
