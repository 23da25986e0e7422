//! What a route answers for the method policy: the fallback every [`ApiMethodRouter`] gets,
//! so that the policy's `405`, `501` and `OPTIONS` come from inside the routes, where the
//! layers added with `layer` see them, exactly as they see axum's own `405`.
//!
//! [`ApiMethodRouter`]: super::ApiMethodRouter

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use ::axum::extract::OriginalUri;
use axum_core::extract::Request;
use http::header::ALLOW;
use http::{Response, StatusCode};
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
        let policy = self.policy.get();
        // The policy's patterns are the whole router's; a nested route sees its path stripped
        // of the prefix, which `OriginalUri` (set by the outermost Router) still has.
        let answer = policy.and_then(|policy| {
            let original = req.extensions().get::<OriginalUri>();
            original
                .and_then(|uri| policy.unrouted(req.method(), uri.path()))
                .or_else(|| policy.unrouted(req.method(), req.uri().path()))
        });
        ready(Ok(match answer {
            Some(Unrouted::Refused(canned)) => canned.detached_response(),
            Some(Unrouted::NotAllowed(allow)) => {
                let mut response = not_allowed();
                response.headers_mut().insert(ALLOW, allow.clone());
                response
            }
            // Not built by `into_parts` (or the Router nested elsewhere): axum's own answer,
            // whose `Allow` axum adds.
            None => not_allowed(),
        }))
    }
}

/// A bare `405`, as axum's: the layer renders it (and makes it `204` for `OPTIONS`).
fn not_allowed() -> Response<ErrorBody> {
    let mut response = Response::new(ErrorBody::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
