//! Telling a slow client from a slow handler. Documented on [`SlowClientLayer`].

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// Whether a request's handler is waiting for its body: made by the
/// [`ApiErrorService`](crate::ApiErrorService) of a layer with
/// [`watch_request_body`](crate::ApiErrorLayer::watch_request_body), handed down in the request's
/// extensions, set by the [`WatchedBody`] and read at the deadline. One per request, so that
/// nothing is shared between requests, threads or layers.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyWait(Arc<AtomicBool>);

impl BodyWait {
    /// Whether the body's last poll had to wait (and the body is still there).
    pub(crate) fn waiting(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, waiting: bool) {
        self.0.store(waiting, Ordering::Relaxed);
    }
}

/// The [`BodyWait`] a [`WatchedBody`] reports to; a dropped body waits for nothing.
#[derive(Debug)]
struct Watch(Option<BodyWait>);

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(wait) = &self.0 {
            wait.set(false);
        }
    }
}

/// Telling a slow client from a slow handler: `408` rather than `504` when the deadline passes
/// while the handler is still waiting for the request body.
///
/// Envoy splits a request timeout (the client) from an upstream timeout (the service); a tower
/// stack sees only one future. With
/// [`watch_request_body`](crate::ApiErrorLayer::watch_request_body) on the
/// [`ApiErrorLayer`](crate::ApiErrorLayer) outside, each request carries a flag in its
/// extensions; [`SlowClientLayer`] takes it and wraps the request body so that the flag says
/// whether the handler's last poll of the body had to wait. When the deadline passes while it
/// did, the answer is `408 request_timeout` — the client was too slow to send its request —
/// instead of `504 gateway_timeout`. The flag belongs to the one request: no state is shared
/// between requests, threads or layers.
///
/// It is opt-in because it costs: the flag is an allocation in the request's extensions, and
/// the request body type changes (axum boxes a body that is not its own once more, hyper
/// services see a [`WatchedBody`]). The detection covers the usual case, a handler that reads
/// the body itself, on its own task or another. Without `watch_request_body` outside, a request reaches
/// [`SlowClient`] with no flag: it warns (the answer stays `504`), since that is a stack
/// written wrong.
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use std::time::Duration;
/// use bytes::Bytes;
/// use http::{Request, Response};
/// use http_body::{Body, Frame};
/// use http_body_util::{BodyExt, Full};
/// use tower::{service_fn, ServiceBuilder, ServiceExt};
/// use tower_api_errors::overload::{SlowClientLayer, WatchedBody};
/// use tower_api_errors::ApiErrorLayer;
///
/// /// A client that sends its headers and then nothing.
/// struct Stalled;
/// impl Body for Stalled {
///     type Data = Bytes;
///     type Error = std::io::Error;
///     fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
///         Poll::Pending
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let app = ServiceBuilder::new()
///     .layer(ApiErrorLayer::new().timeout(Duration::from_secs(5)).watch_request_body())
///     .layer(SlowClientLayer::new())
///     .service(service_fn(|req: Request<WatchedBody<Stalled>>| async move {
///         let body = req.into_body().collect().await?.to_bytes();
///         Ok::<_, std::io::Error>(Response::new(Full::new(body)))
///     }));
/// let response = app.oneshot(Request::new(Stalled)).await.unwrap();
/// assert_eq!(response.status(), 408);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct SlowClientLayer;

impl SlowClientLayer {
    /// The layer.
    ///
    /// ```
    /// use tower::ServiceBuilder;
    /// use tower_api_errors::overload::{SlowClientLayer, WatchedBody};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # let handler = tower::service_fn(|_req: http::Request<WatchedBody<String>>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let app = ServiceBuilder::new()
    ///     .layer(ApiErrorLayer::new().timeout(std::time::Duration::from_secs(5)))
    ///     .layer(SlowClientLayer::new())
    ///     .service(handler);
    /// # let _ = app;
    /// ```
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for SlowClientLayer {
    type Service = SlowClient<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SlowClient { inner }
    }
}

/// The service of [`SlowClientLayer`]: hands the inner service a [`WatchedBody`].
#[derive(Debug, Clone)]
pub struct SlowClient<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for SlowClient<S>
where
    S: Service<Request<WatchedBody<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let wait = req.extensions_mut().remove::<BodyWait>();
        if wait.is_none() {
            tracing::warn!(
                target: "tower_api_errors::slow_client",
                "a request reached SlowClientLayer without the flag of an ApiErrorLayer with \
                 `watch_request_body()` outside it: a stalled upload is answered 504, not 408"
            );
        }
        let watch = Watch(wait);
        self.inner.call(req.map(|body| WatchedBody { body, watch }))
    }
}

pin_project! {
    /// A request body that tells the [`ApiErrorLayer`](crate::ApiErrorLayer) around it when the
    /// handler waits for it.
    #[derive(Debug)]
    pub struct WatchedBody<B> {
        #[pin]
        body: B,
        watch: Watch,
    }
}

impl<B> WatchedBody<B> {
    /// The body inside.
    ///
    /// ```
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::overload::{SlowClientLayer, WatchedBody};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let handler = tower::service_fn(|req: http::Request<WatchedBody<String>>| async move {
    ///     let body: String = req.into_body().into_inner();
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(body))
    /// });
    /// let app = SlowClientLayer::new().layer(handler);
    /// let response = app.oneshot(http::Request::new("hello".to_string())).await.unwrap();
    /// assert_eq!(response.body(), "hello");
    /// # }
    /// ```
    pub fn into_inner(self) -> B {
        self.body
    }
}

impl<B: Body> Body for WatchedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let poll = this.body.poll_frame(cx);
        if let Some(wait) = &this.watch.0 {
            wait.set(poll.is_pending());
        }
        poll
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_body_waits_for_nothing() {
        let wait = BodyWait::default();
        let watch = Watch(Some(wait.clone()));
        wait.set(true);
        drop(watch);
        assert!(!wait.waiting());
    }
}
