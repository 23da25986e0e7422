//! [`ResponseBody`]: the response body of the service, one enum over the inner service's body
//! and the error body, so that nothing is boxed.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Response;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::respond::error_body::ErrorBody;
use crate::ApiError;

pin_project! {
    /// The response body of [`ApiErrorService`](crate::ApiErrorService): the inner service's
    /// body, untouched, or an [`ErrorBody`]. One enum, so nothing is boxed.
    pub struct ResponseBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Inner { #[pin] body: B },
        Error { body: ErrorBody },
    }
}

/// Without a bound on the inner body: which of the two it is.
impl<B> std::fmt::Debug for ResponseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Inner { .. } => "inner",
            Kind::Error { .. } => "error",
        };
        f.debug_struct("ResponseBody")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl<B> ResponseBody<B> {
    pub(crate) fn inner(body: B) -> Self {
        Self {
            kind: Kind::Inner { body },
        }
    }
}

impl<B> ResponseBody<B> {
    /// The inner service's body, or, as the error, the error body that replaced it.
    ///
    /// # Errors
    ///
    /// The error body, when the layer answered.
    ///
    /// ```
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = ApiErrorLayer::new().layer(tower::service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new("hello".to_string()))
    /// }));
    /// let response = app.oneshot(http::Request::new(())).await.unwrap();
    /// assert_eq!(response.into_body().into_inner().unwrap(), "hello");
    /// # }
    /// ```
    pub fn into_inner(self) -> Result<B, ErrorBody> {
        match self.kind {
            Kind::Inner { body } => Ok(body),
            Kind::Error { body } => Err(body),
        }
    }
}

impl<B> From<ErrorBody> for ResponseBody<B> {
    fn from(body: ErrorBody) -> Self {
        Self {
            kind: Kind::Error { body },
        }
    }
}

impl<B> Body for ResponseBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    #[inline]
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body } => body.poll_frame(cx),
            KindProj::Error { body } => Pin::new(body)
                .poll_frame(cx)
                .map_err(|never| match never {}),
        }
    }

    #[inline]
    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body } => body.is_end_stream(),
            Kind::Error { body } => body.is_end_stream(),
        }
    }

    #[inline]
    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body } => body.size_hint(),
            Kind::Error { body } => body.size_hint(),
        }
    }
}

impl<B> From<ApiError> for Response<ResponseBody<B>> {
    fn from(error: ApiError) -> Self {
        error.into_detached_response().map(ResponseBody::from)
    }
}
