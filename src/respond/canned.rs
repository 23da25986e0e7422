//! Canned answers: the error bodies whose bytes do not depend on the request, rendered once (a
//! refusal of the layer's own, the default error of each status), and once per shape they are
//! sent in. Sending one clones a header map and a reference-counted body.

use std::sync::{Arc, OnceLock, PoisonError, RwLock, Weak};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::contract::numbers::number_value;
use crate::respond::context::RequestContext;
use crate::respond::json_writer::{write_body, write_shaped};
use crate::respond::settings::{Format, Rendering};
use crate::respond::shape::offered::Offered;
use crate::ApiError;

/// A canned body in one shape, beside the shape (held weakly).
type ShapedBody = (Weak<Offered>, Bytes);

/// An error the layer answers with whose bytes do not depend on the request, rendered once:
/// answering it clones a header map and a reference-counted body. A request that asks for the
/// problem format or echoes an `x-request-id` gets it rendered anew.
#[derive(Debug, Clone)]
pub(crate) struct Canned {
    error: ApiError,
    /// The error's headers, `Content-Type`, `Content-Length` and `Vary`.
    headers: HeaderMap,
    json: Bytes,
    /// The body in each shape it was sent in whose bytes did not depend on the request: shared
    /// by the clones, which answer the same error. A shape is held weakly (the layers that
    /// offer it own it), and the bodies of shapes gone are forgotten at the next insertion.
    shaped: Arc<RwLock<Vec<ShapedBody>>>,
}

impl Canned {
    pub(crate) fn new(error: ApiError) -> Self {
        let json = write_body(
            &error,
            error.headers(),
            &RequestContext::detached(),
            Rendering::defaults(),
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
            shaped: Arc::default(),
        }
    }

    /// The body in `shape` for the request of `ctx`: rendered once, unless the shape makes it
    /// depend on the request.
    pub(crate) fn shaped(&self, shape: &Arc<Offered>, ctx: &RequestContext) -> Bytes {
        // A weak reference keeps the allocation, so a live shape's address is its own.
        let is = |s: &Weak<Offered>| std::ptr::eq(s.as_ptr(), Arc::as_ptr(shape));
        // A body rendered for a request without an id may have read that it had none.
        let sendable = ctx.request_id().is_none();
        if sendable {
            let shaped = self.shaped.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, body)) = shaped.iter().find(|(s, _)| is(s)) {
                return body.clone();
            }
        }
        // In the document's words: a layer that rewords the status does not send canned bodies.
        let words = Rendering::defaults();
        let (body, shared) = write_shaped(shape, &self.error, self.error.headers(), ctx, words);
        if shared {
            let mut shaped = self.shaped.write().unwrap_or_else(PoisonError::into_inner);
            shaped.retain(|(s, _)| s.strong_count() > 0);
            if !shaped.iter().any(|(s, _)| is(s)) {
                shaped.push((Arc::downgrade(shape), body.clone()));
            }
        }
        body
    }

    /// The error answered.
    pub(crate) fn error(&self) -> &ApiError {
        &self.error
    }

    /// The error's headers, `Content-Type`, `Content-Length` and `Vary`.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The JSON body, rendered once.
    pub(crate) fn json(&self) -> &Bytes {
        &self.json
    }
}

/// The JSON body of the status's default error and the head that goes with it, rendered once
/// per status.
pub(crate) struct DefaultBody {
    pub(crate) json: Bytes,
    pub(crate) length: HeaderValue,
    /// `Content-Type`, `Content-Length` and `Vary`: a response with no other header clones it.
    pub(crate) headers: HeaderMap,
    /// The same without `Vary`, for a layer that does not negotiate.
    pub(crate) headers_without_vary: HeaderMap,
}

pub(crate) fn default_body(status: StatusCode) -> &'static DefaultBody {
    static BODIES: [OnceLock<DefaultBody>; 200] = [const { OnceLock::new() }; 200];
    BODIES[usize::from(status.as_u16() - 400)].get_or_init(|| {
        let error = ApiError::new(status);
        let json = write_body(
            &error,
            &HeaderMap::new(),
            &RequestContext::detached(),
            Rendering::defaults(),
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

/// The body of the status's default error in `shape`, for the request of `ctx`: rendered once,
/// unless the shape makes it depend on the request.
pub(crate) fn default_in(shape: &Offered, status: StatusCode, ctx: &RequestContext) -> Bytes {
    let kept = shape.default_of(status);
    if let (Some(body), None) = (kept.get(), ctx.request_id()) {
        return body.clone();
    }
    // In the document's words: a layer that rewords the status does not send these.
    let error = ApiError::new(status);
    let words = Rendering::defaults();
    let (body, shared) = write_shaped(shape, &error, &HeaderMap::new(), ctx, words);
    if shared {
        let _ = kept.set(body.clone());
    }
    body
}
