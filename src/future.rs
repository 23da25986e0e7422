//! [`ResponseFuture`]: waits for the inner service under the deadline and the panic guard,
//! then passes a success through or turns a failure into the error body.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{response, Response};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::body::{ErrorBody, ResponseBody};
use crate::classify::ClassifyError;
use crate::normalize::{normalize, with_detail, Normalized, DETAIL_LIMIT};
use crate::overload::Permit;
use crate::render::{fresh_parts, respond, Rendering, RequestContext};
use crate::{ApiError, BoxError};

pin_project! {
    /// Response future of [`ApiErrorService`](crate::ApiErrorService).
    ///
    /// A state machine, not a boxed future: the happy path is one poll of the inner future and
    /// one status check.
    pub struct ResponseFuture<F, B, C> {
        #[pin]
        state: State<F, B>,
        // Armed only when the inner future first returns `Pending`: a handler that answers at
        // once never touches the timer.
        #[pin]
        deadline: Option<Sleep>,
        // `None` for an answer decided before the inner call.
        running: Option<Running<C>>,
    }

    impl<F, B, C> PinnedDrop for ResponseFuture<F, B, C> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before completing: a cancellation frees the place but is no latency
            // sample.
            if let Some(permit) = this.project().running.as_mut().and_then(|r| r._permit.as_mut()) {
                permit.cancel();
            }
        }
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Ready { response: Option<Response<ErrorBody>> },
        Inner { #[pin] future: F },
        ReadDetail { parts: Option<response::Parts>, #[pin] body: B, text: BytesMut },
    }
}

/// What a request in progress needs to answer a failure. It holds its own copies rather than
/// the layer's `Arc<Config>`: the happy path pays no reference count for them.
pub(crate) struct Running<C> {
    pub(crate) ctx: RequestContext,
    pub(crate) rendering: Rendering,
    pub(crate) timeout: Option<Duration>,
    pub(crate) classifier: C,
    // Held until the response head is out, or the future is dropped.
    pub(crate) _permit: Option<Permit>,
}

impl<F, B, C> ResponseFuture<F, B, C> {
    pub(crate) fn ready(response: Response<ErrorBody>) -> Self {
        Self {
            state: State::Ready {
                response: Some(response),
            },
            deadline: None,
            running: None,
        }
    }

    pub(crate) fn inner(future: F, running: Running<C>) -> Self {
        Self {
            state: State::Inner { future },
            deadline: None,
            running: Some(running),
        }
    }
}

impl<F, B, E, C> Future for ResponseFuture<F, B, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body<Data = Bytes>,
    C: ClassifyError,
{
    type Output = Result<Response<ResponseBody<B>>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let error = match this.state.as_mut().project() {
                StateProj::Ready { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response.map(ResponseBody::from)));
                }
                StateProj::Inner { future } => {
                    let running = this
                        .running
                        .as_ref()
                        .expect("ResponseFuture polled after completion");
                    match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                        Ok(Poll::Ready(Ok(response))) if response.status().as_u16() < 400 => {
                            // The happy path: nothing to look at but the status.
                            *this.running = None;
                            return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                        }
                        Ok(Poll::Ready(Ok(response))) => {
                            let rendering = &running.rendering;
                            match normalize(response, &running.ctx, rendering) {
                                Normalized::Untouched(response) => {
                                    *this.running = None;
                                    return Poll::Ready(Ok(response.map(ResponseBody::inner)));
                                }
                                Normalized::Rendered(response) => {
                                    *this.running = None;
                                    return Poll::Ready(Ok(response.map(ResponseBody::from)));
                                }
                                Normalized::ReadDetail(parts, body) => {
                                    this.state.set(State::ReadDetail {
                                        parts: Some(parts),
                                        body,
                                        text: BytesMut::new(),
                                    });
                                    continue;
                                }
                            }
                        }
                        Ok(Poll::Ready(Err(error))) => running.classifier.classify(error.into()),
                        Ok(Poll::Pending) => {
                            let timeout = running.timeout;
                            ready!(poll_deadline(this.deadline.as_mut(), timeout, cx));
                            ApiError::gateway_timeout()
                        }
                        Err(panic) => {
                            log_panic(&*panic);
                            ApiError::internal_error()
                        }
                    }
                }
                StateProj::ReadDetail { parts, body, text } => {
                    let complete = match body.poll_frame(cx) {
                        Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                            Ok(data) if text.len() + data.len() <= DETAIL_LIMIT => {
                                text.extend_from_slice(&data);
                                continue;
                            }
                            // Longer than its size hint said: not worth waiting for.
                            Ok(_) => false,
                            Err(_trailers) => continue,
                        },
                        Poll::Ready(Some(Err(_))) => false,
                        Poll::Ready(None) => true,
                        Poll::Pending => {
                            let timeout = this.running.as_ref().and_then(|r| r.timeout);
                            ready!(poll_deadline(this.deadline.as_mut(), timeout, cx));
                            false
                        }
                    };
                    let parts = parts.take().expect("ReadDetail polled after completion");
                    let text = std::mem::take(text).freeze();
                    let running = this
                        .running
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let rendering = &running.rendering;
                    let response =
                        with_detail(parts, complete.then_some(&text), &running.ctx, rendering);
                    this.state.set(State::Ready {
                        response: Some(response),
                    });
                    continue;
                }
            };
            // A failure: answer with its error body. Replacing the state drops the inner future
            // (and so cancels the handler) now, not when this future is dropped.
            let running = this
                .running
                .take()
                .expect("ResponseFuture polled after completion");
            let response = respond(error, fresh_parts(), &running.ctx, &running.rendering);
            this.state.set(State::Ready {
                response: Some(response),
            });
        }
    }
}

/// Polls the deadline, arming it on first use; without a timeout it never elapses.
fn poll_deadline(
    mut deadline: Pin<&mut Option<Sleep>>,
    timeout: Option<Duration>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let Some(timeout) = timeout else {
        return Poll::Pending;
    };
    if deadline.is_none() {
        deadline.set(Some(tokio::time::sleep(timeout)));
    }
    deadline
        .as_pin_mut()
        .map_or(Poll::Pending, |sleep| sleep.poll(cx))
}

/// Logs a caught panic's message; it never goes into a response.
pub(crate) fn log_panic(panic: &(dyn Any + Send)) {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>");
    tracing::error!(panic = message, "inner service panicked; answering 500");
}
