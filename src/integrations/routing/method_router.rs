//! [`ApiMethodRouter`]: axum's `MethodRouter`, the methods it routes and those planned, and the
//! functions that start one (`get`, `post`, `on`…), as `axum::routing`'s.

use std::convert::Infallible;
use std::fmt;

use ::axum::handler::Handler;
use ::axum::routing::{MethodFilter, MethodRouter, Route};
use axum_core::extract::Request;
use axum_core::response::IntoResponse;
use http::Method;
use tower_layer::Layer;
use tower_service::Service;

use super::answer::{PolicyCell, PolicyFallback, PolicyFirst};
use crate::admission::overload::RouteHints;
use crate::methods::recognized::ROUTABLE;

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
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::Methods;
    ///
    /// assert_eq!(Method::POST.into_methods(), [Method::POST]);
    /// assert_eq!([Method::PUT, Method::DELETE].into_methods(), [Method::PUT, Method::DELETE]);
    /// ```
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
    /// The policy the route's fallback answers from, once it has one
    /// ([`answering`](Self::answering)).
    answers: Option<PolicyCell>,
    /// A handler answers every method (`any`): the route needs no answers of the policy.
    every_method: bool,
    /// A fallback of its own ([`fallback`](Self::fallback)), behind the policy's answers.
    own_fallback: bool,
}

impl<S> fmt::Debug for ApiMethodRouter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiMethodRouter")
            .field("allowed", &self.allowed)
            .field("planned", &self.planned)
            .field("own_fallback", &self.own_fallback)
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
                ///
                /// # Panics
                ///
                #[doc = concat!("When `", stringify!($method), "` is routed already (axum's \"Overlapping method route\").")]
                #[track_caller]
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

/// What [`on`] routes: one `Method` (one axum can route: RFC 9110's and `PATCH`), or axum's
/// `MethodFilter`, several at once (`MethodFilter::GET.or(MethodFilter::POST)`).
pub trait OnMethods {
    /// axum's filter, and the methods it lets through.
    ///
    /// ```
    /// use axum::routing::MethodFilter;
    /// use http::Method;
    /// use tower_api_errors::routing::OnMethods;
    ///
    /// let (_filter, methods) = MethodFilter::GET.or(MethodFilter::POST).into_filter();
    /// assert_eq!(methods, [Method::GET, Method::POST]);
    /// ```
    fn into_filter(self) -> (MethodFilter, Vec<Method>);
}

/// axum's filters, each with its method.
const FILTERS: [(MethodFilter, Method); 9] = [
    (MethodFilter::GET, Method::GET),
    (MethodFilter::HEAD, Method::HEAD),
    (MethodFilter::POST, Method::POST),
    (MethodFilter::PUT, Method::PUT),
    (MethodFilter::DELETE, Method::DELETE),
    (MethodFilter::PATCH, Method::PATCH),
    (MethodFilter::OPTIONS, Method::OPTIONS),
    (MethodFilter::TRACE, Method::TRACE),
    (MethodFilter::CONNECT, Method::CONNECT),
];

impl OnMethods for Method {
    #[track_caller]
    fn into_filter(self) -> (MethodFilter, Vec<Method>) {
        let filter = MethodFilter::try_from(self.clone())
            .unwrap_or_else(|_| panic!("axum cannot route {self} requests"));
        (filter, vec![self])
    }
}

impl OnMethods for MethodFilter {
    fn into_filter(self) -> (MethodFilter, Vec<Method>) {
        // axum keeps its bits private; a filter contains another when adding it changes
        // nothing.
        let methods = FILTERS
            .iter()
            .filter(|(one, _)| self.or(*one) == self)
            .map(|(_, method)| method.clone())
            .collect();
        (self, methods)
    }
}

/// Routes `methods` to `handler`: one `Method`, or an axum `MethodFilter` (as
/// `axum::routing::on`).
///
/// ```
/// use axum::routing::MethodFilter;
/// use http::Method;
/// use tower_api_errors::routing::{on, ApiMethodRouter};
///
/// async fn handler() {}
///
/// let route: ApiMethodRouter = on(Method::PATCH, handler);
/// assert_eq!(route.allowed(), [Method::PATCH]);
/// let route: ApiMethodRouter = on(MethodFilter::GET.or(MethodFilter::POST), handler);
/// assert_eq!(route.allowed(), [Method::GET, Method::POST]);
/// ```
///
/// # Panics
///
/// For a method axum's `MethodFilter` has no bit for (an extension method like `QUERY`).
#[track_caller]
pub fn on<H, T, S>(methods: impl OnMethods, handler: H) -> ApiMethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    ApiMethodRouter::new().on(methods, handler)
}

/// Routes every method to `handler`, as `axum::routing::any`: the policy allows each of `GET`,
/// `POST`, `PUT`, `DELETE`, `PATCH`, `TRACE` (so the layer refuses none of them, nor plans
/// any), and `OPTIONS`, `CONNECT` and extension methods reach the handler too.
///
/// ```
/// use http::Method;
/// use tower_api_errors::routing::{any, ApiMethodRouter};
///
/// async fn handler() {}
///
/// let route: ApiMethodRouter = any(handler);
/// assert!(route.allowed().contains(&Method::DELETE));
/// ```
pub fn any<H, T, S>(handler: H) -> ApiMethodRouter<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    ApiMethodRouter::every_method(::axum::routing::any(handler))
}

impl<S: Clone> ApiMethodRouter<S> {
    /// No method routed and none planned yet; `ApiMethodRouter::new().plan(Method::GET)`
    /// declares a resource that only exists in the plan (every method 405, the planned 501).
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{ApiMethodRouter, ApiRouter};
    ///
    /// // A resource that exists only in the plan: GET is 501 until it has a handler.
    /// let app: ApiRouter = ApiRouter::new().route("/exports", ApiMethodRouter::new().plan(Method::GET));
    /// # let _ = app;
    /// ```
    pub fn new() -> Self {
        Self {
            inner: MethodRouter::new(),
            allowed: Vec::new(),
            planned: Vec::new(),
            hints: RouteHints::default(),
            answers: None,
            every_method: false,
            own_fallback: false,
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

    /// This resource's deadline, instead of the layer's; see [`Resource::timeout`](crate::policy::Resource::timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/reports", get(|| async { "report" }).timeout(Duration::from_secs(30)));
    /// # let _ = app;
    /// ```
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.hints.timeout = Some(timeout);
        self
    }

    /// Never refused by the in-flight limit (health checks, admin); see
    /// [`Resource::critical`](crate::policy::Resource::critical).
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
        self.hints.criticality = Some(crate::admission::overload::Criticality::Critical);
        self
    }

    /// Refused first when the in-flight limit tightens; see [`Resource::sheddable`](crate::policy::Resource::sheddable).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new().route("/reports", get(|| async { "report" }).sheddable());
    /// # let _ = app;
    /// ```
    pub fn sheddable(mut self) -> Self {
        self.hints.criticality = Some(crate::admission::overload::Criticality::Sheddable);
        self
    }

    /// The methods routed to a handler so far.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{get, ApiMethodRouter};
    ///
    /// let route: ApiMethodRouter = get(|| async { "list" }).post(|| async { "created" });
    /// assert_eq!(route.allowed(), [Method::GET, Method::POST]);
    /// ```
    pub fn allowed(&self) -> &[Method] {
        &self.allowed
    }

    /// The methods planned so far.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{get, ApiMethodRouter};
    ///
    /// let route: ApiMethodRouter = get(|| async { "list" }).plan(Method::POST);
    /// assert_eq!(route.planned(), [Method::POST]);
    /// ```
    pub fn planned(&self) -> &[Method] {
        &self.planned
    }

    /// Provides the state, as `MethodRouter::with_state`: a route that needs none, for a router
    /// of any state (`S2`). The methods routed and planned, the hints and the fallback stay.
    ///
    /// ```
    /// use axum::extract::State;
    /// use tower_api_errors::routing::{get, ApiMethodRouter, ApiRouter};
    ///
    /// #[derive(Clone)]
    /// struct Db;
    ///
    /// async fn list(State(_db): State<Db>) -> &'static str { "[]" }
    ///
    /// let notes: ApiMethodRouter<Db> = get(list);
    /// let routes: ApiRouter<String> = ApiRouter::new().route("/notes", notes.with_state(Db));
    /// let app: ApiRouter = routes.with_state("another state".to_owned());
    /// # let _ = app;
    /// ```
    pub fn with_state<S2>(self, state: S) -> ApiMethodRouter<S2> {
        ApiMethodRouter {
            inner: self.inner.with_state(state),
            allowed: self.allowed,
            planned: self.planned,
            hints: self.hints,
            answers: self.answers,
            every_method: self.every_method,
            own_fallback: self.own_fallback,
        }
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
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{get, ApiMethodRouter};
    ///
    /// let route: ApiMethodRouter = get(|| async { "list" }).on(Method::PATCH, || async { "patched" });
    /// assert_eq!(route.allowed(), [Method::GET, Method::PATCH]);
    /// ```
    #[track_caller]
    pub fn on<H, T>(mut self, methods: impl OnMethods, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let (filter, methods) = methods.into_filter();
        self.inner = self.inner.on(filter, handler);
        self.allowed.extend(methods);
        self
    }

    /// The handler for the methods this route has no handler for and the method policy does
    /// not answer, as `MethodRouter::fallback`: `CONNECT`, `QUERY` and the other extension
    /// methods the layer [recognizes](crate::ApiErrorLayer::recognize_method), and `OPTIONS`
    /// when the layer does not answer it ([`answer_options(false)`](super::ApiRouter::answer_options)).
    ///
    /// Unlike axum's, it is not asked about `GET`, `POST`, `PUT`, `DELETE`, `PATCH` or `TRACE`
    /// without a handler here: the declaration is complete, so the policy refuses them (`405`)
    /// or plans them (`501`), as on every other route. That keeps `Allow` honest: it lists the
    /// methods routed here, and a method it lists is never one the route then refuses (a
    /// fallback that answered `DELETE` would have had to be listed, and one that refused it
    /// could not be). For one handler of every method, use [`any`]; for more methods on one
    /// handler, [`on`] with a `MethodFilter`.
    ///
    /// ```
    /// use axum::body::Body;
    /// use http::{Method, Request, StatusCode};
    /// use tower::ServiceExt;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = ApiRouter::new()
    ///     .route("/search", get(|| async { "[]" }).fallback(|| async { "by QUERY" }))
    ///     .into_service(ApiErrorLayer::new())
    ///     .unwrap();
    /// let send = |method: &str| {
    ///     let req = Request::builder().method(method).uri("/search");
    ///     app.clone().oneshot(req.body(Body::empty()).unwrap())
    /// };
    /// assert_eq!(send("QUERY").await.unwrap().status(), StatusCode::OK);
    /// let refused = send("DELETE").await.unwrap();
    /// assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    /// assert_eq!(refused.headers()["allow"], "GET, HEAD, OPTIONS");
    /// # }
    /// ```
    ///
    /// As axum's: a `fallback` after [`layer`](Self::layer) is not wrapped by it (the policy's
    /// answers on this route then are not either), and on [`any`] it replaces `any`'s handler.
    /// A route with a fallback and no method routed is refused when the table is built
    /// ([`ApiRouter::policy`](super::ApiRouter::policy)): axum's meaning, every method to the
    /// fallback, is [`any`]'s, and here the policy would refuse them all first.
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        if self.every_method {
            // `any`'s handler is axum's fallback; axum replaces it, and so the policy, which
            // allows every method, still holds.
            self.inner = self.inner.fallback(handler);
            return self;
        }
        let policy = self.answers.get_or_insert_with(PolicyCell::default);
        let fallback = PolicyFirst {
            policy: PolicyCell::clone(policy),
            handler,
        };
        self.inner = self.inner.fallback(fallback);
        self.own_fallback = true;
        self
    }

    /// `inner` answering every method itself (its fallback is a handler): `any`, a service.
    pub(super) fn every_method(inner: MethodRouter<S>) -> Self {
        Self {
            inner,
            allowed: ROUTABLE.to_vec(),
            planned: Vec::new(),
            hints: RouteHints::default(),
            answers: None,
            every_method: true,
            own_fallback: false,
        }
    }

    /// Applies `layer` to this resource, as `MethodRouter::layer` does: to its handlers and to
    /// the answers for the methods it has none for (the policy's `405`, `501`, `OPTIONS`), so
    /// an auth layer added this way answers `401` to every method of the route. For a layer
    /// that should run only when a handler is reached, use [`route_layer`](Self::route_layer).
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
    pub fn layer<L>(self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        // The fallback first, so that the layer wraps it as axum's wraps its own.
        let mut routed = self.answering();
        routed.inner = routed.inner.layer(layer);
        routed
    }

    /// Applies `layer` to this resource's handlers only, as `MethodRouter::route_layer` does:
    /// the policy's `405`s, `501`s and the `204` to `OPTIONS` stay untouched, so an auth layer
    /// added this way answers `401` only where a handler would run. The one for auth.
    ///
    /// ```
    /// use axum::body::Body;
    /// use http::{Request, StatusCode};
    /// use tower::ServiceExt;
    /// use tower_api_errors::routing::{post, ApiRouter};
    /// use tower_api_errors::{ApiError, ApiErrorLayer};
    ///
    /// async fn authenticated(
    ///     req: Request<Body>,
    ///     next: axum::middleware::Next,
    /// ) -> Result<axum::response::Response, ApiError> {
    ///     match req.headers().get("authorization") {
    ///         Some(_) => Ok(next.run(req).await),
    ///         None => Err(ApiError::unauthorized("Bearer")),
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let auth = axum::middleware::from_fn(authenticated);
    /// let app = ApiRouter::new()
    ///     .route("/refunds", post(|| async { "refunded" }).route_layer(auth))
    ///     .into_service(ApiErrorLayer::new())
    ///     .unwrap();
    /// let send = |method: &str| {
    ///     let req = Request::builder().method(method).uri("/refunds");
    ///     app.clone().oneshot(req.body(Body::empty()).unwrap())
    /// };
    /// assert_eq!(send("POST").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    /// let options = send("OPTIONS").await.unwrap();
    /// assert_eq!(options.status(), StatusCode::NO_CONTENT);
    /// assert_eq!(options.headers()["allow"], "POST, OPTIONS");
    /// assert_eq!(send("GET").await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// As `MethodRouter::route_layer`: when no method is routed yet.
    #[track_caller]
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.route_layer(layer);
        self
    }

    /// This route with the policy's answers as its fallback, and the cell they are read from
    /// once the router is built. Idempotent.
    pub(super) fn answering(mut self) -> Self {
        if self.answers.is_none() && !self.every_method {
            let policy = PolicyCell::default();
            let fallback = PolicyFallback {
                policy: PolicyCell::clone(&policy),
            };
            self.inner = self.inner.fallback_service(fallback);
            self.answers = Some(policy);
        }
        self
    }

    /// Whether the route already has a fallback: the policy's (a [`layer`](Self::layer) put
    /// it there, to wrap it), its own ([`fallback`](Self::fallback)), or a handler for every
    /// method.
    pub(super) fn has_fallback(&self) -> bool {
        self.answers.is_some() || self.every_method
    }

    /// axum's `MethodRouter`, what it declares and the fallback's cell.
    pub(super) fn into_parts(self) -> Parts<S> {
        Parts {
            inner: self.inner,
            allowed: self.allowed,
            planned: self.planned,
            hints: self.hints,
            answers: self.answers,
            serves_unlisted: self.own_fallback || self.every_method,
            own_fallback: self.own_fallback,
        }
    }
}

/// An [`ApiMethodRouter`] taken apart by [`ApiRouter::route`](super::ApiRouter::route).
pub(super) struct Parts<S> {
    pub(super) inner: MethodRouter<S>,
    pub(super) allowed: Vec<Method>,
    pub(super) planned: Vec<Method>,
    pub(super) hints: RouteHints,
    /// Where the route's fallback reads the policy from, once built.
    pub(super) answers: Option<PolicyCell>,
    /// The route has a [`fallback`](ApiMethodRouter::fallback) of its own.
    pub(super) own_fallback: bool,
    /// A handler serves the methods the policy does not name: a fallback of its own, `any`.
    pub(super) serves_unlisted: bool,
}
