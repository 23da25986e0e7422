//! [`ResponseFuture`]: waits for the inner service under the deadline and the panic guard,
//! then passes a success through or turns a failure into the error body.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::admission::overload::Permit;
use crate::admission::slow_client::BodyWait;
use crate::classify::BoxError;
use crate::middleware::body::ResponseBody;
use crate::respond::classify::ClassifyError;
use crate::respond::context::RequestContext;
use crate::respond::error_body::ErrorBody;
use crate::respond::exit::{exit, Answer};
use crate::respond::normalize::{normalize, Normalized};
use crate::respond::observe::{log_panic, log_panic_in_drop};
use crate::respond::settings::SharedRendering;

pin_project! {
    /// Response future of [`ApiErrorService`](crate::ApiErrorService).
    ///
    /// A state machine, not a boxed future: the happy path is one poll of the inner future and
    /// one status check.
    pub struct ResponseFuture<F, C> {
        #[pin]
        state: State<F>,
        // Armed only when the inner future first returns `Pending`: a handler that answers at
        // once never touches the timer.
        #[pin]
        deadline: Option<Sleep>,
        // `None` for an answer decided before the inner call.
        running: Option<Running<C>>,
    }

}

/// Without bounds on the inner future or the classifier: what a log line needs is where the
/// request stands.
impl<F, C> std::fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture")
            .field(
                "answered_by_layer",
                &matches!(self.state, State::Ready { .. }),
            )
            .field("deadline_armed", &self.deadline.is_some())
            .finish_non_exhaustive()
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Ready { response: Option<Response<ErrorBody>> },
        Inner { #[pin] future: F },
    }
}

/// What a request in progress needs to answer a failure. It holds what it needs rather than
/// the layer's `Arc<Config>`: the happy path pays no reference count for it.
pub(crate) struct Running<C> {
    pub(crate) ctx: RequestContext,
    pub(crate) rendering: SharedRendering,
    pub(crate) timeout: Option<Duration>,
    pub(crate) classifier: C,
    /// The method policy does not name the request's method for its resource: a success means
    /// the table forgot a method the service has (`ctx` then holds the path).
    pub(crate) unlisted: bool,
    /// Whether the handler waits for the request body, when the layer watches it (see
    /// [`SlowClientLayer`](crate::overload::SlowClientLayer)).
    pub(crate) body_wait: Option<BodyWait>,
    // Held until the response head is out, or the future is dropped.
    pub(crate) _permit: Option<Permit>,
}

impl<C> Running<C> {
    /// The request is answered (not cancelled), as a failure or not: its latency counts for
    /// an adaptive limit (a failure's only when it is slow).
    fn complete(&mut self, failed: bool) {
        if let Some(permit) = &mut self._permit {
            permit.complete(failed);
        }
    }
}

impl<F, C> ResponseFuture<F, C> {
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

impl<F, B, E, C> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: Body<Data = Bytes>,
    C: ClassifyError,
{
    type Output = Result<Response<ResponseBody<B>>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let future = match this.state.as_mut().project() {
            StateProj::Ready { response } => {
                let response = response
                    .take()
                    .expect("ResponseFuture polled after completion");
                return Poll::Ready(Ok(response.map(ResponseBody::from)));
            }
            StateProj::Inner { future } => future,
        };
        let running = this
            .running
            .as_mut()
            .expect("ResponseFuture polled after completion");
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        let response = match polled {
            Ok(Poll::Ready(Ok(response))) if response.status().as_u16() < 400 => {
                // The happy path: nothing to look at but the status.
                if running.unlisted {
                    warn_unlisted(&running.ctx, response.status());
                }
                running.complete(false);
                *this.running = None;
                return Poll::Ready(Ok(response.map(ResponseBody::inner)));
            }
            Ok(Poll::Ready(Ok(response))) => {
                let mut running = this.running.take().expect("checked above");
                running.complete(true);
                // Normalization may quote the body or log it, and a body may panic too: it is
                // guarded inside.
                match normalize(response, &running.ctx, &running.rendering, cx) {
                    Normalized::Untouched(response) => {
                        return Poll::Ready(Ok(response.map(ResponseBody::inner)))
                    }
                    Normalized::Answered(response) => response,
                    Normalized::Options(response) => response,
                }
            }
            Ok(Poll::Ready(Err(error))) => {
                let mut running = this.running.take().expect("checked above");
                running.complete(true);
                let error = error.into();
                match catch_unwind(AssertUnwindSafe(|| running.classifier.classify(error))) {
                    Ok(error) => exit(Answer::error(error), &running.ctx, &running.rendering),
                    Err(panic) => {
                        log_panic(&*panic);
                        let answer = Answer::Status(StatusCode::INTERNAL_SERVER_ERROR);
                        exit(answer, &running.ctx, &running.rendering)
                    }
                }
            }
            Ok(Poll::Pending) => {
                let timeout = running.timeout;
                ready!(poll_deadline(this.deadline.as_mut(), timeout, cx));
                let mut running = this.running.take().expect("checked above");
                running.complete(true);
                // The client was the slow one when the handler was still waiting for its body.
                let status = if running.body_wait.as_ref().is_some_and(BodyWait::waiting) {
                    StatusCode::REQUEST_TIMEOUT
                } else {
                    StatusCode::GATEWAY_TIMEOUT
                };
                exit(Answer::Status(status), &running.ctx, &running.rendering)
            }
            Err(panic) => {
                log_panic(&*panic);
                let mut running = this.running.take().expect("checked above");
                running.complete(true);
                let answer = Answer::Status(StatusCode::INTERNAL_SERVER_ERROR);
                exit(answer, &running.ctx, &running.rendering)
            }
        };
        // Replacing the state drops the inner future (and so cancels the handler) now, not
        // when this future is dropped. A guard of the handler may panic in its `Drop`: the head
        // is not sent yet, so the answer decided above still leaves (a `504` stays a `504`: the
        // deadline did pass), the panic is logged, and the connection is not torn down.
        finish(this.state);
        Poll::Ready(Ok(response.map(ResponseBody::from)))
    }
}

/// Drops the inner future (cancelling the handler when it is not done), catching a panic in its
/// `Drop`. Out of line: `poll`'s happy path stays as small as it was.
#[cold]
#[inline(never)]
fn finish<F>(mut state: Pin<&mut State<F>>) {
    let drop_future = AssertUnwindSafe(|| state.set(State::Ready { response: None }));
    if let Err(panic) = catch_unwind(drop_future) {
        log_panic_in_drop(&*panic, "the inner service's future");
    }
}

/// Policy drift made loud: the inner service served a method the route table does not name for
/// the resource, so its 405s and 501s (and `Allow`) are missing it.
fn warn_unlisted(ctx: &RequestContext, status: StatusCode) {
    if ctx.method() == Some("OPTIONS") {
        // A CORS layer inside answers preflights: not a forgotten method.
        return;
    }
    tracing::warn!(
        target: "tower_api_errors::future",
        method = ctx.method().unwrap_or("?"),
        path = ctx.instance_path().unwrap_or("?"),
        status = status.as_u16(),
        "the inner service answered a method the method policy does not name for this \
         resource: add it to the resource's `allow` list, or `Allow` and the 501s miss it"
    );
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
