//! Routes declared once: the handlers and each method's fate (allowed, or planned: 501) in one
//! declaration that produces both axum's `Router` and the [`MethodPolicy`], so they can't drift.
//!
//! The functions here mirror `axum::routing::{get, post, …}` and return an [`ApiMethodRouter`],
//! which records the methods it routes (axum's `MethodRouter` can't be asked) and adds
//! [`plan`](ApiMethodRouter::plan). [`ApiRouter`] mirrors `axum::Router`.
//!
//! ```
//! use http::{Method, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_api_errors::routing::{get, ApiRouter};
//! use tower_api_errors::ApiErrorLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = ApiRouter::new()
//!     .route("/payments", get(|| async { "[]" }).plan(Method::POST))
//!     .route("/reports/{id}/result", get(|| async { "done" }))
//!     .into_service(ApiErrorLayer::new())
//!     .expect("a valid route table");
//!
//! let post = |uri| Request::post(uri).body(axum::body::Body::empty()).unwrap();
//! let planned = app.clone().oneshot(post("/payments")).await.unwrap();
//! assert_eq!(planned.status(), StatusCode::NOT_IMPLEMENTED);
//! let refused = app.oneshot(post("/reports/1234/result")).await.unwrap();
//! assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(refused.headers()["allow"], "GET, HEAD, OPTIONS");
//! # }
//! ```
//!
//! Keeping a `Router` and a policy apart? [`check_router`] tells whether they agree.

use std::convert::Infallible;
use std::fmt;

use ::axum::handler::Handler;
use ::axum::routing::{MethodFilter, MethodRouter, Route};
use ::axum::Router;
use axum_core::extract::Request;
use axum_core::response::IntoResponse;
use http::Method;
use tower_layer::Layer;
use tower_service::Service;

use crate::admission::overload::RouteHints;
use crate::methods::recognized::ROUTABLE;
use crate::{ApiErrorLayer, ApiErrorService, MethodPolicy, PolicyError, PolicyMismatch, Resource};

/// A method of the policy, one or many: `Method::POST`, `[Method::PUT, Method::DELETE]`.
///
/// ```
/// use http::Method;
/// use tower_api_errors::routing::{get, ApiMethodRouter};
///
/// async fn handler() {}
///
/// let one: ApiMethodRouter = get(handler).plan(Method::POST);
/// let two: ApiMethodRouter = get(handler).plan([Method::PUT, Method::DELETE]);
/// assert_eq!(two.planned(), [Method::PUT, Method::DELETE]);
/// # let _ = one;
/// ```
pub trait Methods {
    /// The methods.
    fn into_methods(self) -> Vec<Method>;
}

impl Methods for Method {
    fn into_methods(self) -> Vec<Method> {
        vec![self]
    }
}

impl<const N: usize> Methods for [Method; N] {
    fn into_methods(self) -> Vec<Method> {
        self.into()
    }
}

impl Methods for Vec<Method> {
    fn into_methods(self) -> Vec<Method> {
        self
    }
}

/// axum's `MethodRouter` and the methods it routes, plus the methods planned for the resource.
///
/// ```
/// use http::Method;
/// use tower_api_errors::routing::{get, ApiMethodRouter};
///
/// async fn list() -> &'static str { "[]" }
/// async fn create() -> &'static str { "{}" }
///
/// let payments: ApiMethodRouter = get(list).plan([Method::PUT, Method::DELETE]);
/// let notes: ApiMethodRouter = get(list).post(create);
/// # let _ = (payments, notes);
/// ```
#[must_use]
pub struct ApiMethodRouter<S = ()> {
    inner: MethodRouter<S>,
    allowed: Vec<Method>,
    planned: Vec<Method>,
    hints: RouteHints,
}

/// What one path of an [`ApiRouter`] declares.
#[derive(Debug, Clone, Default)]
struct Declared {
    allowed: Vec<Method>,
    planned: Vec<Method>,
    hints: RouteHints,
}

impl<S> fmt::Debug for ApiMethodRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiMethodRouter")
            .field("allowed", &self.allowed)
            .field("planned", &self.planned)
            .finish_non_exhaustive()
    }
}

impl<S: Clone> Default for ApiMethodRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("Routes `", stringify!($method), "` requests to `handler`: `axum::routing::", stringify!($name), "`, recorded for the policy.")]
            ///
            /// ```
            #[doc = concat!("use tower_api_errors::routing::{", stringify!($name), ", ApiMethodRouter};")]
            ///
            /// async fn handler() {}
            ///
            #[doc = concat!("let route: ApiMethodRouter = ", stringify!($name), "(handler);")]
            #[doc = concat!("assert_eq!(route.allowed(), [http::Method::", stringify!($method), "]);")]
            /// ```
            pub fn $name<H, T, S>(handler: H) -> ApiMethodRouter<S>
            where
                H: Handler<T, S>,
                T: 'static,
                S: Clone + Send + Sync + 'static,
            {
                ApiMethodRouter::new().$name(handler)
            }
        )*

        impl<S> ApiMethodRouter<S>
        where
            S: Clone + Send + Sync + 'static,
        {
            $(
                #[doc = concat!("Also routes `", stringify!($method), "` requests, to `handler`.")]
                ///
                /// ```
                #[doc = concat!("use tower_api_errors::routing::{", stringify!($name), ", ApiMethodRouter};")]
                ///
                /// async fn handler() {}
                ///
                #[doc = concat!("let route: ApiMethodRouter = ApiMethodRouter::new().", stringify!($name), "(handler);")]
                #[doc = concat!("assert_eq!(route.allowed(), [http::Method::", stringify!($method), "]);")]
                /// ```
                pub fn $name<H, T>(self, handler: H) -> Self
                where
                    H: Handler<T, S>,
                    T: 'static,
                {
                    self.on(Method::$method, handler)
                }
            )*
        }
    };
}

method_fns! {
    connect => CONNECT,
    delete => DELETE,
    get => GET,
    head => HEAD,
    options => OPTIONS,
    patch => PATCH,
    post => POST,
    put => PUT,
    trace => TRACE,
}

/// Routes `method` to `handler`; `method` must be one axum can route (RFC 9110's and `PATCH`).
///
/// ```
/// use http::Method;
/// use tower_api_errors::routing::{on, ApiMethodRouter};
///
/// async fn handler() {}
///
/// let route: ApiMethodRouter = on(Method::PATCH, handler);
/// assert_eq!(route.allowed(), [Method::PATCH]);
/// ```
///
/// # Panics
///
/// For a method axum's `MethodFilter` has no bit for (an extension method like `QUERY`).
pub fn on<H, T, S>(method: Method, handler: H) -> ApiMethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    ApiMethodRouter::new().on(method, handler)
}

impl<S: Clone> ApiMethodRouter<S> {
    /// No method routed and none planned yet; `ApiMethodRouter::new().plan(Method::GET)`
    /// declares a resource that only exists in the plan (every method 405, the planned 501).
    pub fn new() -> Self {
        Self {
            inner: MethodRouter::new(),
            allowed: Vec::new(),
            planned: Vec::new(),
            hints: RouteHints::default(),
        }
    }

    /// Methods planned for this resource: `501 not_implemented` until they come, instead of
    /// `405`.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{ApiMethodRouter, ApiRouter};
    ///
    /// // A resource that exists only in the plan: GET is 501, every other method 405.
    /// let (_router, policy) = ApiRouter::<()>::new()
    ///     .route("/reports", ApiMethodRouter::new().plan(Method::GET))
    ///     .into_parts()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    pub fn plan(mut self, methods: impl Methods) -> Self {
        self.planned.extend(methods.into_methods());
        self
    }

    /// This resource's deadline, instead of the layer's; see [`Resource::timeout`].
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.hints.timeout = Some(timeout);
        self
    }

    /// Never refused by the in-flight limit (health checks, admin); see
    /// [`Resource::critical`].
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiMethodRouter};
    ///
    /// async fn health() {}
    ///
    /// let route: ApiMethodRouter = get(health).critical();
    /// # let _ = route;
    /// ```
    pub fn critical(mut self) -> Self {
        self.hints.criticality = Some(crate::Criticality::Critical);
        self
    }

    /// Refused first when the in-flight limit tightens; see [`Resource::sheddable`].
    pub fn sheddable(mut self) -> Self {
        self.hints.criticality = Some(crate::Criticality::Sheddable);
        self
    }

    /// The methods routed to a handler so far.
    pub fn allowed(&self) -> &[Method] {
        &self.allowed
    }

    /// The methods planned so far.
    pub fn planned(&self) -> &[Method] {
        &self.planned
    }
}

impl<S> ApiMethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// Also routes `method` to `handler`. See [`on`].
    ///
    /// # Panics
    ///
    /// For a method axum's `MethodFilter` has no bit for.
    pub fn on<H, T>(mut self, method: Method, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("axum cannot route {method} requests"));
        self.inner = self.inner.on(filter, handler);
        self.allowed.push(method);
        self
    }

    /// Applies `layer` to the handlers of this resource, as `MethodRouter::layer` does.
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiMethodRouter};
    /// use tower_http::cors::CorsLayer;
    ///
    /// async fn handler() {}
    ///
    /// let route: ApiMethodRouter = get(handler).layer(CorsLayer::permissive());
    /// # let _ = route;
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.layer(layer);
        self
    }
}

/// An axum `Router` and its method policy, declared together: [`into_parts`](Self::into_parts)
/// gives both, [`into_service`](Self::into_service) the Router behind an [`ApiErrorLayer`] that
/// enforces the policy.
///
/// ```
/// use http::Method;
/// use tower_api_errors::routing::{get, post, put, ApiRouter};
///
/// async fn handler() {}
///
/// let api = ApiRouter::new()
///     .route("/notes", post(handler).plan(Method::GET))
///     .route("/notes/{id}", get(handler).plan([Method::PUT, Method::DELETE]));
/// let admin = ApiRouter::new().route("/maintenance", put(handler).delete(handler));
///
/// let (router, policy) = ApiRouter::new()
///     .merge(api)
///     .nest("/admin", admin)
///     .into_parts()
///     .expect("a valid route table");
/// let _: axum::Router = router;
/// # let _ = policy;
/// ```
#[must_use]
pub struct ApiRouter<S = ()> {
    router: Router<S>,
    /// One entry per path, in the order first declared.
    resources: Vec<(String, Declared)>,
    strict: bool,
    answer_options: bool,
}

impl<S> fmt::Debug for ApiRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRouter")
            .field("resources", &self.resources)
            .field("strict", &self.strict)
            .field("answer_options", &self.answer_options)
            .finish_non_exhaustive()
    }
}

impl<S> Default for ApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<S> ApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    /// No route; not strict; `OPTIONS` answered by the layer (as [`MethodPolicy::builder`]).
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            resources: Vec::new(),
            strict: false,
            answer_options: true,
        }
    }

    /// Routes `path` (axum syntax) to `methods`' handlers and records what they allow and plan.
    /// Routing the same path again adds methods to it, as with axum.
    ///
    /// # Panics
    ///
    /// Where `axum::Router::route` panics: an invalid path, a method routed twice.
    pub fn route(mut self, path: &str, methods: ApiMethodRouter<S>) -> Self {
        self.router = self.router.route(path, methods.inner);
        let declared = Declared {
            allowed: methods.allowed,
            planned: methods.planned,
            hints: methods.hints,
        };
        self.record(path.to_owned(), declared);
        self
    }

    fn record(&mut self, path: String, declared: Declared) {
        match self.resources.iter_mut().find(|(p, _)| *p == path) {
            Some((_, known)) => {
                known.allowed.extend(declared.allowed);
                known.planned.extend(declared.planned);
                known.hints.timeout = declared.hints.timeout.or(known.hints.timeout);
                known.hints.criticality = declared.hints.criticality.or(known.hints.criticality);
            }
            None => self.resources.push((path, declared)),
        }
    }

    /// Nests `router` under `prefix`, as `axum::Router::nest`: its routes and their policy move
    /// to `prefix` + path.
    ///
    /// # Panics
    ///
    /// Where `axum::Router::nest` panics (a prefix of `/` or with a wildcard).
    pub fn nest(mut self, prefix: &str, router: ApiRouter<S>) -> Self {
        self.router = self.router.nest(prefix, router.router);
        for (path, declared) in router.resources {
            self.record(nested_path(prefix, &path), declared);
        }
        self
    }

    /// Merges the routes and policy of `other`, as `axum::Router::merge`.
    pub fn merge(mut self, other: ApiRouter<S>) -> Self {
        self.router = self.router.merge(other.router);
        for (path, declared) in other.resources {
            self.record(path, declared);
        }
        self
    }

    /// The handler for paths no route matches, as `axum::Router::fallback`. With a fallback,
    /// keep the policy non-[strict](Self::strict), or the layer answers 404 before it runs.
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    /// Applies `layer` to every route, as `axum::Router::layer`. (Put `ApiErrorLayer` around
    /// the whole Router instead: [`into_service`](Self::into_service) does.)
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// Provides the state, as `axum::Router::with_state`.
    pub fn with_state<S2>(self, state: S) -> ApiRouter<S2> {
        ApiRouter {
            router: self.router.with_state(state),
            resources: self.resources,
            strict: self.strict,
            answer_options: self.answer_options,
        }
    }

    /// Paths no route matches get `404` from the layer; see [`MethodPolicyBuilder::strict`](crate::MethodPolicyBuilder::strict).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// async fn handler() {}
    ///
    /// let routes: ApiRouter = ApiRouter::new().route("/a", get(handler)).strict(true);
    /// # let _ = routes;
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether the layer answers `OPTIONS`; see
    /// [`MethodPolicyBuilder::answer_options`](crate::MethodPolicyBuilder::answer_options).
    pub fn answer_options(mut self, answer: bool) -> Self {
        self.answer_options = answer;
        self
    }

    /// The method policy of the routes declared so far (the Router stays here: for a document
    /// or a check made before serving).
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// async fn handler() {}
    ///
    /// let routes = ApiRouter::<()>::new().route("/payments", get(handler).plan(Method::POST));
    /// let layer = ApiErrorLayer::new().method_policy(routes.policy().unwrap());
    /// # let _ = layer;
    /// ```
    ///
    /// # Errors
    ///
    /// As [`MethodPolicyBuilder::build`](crate::MethodPolicyBuilder::build): a method both
    /// routed and planned, a resource with neither.
    pub fn policy(&self) -> Result<MethodPolicy, PolicyError> {
        let mut builder = MethodPolicy::builder()
            .strict(self.strict)
            .answer_options(self.answer_options);
        for (
            path,
            Declared {
                allowed,
                planned,
                hints,
            },
        ) in &self.resources
        {
            // The declaration is complete, so the layer answers every other method's 405
            // itself: no Router call, and the same words as for a refused method anywhere.
            let refused = ROUTABLE
                .iter()
                .filter(|m| !allowed.contains(m) && !planned.contains(m))
                .cloned();
            builder = builder.resource(
                path.clone(),
                Resource::allow(allowed.iter().cloned())
                    .plan(planned.iter().cloned())
                    .refuse(refused)
                    .with_hints(*hints),
            );
        }
        builder.build()
    }

    /// The axum `Router` and its method policy.
    ///
    /// ```
    /// use http::Method;
    /// use tower::Layer;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// async fn handler() {}
    ///
    /// let (router, policy) = ApiRouter::<()>::new()
    ///     .route("/payments", get(handler).plan(Method::POST))
    ///     .into_parts()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(router);
    /// # let _ = app;
    /// ```
    ///
    /// # Errors
    ///
    /// See [`policy`](Self::policy).
    pub fn into_parts(self) -> Result<(Router<S>, MethodPolicy), PolicyError> {
        let policy = self.policy()?;
        Ok((self.router, policy))
    }
}

impl ApiRouter<()> {
    /// The Router behind `layer`, with this policy as its [method
    /// policy](ApiErrorLayer::method_policy): what `axum::serve` wants after
    /// [`into_axum`](ApiErrorService::into_axum).
    ///
    /// # Errors
    ///
    /// See [`policy`](Self::policy).
    pub fn into_service<C: Clone>(
        self,
        layer: ApiErrorLayer<C>,
    ) -> Result<ApiErrorService<Router, C>, PolicyError> {
        let (router, policy) = self.into_parts()?;
        Ok(layer.method_policy(policy).layer(router))
    }
}

/// [`check_policy`](crate::check_policy) for an axum `Router` kept apart from its policy: whether
/// the Router routes each method the policy allows, and no method it refuses.
///
/// ```
/// use axum::routing::get;
/// use http::Method;
/// use tower_api_errors::routing::check_router;
/// use tower_api_errors::{MethodPolicy, Resource};
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
pub async fn check_router(router: Router, policy: &MethodPolicy) -> Result<(), PolicyMismatch> {
    crate::check_policy::<axum_core::body::Body, _, _>(router, policy).await
}

/// `prefix` + `path` as `axum::Router::nest` joins them.
fn nested_path(prefix: &str, path: &str) -> String {
    if prefix.ends_with('/') {
        format!("{prefix}{}", path.trim_start_matches('/'))
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_paths_join_as_axum_joins_them() {
        assert_eq!(nested_path("/admin", "/maintenance"), "/admin/maintenance");
        assert_eq!(nested_path("/admin", "/"), "/admin");
        assert_eq!(nested_path("/admin/", "/x"), "/admin/x");
    }

    #[test]
    fn routing_a_path_twice_adds_to_its_resource() {
        async fn handler() {}
        let router: ApiRouter = ApiRouter::new()
            .route("/notes", get(handler))
            .route("/notes", post(handler).plan(Method::DELETE));
        let [(path, declared)] = &router.resources[..] else {
            panic!("one resource: {:?}", router.resources);
        };
        assert_eq!(path, "/notes");
        assert_eq!(declared.allowed, [Method::GET, Method::POST]);
        assert_eq!(declared.planned, [Method::DELETE]);
    }

    #[test]
    fn a_method_both_routed_and_planned_is_an_error() {
        async fn handler() {}
        let error = ApiRouter::<()>::new()
            .route("/notes", get(handler).plan(Method::GET))
            .into_parts()
            .unwrap_err();
        assert_eq!(error.to_string(), "/notes: GET is both allowed and planned");
    }
}
