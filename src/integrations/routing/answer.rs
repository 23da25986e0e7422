//! What a route answers for the method policy: the fallback every [`ApiMethodRouter`] gets,
//! so that the policy's `405`, `501` and `OPTIONS` come from inside the routes, where the
//! layers added with `layer` see them, exactly as they see axum's own `405`.
//!
//! A route with a fallback of its own ([`ApiMethodRouter::fallback`]) gets [`PolicyFirst`]
//! instead: the policy's refusals first, then the route's fallback for what the policy leaves
//! to the Router.
//!
//! [`ApiMethodRouter`]: super::ApiMethodRouter
//! [`ApiMethodRouter::fallback`]: super::ApiMethodRouter::fallback

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use ::axum::extract::OriginalUri;
use ::axum::handler::Handler;
use axum_core::body::Body;
use axum_core::extract::Request;
use http::header::ALLOW;
use http::{HeaderValue, Method, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::methods::policy::MethodPolicy;
use crate::methods::policy::Unrouted;
use crate::respond::error_body::ErrorBody;

/// The policy a route answers from: set once, when its router is built
/// ([`into_parts`](super::ApiRouter::into_parts)), since routes declared later (or nested,
/// merged) still change the resource's `Allow`.
pub(super) type PolicyCell = Arc<OnceLock<Arc<MethodPolicy>>>;

/// A route's fallback: the method policy's answer to a method the route has no handler for.
#[derive(Debug, Clone)]
pub(super) struct PolicyFallback {
    pub(super) policy: PolicyCell,
}

impl Service<Request> for PolicyFallback {
    type Response = Response<ErrorBody>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        ready(Ok(match policy_answer(&self.policy, &req) {
            Some(Unrouted::Refused(canned)) => canned.detached_response(),
            Some(Unrouted::NotAllowed(allow)) => not_allowed_with(allow),
            // Not built by `into_parts` (or the Router nested elsewhere): axum's own answer,
            // whose `Allow` axum adds.
            None => not_allowed(),
        }))
    }
}

/// What the policy in `cell` says of `req`'s method on its path; `None` before the router is
/// built, or for a path in no resource.
fn policy_answer<'p>(cell: &'p PolicyCell, req: &Request) -> Option<Unrouted<'p>> {
    let policy = cell.get()?;
    // The policy's patterns are the whole router's; a nested route sees its path stripped of
    // the prefix, which `OriginalUri` (set by the outermost Router) still has.
    let original = req.extensions().get::<OriginalUri>();
    original
        .and_then(|uri| policy.unrouted(req.method(), uri.path()))
        .or_else(|| policy.unrouted(req.method(), req.uri().path()))
}

/// A route's own fallback ([`ApiMethodRouter::fallback`](super::ApiMethodRouter::fallback))
/// behind the policy: a method the policy refuses or plans gets the policy's `405` / `501`, and
/// `OPTIONS` (when the layer answers it) the bare `405` the layer makes `204`, exactly as
/// without a fallback; every other method (`CONNECT`, `QUERY`, an extension method the layer
/// recognizes, `OPTIONS` when it does not) reaches `handler`. So the route's `Allow` lists only
/// methods that reach a handler: none it then refuses.
#[derive(Debug, Clone)]
pub(super) struct PolicyFirst<H> {
    pub(super) policy: PolicyCell,
    pub(super) handler: H,
}

impl<H, T, S> Handler<T, S> for PolicyFirst<H>
where
    H: Handler<T, S>,
    S: Send + 'static,
{
    type Future = FallbackFuture<H::Future>;

    fn call(self, req: Request, state: S) -> Self::Future {
        let answers_options = self.policy.get().is_some_and(|p| p.answers_options());
        let answer = match policy_answer(&self.policy, &req) {
            Some(Unrouted::Refused(canned)) => Some(canned.detached_response()),
            Some(Unrouted::NotAllowed(allow))
                if req.method() == Method::OPTIONS && answers_options =>
            {
                Some(not_allowed_with(allow))
            }
            _ => None,
        };
        match answer {
            Some(response) => FallbackFuture::Policy {
                response: Some(response.map(Body::new)),
            },
            None => FallbackFuture::Handler {
                future: self.handler.call(req, state),
            },
        }
    }
}

pin_project! {
    /// [`PolicyFirst`]'s answer: the policy's, ready, or the route's fallback's.
    #[project = FallbackProj]
    pub(super) enum FallbackFuture<F> {
        Policy { response: Option<axum_core::response::Response> },
        Handler { #[pin] future: F },
    }
}

impl<F> Future for FallbackFuture<F>
where
    F: Future<Output = axum_core::response::Response>,
{
    type Output = axum_core::response::Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FallbackProj::Policy { response } => Poll::Ready(
                response
                    .take()
                    .expect("FallbackFuture polled after completion"),
            ),
            FallbackProj::Handler { future } => future.poll(cx),
        }
    }
}

/// The bare `405` with the resource's `Allow`.
fn not_allowed_with(allow: &HeaderValue) -> Response<ErrorBody> {
    let mut response = not_allowed();
    response.headers_mut().insert(ALLOW, allow.clone());
    response
}

/// A bare `405`, as axum's: the layer renders it (and makes it `204` for `OPTIONS`).
fn not_allowed() -> Response<ErrorBody> {
    let mut response = Response::new(ErrorBody::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
