//! [`ApiErrorService`]: decides what it can before calling the inner service.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::body::ResponseBody;
use crate::classify::ClassifyError;
use crate::future::{log_panic, ResponseFuture, Running};
use crate::layer::Config;
use crate::methods::{self, Decision};
use crate::overload::RouteHints;
use crate::render::{fresh_parts, respond, RequestContext};
use crate::{ApiError, BoxError};

/// The service [`ApiErrorLayer`](crate::ApiErrorLayer) makes. It never fails: every error
/// becomes a response.
///
/// A request goes through, in order: load shedding, the drain, the 501 for an unrecognized
/// method, the maintenance switch, the method policy, the deadline header, the in-flight limit
/// (with its priorities and deadline-aware admission), and only then the inner service. Each
/// of these answers at once, without calling the inner service.
#[derive(Debug)]
pub struct ApiErrorService<S, C> {
    inner: S,
    config: Arc<Config>,
    classifier: C,
    readiness: Readiness,
}

/// What the last `poll_ready` of the inner service said.
#[derive(Debug)]
enum Readiness {
    Ready,
    /// Only when shedding: the inner service was not ready, so the call is refused.
    NotReady,
    /// The inner service failed to become ready; the next call answers with the error.
    Failed(BoxError),
}

impl<S, C> ApiErrorService<S, C> {
    pub(crate) fn new(inner: S, config: Arc<Config>, classifier: C) -> Self {
        Self {
            inner,
            config,
            classifier,
            readiness: Readiness::Ready,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C: Clone> Clone for ApiErrorService<S, C> {
    fn clone(&self) -> Self {
        // Readiness is not cloned: a clone must be polled ready before it is called, as with
        // any tower service, and a readiness error belongs to the service that saw it.
        Self::new(
            self.inner.clone(),
            Arc::clone(&self.config),
            self.classifier.clone(),
        )
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for ApiErrorService<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    C: ClassifyError + Clone,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture<S::Future, ResBody, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.readiness = match self.inner.poll_ready(cx) {
            Poll::Ready(Ok(())) => Readiness::Ready,
            Poll::Ready(Err(error)) => Readiness::Failed(error.into()),
            Poll::Pending if self.config.shed_when_not_ready => Readiness::NotReady,
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        let ctx = RequestContext::capture(&req, &config.rendering);
        let early = |error: ApiError| {
            ResponseFuture::ready(respond(error, fresh_parts(), &ctx, &config.rendering))
        };

        match std::mem::replace(&mut self.readiness, Readiness::Ready) {
            Readiness::Ready => {}
            Readiness::NotReady => return early(ApiError::overloaded(config.retry_after)),
            Readiness::Failed(error) => return early(self.classifier.classify(error)),
        }
        if let Some(drain) = config.drain.as_ref().filter(|d| d.is_draining()) {
            return early(drain.refusal(req.version()));
        }
        if !config.recognized.recognizes(req.method()) {
            return early(methods::unrecognized(req.method()));
        }
        if let Some(maintenance) = &config.maintenance {
            if maintenance.is_enabled() && !maintenance.bypasses(req.uri().path()) {
                return early(ApiError::maintenance(maintenance.retry_after_duration()));
            }
        }
        let mut hints = RouteHints::default();
        if let Some(policy) = &config.policy {
            match policy.decide(&req) {
                Decision::Pass(route) => hints = route,
                Decision::Answer(response) => return ResponseFuture::ready(response),
                Decision::Refuse(error) => return early(error),
            }
        }
        let configured = hints.timeout.or(config.timeout);
        let timeout =
            match crate::deadline::timeout(&req, config.deadline_header.as_ref(), configured) {
                Ok(timeout) => timeout,
                Err(error) => return early(error),
            };
        let permit = match &config.in_flight {
            Some(in_flight) => match in_flight.admit(&req, hints, timeout, config.retry_after) {
                Ok(permit) => Some(permit),
                Err(error) => return early(error),
            },
            None => None,
        };
        // A panic in `call` itself (not only in the future it returns) is a 500 too.
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(future) => ResponseFuture::inner(
                future,
                Running {
                    ctx,
                    rendering: config.rendering,
                    timeout,
                    classifier: self.classifier.clone(),
                    _permit: permit,
                },
            ),
            Err(panic) => {
                log_panic(&*panic);
                early(ApiError::internal_error())
            }
        }
    }
}
