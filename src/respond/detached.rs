//! The response a handler's [`ApiError`] is without the layer: complete JSON, and the error
//! itself in its extensions, for the layer to render again for the request at hand.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Response, StatusCode};

use crate::contract::numbers::number_value;
use crate::respond::canned::Canned;
use crate::respond::context::RequestContext;
use crate::respond::error_body::ErrorBody;
use crate::respond::json_writer::write_body;
use crate::respond::settings::{Format, Rendering, BEARER};
use crate::ApiError;

impl ApiError {
    /// The response a handler sends: complete without the layer (JSON, no `request_id`, no
    /// `Vary`, since nothing negotiates there), and carrying the error itself in its extensions
    /// so that the layer renders it once more, for the request at hand and with its own
    /// settings, keeping what middleware in between changed (status, headers).
    pub(crate) fn into_detached_response(self) -> Response<ErrorBody> {
        let (mut parts, ()) = Response::new(()).into_parts();
        parts.status = self.status();
        parts.headers = self.headers().clone();
        if parts.status == StatusCode::UNAUTHORIZED && !parts.headers.contains_key(WWW_AUTHENTICATE)
        {
            parts.headers.insert(WWW_AUTHENTICATE, BEARER.clone());
        }
        let json = write_body(
            &self,
            &parts.headers,
            &RequestContext::detached(),
            Rendering::defaults(),
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

impl Canned {
    /// The canned answer as [`ApiError::into_detached_response`] would send it, from the bytes
    /// rendered once: what a route of an [`ApiRouter`](crate::routing::ApiRouter) answers for
    /// the layer's policy, so that the layers around the route see it, as they see axum's 405.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn detached_response(&self) -> Response<ErrorBody> {
        let mut response = Response::new(ErrorBody::new(self.json().clone()));
        *response.status_mut() = self.error().status();
        *response.headers_mut() = self.headers().clone();
        response.extensions_mut().insert(self.error().clone());
        response
    }
}

/// Without the layer, an [`ApiError`] is a complete JSON response.
///
/// ```
/// use http::Response;
/// use tower_api_errors::body::ErrorBody;
/// use tower_api_errors::ApiError;
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
