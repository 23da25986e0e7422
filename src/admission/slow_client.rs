//! Telling a slow client from a slow handler. Documented on [`SlowClientLayer`].

use std::cell::Cell;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use http::Request;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

thread_local! {
    // `None` outside a watched poll; `Some(waited)` during one.
    static WAITED_FOR_BODY: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Set once a [`SlowClient`] is built: until then no body in this process can report a wait, and
/// the layer's polls skip the watch (two thread-local accesses each).
static WATCHING: AtomicBool = AtomicBool::new(false);

/// Whether a [`SlowClientLayer`] has wrapped a service in this process.
#[inline]
pub(crate) fn watching() -> bool {
    WATCHING.load(Ordering::Relaxed)
}

/// Runs `poll` (one poll of an inner future) and says whether a [`WatchedBody`] it polled had
/// to wait. Nested layers each see their own poll: the previous state is restored.
pub(crate) fn poll_watching_body<T>(poll: impl FnOnce() -> T) -> (T, bool) {
    let previous = WAITED_FOR_BODY.replace(Some(false));
    let output = poll();
    let waited = WAITED_FOR_BODY.replace(previous) == Some(true);
    (output, waited)
}

/// Telling a slow client from a slow handler: `408` rather than `504` when the deadline passes
/// while the handler is still waiting for the request body.
///
/// Envoy splits a request timeout (the client) from an upstream timeout (the service); a tower
/// stack sees only one future. [`SlowClientLayer`] wraps the request body so that, each time
/// the handler polls it and has to wait, the [`ApiErrorLayer`](crate::ApiErrorLayer) around it
/// learns of it (through a thread-local flag set during its own poll of the inner future: no
/// allocation, no shared state). When the deadline then passes, the answer is
/// `408 request_timeout` — the client was too slow to send its request — instead of
/// `504 gateway_timeout`.
///
/// It is opt-in because it changes the request body type: axum boxes a body that is not its own
/// once more (one allocation per request), hyper services see a [`WatchedBody`]. The
/// detection covers the usual case, a handler that reads the body itself; a body handed to
/// another task is not seen (the answer stays `504`).
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
///     .layer(ApiErrorLayer::new().timeout(Duration::from_secs(5)))
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
        WATCHING.store(true, Ordering::Relaxed);
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
    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.inner.call(req.map(|body| WatchedBody { body }))
    }
}

pin_project! {
    /// A request body that tells the [`ApiErrorLayer`](crate::ApiErrorLayer) around it when the
    /// handler waits for it.
    #[derive(Debug)]
    pub struct WatchedBody<B> {
        #[pin]
        body: B,
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
        let poll = self.project().body.poll_frame(cx);
        if poll.is_pending() {
            // Only inside a watched poll; elsewhere the flag stays unset.
            let _ = WAITED_FOR_BODY.try_with(|waited| {
                if waited.get().is_some() {
                    waited.set(Some(true));
                }
            });
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
    fn nested_watches_restore_the_outer_state() {
        let ((), outer) = poll_watching_body(|| {
            let ((), inner) = poll_watching_body(|| {
                WAITED_FOR_BODY.set(Some(true));
            });
            assert!(inner);
        });
        assert!(!outer);
        assert_eq!(WAITED_FOR_BODY.get(), None);
    }
}
