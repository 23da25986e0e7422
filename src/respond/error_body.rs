//! [`ErrorBody`]: the body of every error response the layer sends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

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
