//! The one exit: every error response the layer sends passes [`exit`], whatever decided it (a
//! refusal of the layer's own, a handler's [`ApiError`], a normalized inner answer, an inner
//! error, a panic, a deadline). There it is observed (its `error response` event and its
//! counters, see [`observe`](crate::respond::observe)) and finished: the error's headers, `Vary`,
//! the challenge of a 401, `Content-Type`, `Content-Length`, and no body for `HEAD`.
//!
//! What differs between the answers is data, an [`Answer`]; there is no other way out.

use bytes::Bytes;
use http::header::{
    HeaderName, ALLOW, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH,
    CONTENT_LOCATION, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED, RETRY_AFTER, TRAILER,
    TRANSFER_ENCODING, VARY, WWW_AUTHENTICATE,
};
use http::{response, HeaderMap, HeaderValue, Response, StatusCode};

use crate::contract::numbers::number_value;
use crate::respond::canned::{default_body, default_in, Canned};
use crate::respond::context::RequestContext;
use crate::respond::error_body::ErrorBody;
use crate::respond::json_writer::write_body;
use crate::respond::observe::{self, ErrorReport, ShedReason};
use crate::respond::settings::{Format, Rendering, BEARER};
use crate::ApiError;

/// What the layer answers with: everything that differs between its error responses.
#[derive(Debug)]
pub(crate) enum Answer<'a> {
    /// A refusal decided before the inner call, rendered once: overload, the drain, maintenance,
    /// the method policy, an unrecognized method, a malformed or too short deadline. `shed`
    /// says why when the refusal counts as shedding (`api_shed_total`).
    Refusal {
        canned: &'a Canned,
        shed: Option<ShedReason>,
    },
    /// An error on a fresh head: the classifier's for an inner error, an adaptive limit's 503.
    Error {
        error: ApiError,
        shed: Option<ShedReason>,
    },
    /// The status's default error on a fresh head: a deadline (408, 504), a panic (500).
    Status(StatusCode),
    /// A handler's error that reached the layer inside the inner response (see
    /// [`ApiError::into_detached_response`]): its headers are already in `parts`, as the
    /// middleware between the handler and the layer left them, and so is the status.
    Carried {
        error: ApiError,
        parts: response::Parts,
    },
    /// An inner error response, normalized: the status's default error on the inner head, whose
    /// other headers and extensions are kept. `detail_unread`: the body had a text the `GET`
    /// answer would quote as its `detail`, so a `HEAD` answer cannot know its length.
    Inner {
        parts: response::Parts,
        detail_unread: bool,
    },
    /// An inner error response replaced by an error of the layer's on the inner head: its text
    /// as the `detail`, a 405 in the method policy's words.
    Replaced {
        error: ApiError,
        parts: response::Parts,
    },
}

impl<'a> Answer<'a> {
    /// A refusal that is not shedding (a method refused, a malformed deadline).
    pub(crate) fn refusal(canned: &'a Canned) -> Self {
        Answer::Refusal { canned, shed: None }
    }

    /// A refusal counted as shedding, for `reason`.
    pub(crate) fn shed(canned: &'a Canned, reason: ShedReason) -> Self {
        Answer::Refusal {
            canned,
            shed: Some(reason),
        }
    }

    /// An error on a fresh head.
    pub(crate) fn error(error: ApiError) -> Self {
        Answer::Error { error, shed: None }
    }

    /// The error the response will say, when there is one to read, and its status.
    fn report(&self) -> (StatusCode, Option<&ApiError>) {
        match self {
            Answer::Refusal { canned, .. } => (canned.error().status(), Some(canned.error())),
            Answer::Error { error, .. }
            | Answer::Carried { error, .. }
            | Answer::Replaced { error, .. } => (error.status(), Some(error)),
            Answer::Status(status) => (*status, None),
            Answer::Inner { parts, .. } => (parts.status, None),
        }
    }
}

/// The one exit of every error response the layer sends: observed here (one event, its
/// counters, the shedding counted), and finished. Inlined into each caller, where the kind of
/// answer is known, so that only its own branch remains.
#[inline(always)]
pub(crate) fn exit(
    mut answer: Answer<'_>,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    if let Answer::Carried { error, parts } = &mut answer {
        // Middleware between the handler and the layer may have changed the status.
        error.follow_status(parts.status);
    }
    if let Answer::Refusal {
        shed: Some(reason), ..
    }
    | Answer::Error {
        shed: Some(reason), ..
    } = &answer
    {
        observe::shed(*reason);
    }
    observe::error_response(|| {
        let (status, error) = answer.report();
        ErrorReport {
            status,
            code: error.and_then(ApiError::code_cow),
            source: error.and_then(std::error::Error::source),
            method: ctx.method(),
            path: ctx.instance_path(),
            request_id: ctx.request_id(),
        }
    });
    match answer {
        Answer::Refusal { canned, .. } => refusal(canned, ctx, rendering),
        Answer::Error { error, .. } => fresh(error, ctx, rendering),
        Answer::Status(status) => status_default(status, ctx, rendering),
        Answer::Carried { error, parts } => carried(error, parts, ctx, rendering),
        Answer::Inner {
            parts,
            detail_unread,
        } => {
            let mut response = inner_default(parts, ctx, rendering);
            if detail_unread && ctx.is_head() {
                // The GET would have carried the text as its detail, which a HEAD answer (an
                // empty body) cannot know: no Content-Length rather than a wrong one (RFC 9110
                // §8.6).
                response.headers_mut().remove(CONTENT_LENGTH);
            }
            response
        }
        Answer::Replaced { error, parts } => on_head(error, parts, ctx, rendering),
    }
}

/// A canned refusal for the request of `ctx`: as rendered once (in its shape, once per shape),
/// unless the request asks for a problem document or echoes an `x-request-id`.
fn refusal(canned: &Canned, ctx: &RequestContext, rendering: &Rendering) -> Response<ErrorBody> {
    if rendering.rewords(canned.error().status()) {
        // Rendered once in the document's words: in the layer's own, rendered for the request.
        return on_head(canned.error().clone(), fresh_parts(), ctx, rendering);
    }
    let (mut headers, json) = if let Some(shape) = ctx.shape(rendering) {
        let json = canned.shaped(shape, ctx);
        let mut headers = canned.headers().clone();
        headers.insert(CONTENT_TYPE, shape.content_type().clone());
        headers.insert(CONTENT_LENGTH, number_value(json.len() as u64));
        (headers, json)
    } else if ctx.is_plain() {
        (canned.headers().clone(), canned.json().clone())
    } else {
        return on_head(canned.error().clone(), fresh_parts(), ctx, rendering);
    };
    if !rendering.negotiate {
        headers.remove(VARY);
    }
    let body = error_body(ctx, json);
    let mut response = Response::new(body);
    *response.status_mut() = canned.error().status();
    *response.headers_mut() = headers;
    response
}

/// `error` on a fresh response head.
fn fresh(error: ApiError, ctx: &RequestContext, rendering: &Rendering) -> Response<ErrorBody> {
    if error.is_default() && error.headers().is_empty() {
        return status_default(error.status(), ctx, rendering);
    }
    on_head(error, fresh_parts(), ctx, rendering)
}

/// The default error of `status`, on a fresh head.
fn status_default(
    status: StatusCode,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    let mut parts = fresh_parts();
    parts.status = status;
    inner_default(parts, ctx, rendering)
}

/// `error` on top of `parts`: an inner response's head, whose other headers and extensions are
/// kept, or a fresh one. The error's own headers are added to the head.
fn on_head(
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

/// A handler's `error` (its status already followed) on the head it came with.
fn carried(
    error: ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    strip_representation(&mut parts);
    parts.status = error.status();
    // The detached rendering's default challenge gives way to the layer's.
    if !error.headers().contains_key(WWW_AUTHENTICATE)
        && parts.headers.get(WWW_AUTHENTICATE) == Some(&BEARER)
    {
        parts.headers.remove(WWW_AUTHENTICATE);
    }
    finish(&error, parts, ctx, rendering)
}

/// The status's default error on top of `parts`.
fn inner_default(
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    let status = parts.status;
    if rendering.rewords(status) {
        // The defaults rendered once are in the document's words.
        strip_representation(&mut parts);
        return finish(&ApiError::new(status), parts, ctx, rendering);
    }
    if parts.headers.is_empty() && ctx.is_plain() && status != StatusCode::UNAUTHORIZED {
        // The usual case (axum's empty 404, a deadline, a panic): a head rendered once.
        let body = default_body(status);
        parts.headers = if rendering.negotiate {
            body.headers.clone()
        } else {
            body.headers_without_vary.clone()
        };
        let body = error_body(ctx, body.json.clone());
        return Response::from_parts(parts, body);
    }
    if let Some(shape) = ctx.shape(rendering) {
        if parts.headers.is_empty() && status != StatusCode::UNAUTHORIZED {
            // The same in a shape: its body rendered once, unless it depends on the request.
            let json = default_in(shape, status, ctx);
            parts.headers.reserve(3);
            parts
                .headers
                .insert(CONTENT_TYPE, shape.content_type().clone());
            parts
                .headers
                .insert(CONTENT_LENGTH, number_value(json.len() as u64));
            add_vary_and_challenge(&mut parts, rendering);
            return Response::from_parts(parts, error_body(ctx, json));
        }
    }
    strip_representation(&mut parts);
    let plain = ctx.is_plain()
        && !parts.headers.contains_key(RETRY_AFTER)
        && !(matches!(status.as_u16(), 405 | 501) && parts.headers.contains_key(ALLOW));
    if !plain {
        let error = ApiError::new(status);
        return finish(&error, parts, ctx, rendering);
    }
    add_vary_and_challenge(&mut parts, rendering);
    let body = default_body(status);
    parts
        .headers
        .insert(CONTENT_TYPE, Format::Json.content_type());
    parts.headers.insert(CONTENT_LENGTH, body.length.clone());
    let body = error_body(ctx, body.json.clone());
    Response::from_parts(parts, body)
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

/// Removes the headers that describe the inner body the error body replaces.
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

/// Writes the body of `error` for the request of `ctx` and completes the head.
fn finish(
    error: &ApiError,
    mut parts: response::Parts,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Response<ErrorBody> {
    if parts.status == StatusCode::METHOD_NOT_ALLOWED && !parts.headers.contains_key(ALLOW) {
        // RFC 9110 §15.5.6 requires Allow; only the code that refused the method knows it.
        tracing::warn!(
            target: "tower_api_errors::render",
            "a 405 without Allow: build it with ApiError::method_not_allowed"
        );
    }
    add_vary_and_challenge(&mut parts, rendering);
    let body = write_body(error, &parts.headers, ctx, rendering);
    parts
        .headers
        .insert(CONTENT_TYPE, ctx.content_type(rendering));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::method_id::MethodId;
    use http::Request;

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
            Rendering::defaults(),
        );
        let error = ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE);
        let response = exit(
            Answer::Replaced { error, parts },
            &ctx,
            Rendering::defaults(),
        );
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
            Rendering::defaults(),
        );
        let answer = Answer::Inner {
            parts,
            detail_unread: false,
        };
        let response = exit(answer, &ctx, Rendering::defaults());
        assert_eq!(response.headers().get_all(VARY).iter().count(), 1);
    }

    #[test]
    fn canned_answers_equal_fresh_renderings() {
        let error = ApiError::overloaded(std::time::Duration::from_secs(3));
        let canned = Canned::new(error.clone());
        let ctx = RequestContext::capture(
            &Request::new(()),
            MethodId::of(&http::Method::GET),
            Rendering::defaults(),
        );
        let a = exit(Answer::refusal(&canned), &ctx, Rendering::defaults());
        let b = exit(Answer::error(error), &ctx, Rendering::defaults());
        assert_eq!(a.status(), b.status());
        assert_eq!(a.headers(), b.headers());
        assert_eq!(a.body().bytes(), b.body().bytes());
    }
}
