//! Response bodies: the error body, and the enum of it and the inner service's body.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// The body of an error response: the rendered JSON, sent as one frame.
///
/// For a `HEAD` request it is empty (its size hint says 0) while `Content-Length` still tells
/// the size the `GET` would have had, as RFC 9110 §8.6 allows.
#[derive(Debug, Clone, Default)]
pub struct ErrorBody {
    // Inline, not boxed: an answer the layer renders once is a reference-counted `Bytes`, so
    // sending it costs no allocation.
    bytes: Bytes,
}

impl ErrorBody {
    pub(crate) fn new(bytes: Bytes) -> Self {
        Self { bytes }
    }

    pub(crate) fn empty() -> Self {
        Self::default()
    }

    /// The bytes not sent yet.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.bytes
    }
}

impl Body for ErrorBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.bytes.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut self.bytes)))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.bytes.len() as u64)
    }
}

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
