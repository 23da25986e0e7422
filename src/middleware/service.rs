//! [`ApiErrorService`]: decides what it can before calling the inner service.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::ALLOW;
use http::{Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

use crate::admission::deadline;
use crate::admission::overload::{InFlight, RouteHints, Shed};
use crate::admission::slow_client::BodyWait;
use crate::classify::BoxError;
use crate::contract::method_id::MethodId;
use crate::methods::policy::Decision;
use crate::methods::recognized;
use crate::middleware::body::ResponseBody;
use crate::middleware::config::Config;
use crate::middleware::future::{ResponseFuture, Running};
use crate::respond::classify::{ClassifyError, DefaultClassifier};
use crate::respond::context::RequestContext;
use crate::respond::error_body::ErrorBody;
use crate::respond::exit::{exit, Answer};
use crate::respond::observe::{log_panic, ShedReason};
use crate::respond::settings::Rendering;
use crate::ApiError;

/// The service [`ApiErrorLayer`](crate::ApiErrorLayer) makes. It never fails: every error
/// becomes a response.
///
/// A request goes through, in order: load shedding (when the inner service was not ready), the
/// drain, the 501 for an unrecognized method, `OPTIONS *`, the maintenance switch, the method
/// policy, the deadline header, the in-flight limit (with its priorities and deadline-aware
/// admission), and only then the inner service. Each of these answers at once, without calling
/// the inner service.
#[derive(Debug)]
pub struct ApiErrorService<S, C = DefaultClassifier> {
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

    /// The in-flight count of this service and its clones, when the layer counts (a
    /// [limit](crate::ApiErrorLayer::limit), a [shared one](crate::ApiErrorLayer::shared_limit)
    /// or a [drain](crate::ApiErrorLayer::drain)): keep a clone to watch the server.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::overload::Limit;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let app = ApiErrorLayer::new().limit(Limit::fixed(64)).layer(inner);
    /// let gauge = app.in_flight().expect("a limit is set").clone();
    /// assert_eq!(gauge.current(), 0);
    /// ```
    #[must_use]
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.config.in_flight.as_ref()
    }

    /// The inner service.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[derive(Clone)]
    /// # struct Inner;
    /// # impl Inner { fn name(&self) -> &'static str { "inner" } }
    /// let app = ApiErrorLayer::new().layer(Inner);
    /// assert_eq!(app.get_ref().name(), "inner");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[derive(Clone)]
    /// # struct Inner;
    /// # impl Inner { fn name(&self) -> &'static str { "inner" } }
    /// let mut app = ApiErrorLayer::new().layer(Inner);
    /// let _inner: &mut Inner = app.get_mut();
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[derive(Clone)]
    /// # struct Inner;
    /// # impl Inner { fn name(&self) -> &'static str { "inner" } }
    /// let app = ApiErrorLayer::new().layer(Inner);
    /// let inner: Inner = app.into_inner();
    /// assert_eq!(inner.name(), "inner");
    /// ```
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
    type Future = ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.readiness = match self.inner.poll_ready(cx) {
            Poll::Ready(Ok(())) => Readiness::Ready,
            Poll::Ready(Err(error)) => Readiness::Failed(error.into()),
            Poll::Pending if self.config.shed_when_not_ready => Readiness::NotReady,
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &*self.config;
        let method = MethodId::of(req.method());
        let rendering = &*config.rendering;
        let ctx = RequestContext::capture(&req, method, rendering);

        // Read before it is taken: on the usual path (ready) nothing is written and no replaced
        // value, which may hold a boxed error, is dropped. That was 55 instructions a request.
        if !matches!(self.readiness, Readiness::Ready) {
            match std::mem::replace(&mut self.readiness, Readiness::Ready) {
                Readiness::Ready => {}
                Readiness::NotReady => {
                    let overloaded = config
                        .in_flight
                        .as_ref()
                        .map_or(&config.overloaded, InFlight::overloaded);
                    let refusal = Answer::shed(overloaded, ShedReason::Overloaded);
                    return answer(refusal, &ctx, rendering);
                }
                Readiness::Failed(error) => {
                    let error = self.classifier.classify(error);
                    return answer(Answer::error(error), &ctx, rendering);
                }
            }
        }
        if let Some(drain) = config.drain.as_ref().filter(|d| d.is_draining()) {
            let refusal = Answer::shed(drain.refusal(req.version()), ShedReason::ShuttingDown);
            return answer(refusal, &ctx, rendering);
        }
        if method == MethodId::OTHER && !config.recognized.recognizes(req.method()) {
            return answer(Answer::refusal(recognized::unrecognized()), &ctx, rendering);
        }
        if method == MethodId::OPTIONS && req.uri().path() == "*" {
            // RFC 9110 §9.3.7: the server in general, never a resource to route. The path, not
            // the whole URI: HTTP/1.1 hands the asterisk form on as the URI `*`, but h2 sends
            // `:path: *` beside `:authority` and hyper builds `http://host*` from them (path
            // `*`). Only read for OPTIONS, so other methods pay nothing.
            return ResponseFuture::ready(options_asterisk(config));
        }
        if let Some(maintenance) = &config.maintenance {
            if maintenance.is_enabled() && !maintenance.bypasses(req.uri().path()) {
                let refusal = Answer::shed(maintenance.answer(), ShedReason::Maintenance);
                return answer(refusal, &ctx, rendering);
            }
        }
        let mut hints = RouteHints::default();
        let mut unlisted = false;
        if let Some(policy) = &config.policy {
            if policy.passes_everywhere(method) {
                // An adaptive limit per resource needs the resource even for a method every
                // resource allows; nothing else of the table.
                if config.partitioned {
                    hints = policy.hints_of(req.uri().path());
                }
            } else {
                match policy.decide(req.method(), req.uri().path()) {
                    Decision::Pass(route) => hints = route,
                    Decision::Unlisted(route) => {
                        hints = route;
                        unlisted = true;
                    }
                    // An `ApiRouter`'s routes answer their own 405s and 501s, inside the layers
                    // added to the router, which see them as they see axum's 405. Strict mode's
                    // 404 stays the layer's: no route has the path.
                    Decision::Refuse(refusal)
                        if !config.routes_answer
                            || refusal.error().status() == StatusCode::NOT_FOUND =>
                    {
                        return answer(Answer::refusal(refusal), &ctx, rendering)
                    }
                    Decision::Refuse(_) => {}
                }
            }
        }
        let configured = hints.timeout.or(config.timeout);
        let timeout = match deadline::timeout(&req, config.deadline_header.as_ref(), configured) {
            Ok(timeout) => timeout,
            Err(malformed) => return answer(Answer::refusal(malformed), &ctx, rendering),
        };
        if timeout.is_some_and(|t| t.is_zero()) {
            // Nothing can be done in no time, limit or not: the answer the deadline would give.
            let refusal = Answer::shed(deadline::too_short(), ShedReason::Deadline);
            return answer(refusal, &ctx, rendering);
        }
        let permit = match &config.in_flight {
            Some(in_flight) => match in_flight.admit(&req, hints, timeout) {
                Ok(permit) => Some(permit),
                Err(Shed::Overloaded) => {
                    let refusal = Answer::shed(in_flight.overloaded(), ShedReason::Overloaded);
                    return answer(refusal, &ctx, rendering);
                }
                Err(Shed::DeadlineTooShort) => {
                    let refusal = Answer::shed(deadline::too_short(), ShedReason::Deadline);
                    return answer(refusal, &ctx, rendering);
                }
                Err(Shed::Adaptive(retry_after)) => {
                    let error = ApiError::overloaded(retry_after);
                    let refusal = Answer::Error {
                        error,
                        shed: Some(ShedReason::Overloaded),
                    };
                    return answer(refusal, &ctx, rendering);
                }
            },
            None => None,
        };
        let held = config.rendering.clone();
        let body_wait = if config.watch_body {
            Some(watch_body(&mut req))
        } else {
            None
        };
        // A panic in `call` itself (not only in the future it returns) is a 500 too. The inner
        // future is returned through the unwinding guard: written into an `Option` outside it
        // instead, its bytes were copied twice more (two `memcpy`s, 140 instructions a request).
        let inner = &mut self.inner;
        let call = || inner.call(req);
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(future) => ResponseFuture::inner(
                future,
                Running {
                    ctx,
                    rendering: held,
                    timeout,
                    classifier: self.classifier.clone(),
                    unlisted,
                    body_wait,
                    _permit: permit,
                },
            ),
            Err(panic) => {
                log_panic(&*panic);
                let panicked = Answer::Status(StatusCode::INTERNAL_SERVER_ERROR);
                answer(panicked, &ctx, rendering)
            }
        }
    }
}

/// The flag a [`SlowClientLayer`](crate::overload::SlowClientLayer) inside sets while the handler waits
/// for the body: an allocation, in the request's extensions, only for a layer that watches.
/// Out of line, so that the map's insertion does not weigh on `call` for every other layer.
#[cold]
#[inline(never)]
fn watch_body<B>(req: &mut Request<B>) -> BodyWait {
    let wait = BodyWait::default();
    req.extensions_mut().insert(wait.clone());
    wait
}

/// An answer decided before the inner call, sent through the one exit.
fn answer<F, C>(
    answer: Answer<'_>,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> ResponseFuture<F, C> {
    ResponseFuture::ready(exit(answer, ctx, rendering))
}

/// `204` to `OPTIONS *`, with `Allow` listing every method the route table allows somewhere
/// (without a table the layer does not know them, and says nothing it can't back).
fn options_asterisk(config: &Config) -> Response<ErrorBody> {
    let mut response = Response::new(ErrorBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Some(policy) = config.policy.as_ref().filter(|p| p.answers_options()) {
        response
            .headers_mut()
            .insert(ALLOW, policy.server_allow().clone());
    }
    response
}
