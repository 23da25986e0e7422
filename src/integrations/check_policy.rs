//! [`check_policy`] (and [`check_router`] for an axum `Router`): whether a service and a
//! [`MethodPolicy`] kept apart still agree.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::classify::BoxError;
use crate::methods::policy::MethodPolicy;
use crate::ApiErrorLayer;

/// The disagreements [`check_policy`] found, one a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMismatch {
    problems: Vec<String>,
}

impl PolicyMismatch {
    /// Each disagreement, in the policy's order.
    ///
    /// ```
    /// use axum::routing::get;
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::testing::check_router;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let router = axum::Router::new().route("/notes", get(|| async { "[]" }));
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET, Method::POST]))
    ///     .build()
    ///     .unwrap();
    /// let mismatch = check_router(router, &policy).await.unwrap_err();
    /// assert_eq!(mismatch.problems(), ["/notes: the service does not route POST (405)"]);
    /// # }
    /// ```
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for PolicyMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.problems.join("\n"))
    }
}

impl std::error::Error for PolicyMismatch {}

/// The methods probed on each resource. `HEAD` goes with `GET` on both sides; `OPTIONS` is the
/// layer's to answer (a Router's 405 to it becomes `204` with `Allow`).
const PROBED: [Method; 6] = crate::methods::recognized::ROUTABLE;

/// Checks that `service` (without the layer) routes what `policy` says, for those who build the
/// two apart (with [`ApiRouter`](crate::routing::ApiRouter) they can't disagree). `ReqBody` is the
/// request body type to probe with (an empty one, from `Default`); for an axum `Router`,
/// [`check_router`] names it for you.
///
/// For each resource, the pattern is filled with sample values (`/notes/{id}` → `/notes/1`,
/// `{*path}` → `1`) and each method sent with an empty body:
///
/// - an allowed method answered `404`: the service has no route for the resource;
/// - an allowed method answered `405`: the route lacks the method;
/// - a method the policy does not allow answered anything but `405` (or `404`): the service
///   routes a method the policy refuses, so its handler is never reached.
///
/// What the service answered is read before any normalization: "no route" is a bare `404`
/// (no `Content-Type`: axum's own, not a handler's JSON `not_found` for the sample id), and
/// "not routed" a `405`, or any answer carrying `Allow` (axum adds it to what a route's
/// fallback answers: the `401` of an auth layer around the route, the `501` of an
/// [`ApiRouter`](crate::routing::ApiRouter)'s planned method). Anything else means the
/// handler ran and refused the sample request (`400`, `401`, `415`…). Handlers do run (a
/// panic counts as an answer), so call this on a test instance. A Router whose fallback
/// answers something other than `404` hides missing routes.
///
/// ```
/// use axum::routing::get;
/// use http::Method;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
/// use tower_api_errors::testing::check_policy;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let router = axum::Router::new()
///     .route("/notes/{id}", get(|| async { "note" }).delete(|| async {}))
///     .route("/payments", get(|| async { "[]" }));
/// let policy = MethodPolicy::builder()
///     .resource("/notes/{id}", Resource::allow([Method::GET]))
///     .resource("/payments", Resource::allow([Method::GET, Method::POST]))
///     .resource("/reports/{id}/result", Resource::allow([Method::GET]))
///     .build()
///     .unwrap();
///
/// let mismatch = check_policy::<axum::body::Body, _, _>(router, &policy)
///     .await
///     .unwrap_err();
/// assert_eq!(
///     mismatch.problems(),
///     [
///         "/notes/{id}: the service routes DELETE, which the policy refuses",
///         "/payments: the service does not route POST (405)",
///         "/reports/{id}/result: the service has no route (404 for GET /reports/1/result)",
///     ]
/// );
/// # }
/// ```
///
/// # Errors
///
/// Every disagreement found, in a [`PolicyMismatch`].
pub async fn check_policy<ReqBody, S, ResBody>(
    service: S,
    policy: &MethodPolicy,
) -> Result<(), PolicyMismatch>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
{
    // The layer (without a policy) turns panics and errors into answers; what the service
    // itself answered is recorded beneath it, before normalization.
    let mut service = ApiErrorLayer::new().layer(Recorded { inner: service });
    let mut problems = Vec::new();
    for (pattern, allowed, _planned, _allow) in policy.resources() {
        let path = sample_path(pattern);
        for method in PROBED {
            let Some(seen) = probe(&mut service, &method, &path).await else {
                problems.push(format!(
                    "{pattern}: no valid URI for a sample path ({path})"
                ));
                break;
            };
            let allows = allowed.contains(&method);
            if seen == Seen::NoRoute && allows {
                problems.push(format!(
                    "{pattern}: the service has no route (404 for {method} {path})"
                ));
                break;
            }
            if allows && seen == Seen::NotRouted {
                problems.push(format!(
                    "{pattern}: the service does not route {method} (405)"
                ));
            } else if !allows && seen == Seen::Handled {
                problems.push(format!(
                    "{pattern}: the service routes {method}, which the policy refuses"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PolicyMismatch { problems })
    }
}

/// What the service did with a probe, read from its own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// A bare `404`: no route has the path.
    NoRoute,
    /// `405`, or an answer with `Allow`: the route has no handler for the method.
    NotRouted,
    /// A handler ran (or panicked, or the service failed).
    Handled,
}

impl Seen {
    fn of<B>(response: &Response<B>) -> Self {
        let headers = response.headers();
        match response.status() {
            StatusCode::NOT_FOUND if !headers.contains_key(CONTENT_TYPE) => Seen::NoRoute,
            StatusCode::METHOD_NOT_ALLOWED => Seen::NotRouted,
            _ if headers.contains_key(ALLOW) => Seen::NotRouted,
            _ => Seen::Handled,
        }
    }
}

/// The probed service, recording in each response's extensions what it answered itself.
#[derive(Debug, Clone)]
struct Recorded<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for Recorded<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RecordedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        RecordedFuture {
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    struct RecordedFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, R, E> Future for RecordedFuture<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(self.project().inner.poll(cx))?;
        let seen = Seen::of(&response);
        response.extensions_mut().insert(seen);
        Poll::Ready(Ok(response))
    }
}

async fn probe<S, B, R>(service: &mut S, method: &Method, path: &str) -> Option<Seen>
where
    S: Service<Request<B>, Response = Response<R>, Error = std::convert::Infallible>,
    B: Default,
{
    let req = Request::builder()
        .method(method.clone())
        .uri(path)
        .body(B::default())
        .ok()?;
    let Ok(()) = poll_fn(|cx| service.poll_ready(cx)).await;
    let Ok(response) = service.call(req).await;
    // No record: the service panicked or failed, which is an answer of its handler.
    Some(
        response
            .extensions()
            .get::<Seen>()
            .copied()
            .unwrap_or(Seen::Handled),
    )
}

/// `pattern` with each parameter replaced by `1` (matchit's `{{` and `}}` are literal braces).
pub(crate) fn sample_path(pattern: &str) -> String {
    let mut path = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                path.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                path.push('}');
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                path.push('1');
            }
            c => path.push(c),
        }
    }
    path
}

/// [`check_policy`] for an axum `Router` kept apart from its policy: whether
/// the Router routes each method the policy allows, and no method it refuses.
///
/// ```
/// use axum::routing::get;
/// use http::Method;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
/// use tower_api_errors::testing::check_router;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let router = axum::Router::new().route("/payments", get(|| async { "[]" }));
/// let policy = MethodPolicy::builder()
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
///     .build()
///     .unwrap();
/// check_router(router, &policy).await.expect("they agree");
/// # }
/// ```
///
/// # Errors
///
/// Every disagreement found.
#[cfg(feature = "axum")]
pub async fn check_router(
    router: ::axum::Router,
    policy: &MethodPolicy,
) -> Result<(), PolicyMismatch> {
    check_policy::<axum_core::body::Body, _, _>(router, policy).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_paths_fill_parameters() {
        assert_eq!(sample_path("/reports/{id}/result"), "/reports/1/result");
        assert_eq!(sample_path("/files/{*path}"), "/files/1");
        assert_eq!(sample_path("/a/{x}.{y}"), "/a/1.1");
        assert_eq!(sample_path("/{{literal}}"), "/{literal}");
    }
}
