//! The request context: what the layer remembers of a request, captured before the call, to
//! answer its failures after the request itself has moved into the inner service.

use std::sync::Arc;

use http::header::HeaderName;
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Request};

use crate::contract::method_id::MethodId;
use crate::respond::negotiate::{negotiate, negotiate_shape};
use crate::respond::observe::events_enabled;
use crate::respond::settings::{Format, Rendering};
use crate::respond::shape::offered::Offered;

/// The longest `x-request-id` echoed in `request_id`.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// What the layer remembers of a request to render its errors after the request itself has
/// moved into the inner service. Building it allocates nothing.
#[derive(Debug, Clone)]
pub(crate) struct RequestContext {
    pub(crate) format: Format,
    /// The shape the body is written in, instead of `format`: its place in the rendering's
    /// shapes, from 1 (0: none).
    shape: u8,
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
        let (format, shape, request_id) = if headers.is_empty() {
            (rendering.format, rendering.default_shape, None)
        } else {
            let (format, shape) = if !rendering.negotiate {
                (rendering.format, rendering.default_shape)
            } else if rendering.shapes.is_empty() {
                (negotiate(rendering.format, headers), 0)
            } else {
                negotiate_shape(rendering, headers)
            };
            (
                format,
                shape,
                request_id(headers, &rendering.request_id_header),
            )
        };
        Self {
            format,
            shape,
            method,
            request_id,
            // For a problem document's `instance`, a shape's path, and the error event's `path`
            // when a subscriber could take it: a reference count, not a copy, and nothing at
            // all (not even that) when none needs it.
            instance: (format == Format::Problem || shape != 0 || events_enabled())
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
    pub(crate) fn detached() -> Self {
        Self {
            format: Format::Json,
            shape: 0,
            method: MethodId::OTHER,
            request_id: None,
            instance: None,
        }
    }

    /// Whether the body is the document's JSON, the same for every request: nothing echoed.
    pub(crate) fn is_plain(&self) -> bool {
        self.format == Format::Json && self.shape == 0 && self.request_id.is_none()
    }

    /// The shape the body is written in, of those of `rendering` (the layer's settings).
    pub(crate) fn shape<'r>(&self, rendering: &'r Rendering) -> Option<&'r Arc<Offered>> {
        rendering.shape_at(self.shape)
    }

    /// The `Content-Type` of the body.
    pub(crate) fn content_type(&self, rendering: &Rendering) -> HeaderValue {
        match self.shape(rendering) {
            Some(shape) => shape.content_type().clone(),
            None => self.format.content_type(),
        }
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
fn request_id(headers: &HeaderMap, name: &HeaderName) -> Option<HeaderValue> {
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"-_.:+/=".contains(b);
    headers
        .get_all(name)
        .iter()
        .find(|v| {
            let v = v.as_bytes();
            !v.is_empty() && v.len() <= MAX_REQUEST_ID_LEN && v.iter().all(safe)
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_id_is_the_first_safe_token() {
        let id = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-request-id", HeaderValue::from_bytes(value).unwrap());
            }
            request_id(&headers, &HeaderName::from_static("x-request-id"))
                .map(|v| v.to_str().unwrap().to_owned())
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
}
