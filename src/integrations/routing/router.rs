//! [`ApiRouter`]: axum's `Router` and the method policy of its routes, declared together.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use ::axum::handler::Handler;
use ::axum::routing::Route;
use ::axum::Router;
use axum_core::extract::Request;
use axum_core::response::IntoResponse;
use http::Method;
use tower_layer::Layer;
use tower_service::Service;

use super::answer::PolicyCell;
use super::method_router::ApiMethodRouter;
use crate::admission::overload::RouteHints;
use crate::methods::policy::{MethodPolicy, PolicyError, Resource};
use crate::methods::recognized::ROUTABLE;
use crate::{ApiErrorLayer, ApiErrorService};

/// What one path of an [`ApiRouter`] declares.
#[derive(Debug, Clone, Default)]
struct Declared {
    allowed: Vec<Method>,
    planned: Vec<Method>,
    hints: RouteHints,
    /// A route of the path has a fallback of its own ([`ApiMethodRouter::fallback`]).
    own_fallback: bool,
    /// A handler serves the methods the policy does not name (a fallback of its own, `any`):
    /// the layer does not warn of drift when one is served.
    serves_unlisted: bool,
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
    /// `None` until set, here or on a router nested or merged (whose setting is then kept).
    strict: Option<bool>,
    answer_options: Option<bool>,
    /// Where each route's fallback reads the policy from, filled by `into_parts`.
    answers: Vec<PolicyCell>,
    /// Two routers merged or nested with different settings, or an axum method the policy
    /// can't honour: reported by `policy`.
    conflict: Option<PolicyError>,
    /// What routes paths the policy does not know (a plain `Router` merged, `nest_service`):
    /// fine, unless strict mode would answer 404 for them.
    opaque: Vec<String>,
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
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new().route("/health", get(|| async { "ok" }));
    /// let policy = app.policy().unwrap();
    /// assert_eq!(policy.patterns().collect::<Vec<_>>(), ["/health"]);
    /// ```
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            resources: Vec::new(),
            strict: None,
            answer_options: None,
            answers: Vec::new(),
            conflict: None,
            opaque: Vec::new(),
        }
    }

    /// Routes `path` (axum syntax) to `methods`' handlers and records what they allow and plan.
    /// Routing the same path again adds methods to it, as with axum.
    ///
    /// The route answers the methods it has no handler for itself (the policy's `405` and
    /// `501`, and `OPTIONS`), so that the layers added to it or to this router see those
    /// answers, as axum's layers see axum's `405`.
    ///
    /// # Panics
    ///
    /// Where `axum::Router::route` panics: an invalid path, a method routed twice. And when
    /// `path` is routed again with an [`ApiMethodRouter::layer`] or
    /// [`ApiMethodRouter::fallback`] on the second declaration: axum can't merge the two
    /// routes' fallbacks (the policy's answers); declare the path's methods together before
    /// `.layer` and `.fallback`, or use [`ApiMethodRouter::route_layer`].
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }).plan(Method::POST))
    ///     .route("/notes/{id}", get(|| async { "note" }));
    /// assert_eq!(app.policy().unwrap().patterns().count(), 2);
    /// ```
    #[track_caller]
    pub fn route(mut self, path: &str, methods: ApiMethodRouter<S>) -> Self {
        let known = self.resources.iter().any(|(p, _)| p == path);
        if known && methods.has_fallback() {
            panic!(
                "`{path}` is routed again with a method router that has a `layer` or a \
                 `fallback` (or is `any`): declare the path's methods in one `ApiMethodRouter` \
                 before `.layer(..)` and `.fallback(..)`, or use `.route_layer(..)`"
            );
        }
        // The first declaration of a path carries the policy's answers; axum merges the next
        // ones into it.
        let methods = if known { methods } else { methods.answering() };
        let parts = methods.into_parts();
        self.router = self.router.route(path, parts.inner);
        self.answers.extend(parts.answers);
        let declared = Declared {
            allowed: parts.allowed,
            planned: parts.planned,
            hints: parts.hints,
            own_fallback: parts.own_fallback,
            serves_unlisted: parts.serves_unlisted,
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
                known.own_fallback |= declared.own_fallback;
                known.serves_unlisted |= declared.serves_unlisted;
            }
            None => self.resources.push((path, declared)),
        }
    }

    /// Nests `router` under `prefix`, as `axum::Router::nest`: its routes and their policy move
    /// to `prefix` + path. Its [`strict`](Self::strict) and
    /// [`answer_options`](Self::answer_options) are kept when this router sets none; two
    /// different settings make [`policy`](Self::policy) an error (the table has one of each).
    ///
    /// # Panics
    ///
    /// Where `axum::Router::nest` panics (a prefix of `/` or with a wildcard).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let v1: ApiRouter = ApiRouter::new().route("/notes", get(|| async { "[]" }));
    /// let app: ApiRouter = ApiRouter::new().nest("/api/v1", v1);
    /// assert_eq!(app.policy().unwrap().patterns().collect::<Vec<_>>(), ["/api/v1/notes"]);
    /// ```
    pub fn nest(mut self, prefix: &str, router: impl Into<ApiRouter<S>>) -> Self {
        let router = router.into();
        self.router = self.router.nest(prefix, router.router);
        for (path, declared) in router.resources {
            self.record(nested_path(prefix, &path), declared);
        }
        self.adopt(prefix, router.strict, router.answer_options);
        self.join(prefix, router.answers, router.conflict, router.opaque);
        self
    }

    /// Merges the routes and policy of `other`, as `axum::Router::merge`; its settings as
    /// with [`nest`](Self::nest). A plain `axum::Router` (a third-party one) merges too: its
    /// routes are served as axum serves them, and the policy does not name them (the layer
    /// renders their 405s, with axum's `Allow`).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let third_party = axum::Router::new().route("/status", axum::routing::get(|| async { "ok" }));
    /// let routes: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .merge(third_party);
    /// # let _ = routes;
    /// ```
    ///
    /// # Panics
    ///
    /// Where `axum::Router::merge` panics: both routers route the same path and method, or
    /// both have a fallback.
    pub fn merge(mut self, other: impl Into<ApiRouter<S>>) -> Self {
        let other = other.into();
        self.router = self.router.merge(other.router);
        for (path, declared) in other.resources {
            self.record(path, declared);
        }
        self.adopt("merged router", other.strict, other.answer_options);
        self.join("", other.answers, other.conflict, other.opaque);
        self
    }

    /// Takes on what a router nested at `prefix` (or merged) still has to report or fill.
    fn join(
        &mut self,
        prefix: &str,
        answers: Vec<PolicyCell>,
        conflict: Option<PolicyError>,
        opaque: Vec<String>,
    ) {
        self.answers.extend(answers);
        self.conflict = self.conflict.take().or(conflict);
        self.opaque
            .extend(opaque.into_iter().map(|what| match prefix {
                "" => what,
                _ => format!("{what} under `{prefix}`"),
            }));
    }

    /// Keeps the settings of a router nested or merged at `at`, or records the conflict.
    fn adopt(&mut self, at: &str, strict: Option<bool>, answer_options: Option<bool>) {
        for (name, mine, theirs) in [
            ("strict", &mut self.strict, strict),
            ("answer_options", &mut self.answer_options, answer_options),
        ] {
            match (*mine, theirs) {
                (Some(a), Some(b)) if a != b => {
                    let reason = format!(
                        "{name}({b}) here but {name}({a}) on the router it joins: a route table \
                         has one setting; set it once, on the outer router"
                    );
                    self.conflict
                        .get_or_insert(PolicyError::unsupported(at, reason));
                }
                (None, Some(b)) => *mine = Some(b),
                _ => {}
            }
        }
    }

    /// The handler for paths no route matches, as `axum::Router::fallback`. With a fallback,
    /// keep the policy non-[strict](Self::strict), or the layer answers 404 before it runs.
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .fallback(|| async { (http::StatusCode::NOT_FOUND, "nothing here") });
    /// # let _ = app;
    /// ```
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    /// The service for paths no route matches, as `axum::Router::fallback_service`.
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let spa = tower::service_fn(|_req: axum::extract::Request| async {
    ///     Ok::<_, std::convert::Infallible>(axum::response::Html("<!doctype html>"))
    /// });
    /// let app: ApiRouter = ApiRouter::new().route("/notes", get(|| async { "[]" })).fallback_service(spa);
    /// # let _ = app;
    /// ```
    pub fn fallback_service<T>(mut self, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.fallback_service(service);
        self
    }

    /// Routes every method of `path` to `service`, as `axum::Router::route_service`: the
    /// policy allows them all (as for [`any`](super::any)).
    ///
    /// # Panics
    ///
    /// Where `axum::Router::route_service` panics: an invalid path, a `Router` as the service.
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let legacy = tower::service_fn(|_req: axum::extract::Request| async {
    ///     Ok::<_, std::convert::Infallible>("legacy")
    /// });
    /// let app: ApiRouter = ApiRouter::new().route_service("/legacy", legacy);
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn route_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.route_service(path, service);
        let declared = Declared {
            allowed: ROUTABLE.to_vec(),
            serves_unlisted: true,
            ..Declared::default()
        };
        self.record(path.to_owned(), declared);
        self
    }

    /// Sends every path under `prefix` to `service`, as `axum::Router::nest_service`. The
    /// policy does not know its paths: they are left to it (its 405s rendered by the layer),
    /// and [`strict`](Self::strict) mode, which would answer 404 for them, is an error.
    ///
    /// # Panics
    ///
    /// Where `axum::Router::nest_service` panics (a prefix of `/` or with a wildcard).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let files = tower::service_fn(|_req: axum::extract::Request| async {
    ///     Ok::<_, std::convert::Infallible>("a file")
    /// });
    /// let app: ApiRouter = ApiRouter::new().nest_service("/static", files);
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn nest_service<T>(mut self, prefix: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.router = self.router.nest_service(prefix, service);
        self.opaque.push(format!("`nest_service(\"{prefix}\")`"));
        self
    }

    /// Refused, with the reason as [`policy`](Self::policy)'s error: axum's
    /// `method_not_allowed_fallback` answers the 405s of routes, which here are the policy's
    /// (its words, its `Allow`, its 501s). To change how they read, map them in a layer (the
    /// routes' answers pass through [`layer`](Self::layer)), or keep a plain `Router` and its
    /// policy apart ([`into_parts`](Self::into_parts), [`check_router`](crate::testing::check_router)).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .method_not_allowed_fallback(|| async { "refused" });
    /// assert!(app.policy().is_err());
    /// ```
    pub fn method_not_allowed_fallback<H, T>(mut self, _handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let reason = "an ApiRouter's routes answer their 405s from the method policy; map them \
                      in a `layer`, or keep a plain `Router` apart from its policy";
        self.conflict.get_or_insert(PolicyError::unsupported(
            "method_not_allowed_fallback",
            reason,
        ));
        self
    }

    /// Applies `layer` to every route declared so far and to the fallback, exactly as
    /// `axum::Router::layer`: it sees everything the router answers, the policy's `405`s,
    /// `501`s and `OPTIONS` included (the routes answer them). So a CORS or request-id layer
    /// belongs here; an auth layer here answers `401` to every method, as in axum (see
    /// [`ApiMethodRouter::route_layer`] for one that leaves `405` and `OPTIONS` alone).
    ///
    /// The [`ApiErrorLayer`] goes around the whole router instead:
    /// [`into_service`](Self::into_service) puts it there, so it renders what these layers
    /// answer too.
    ///
    /// ```
    /// use axum::body::Body;
    /// use http::{Request, StatusCode};
    /// use tower::ServiceExt;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_api_errors::ApiErrorLayer;
    /// use tower_http::cors::CorsLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .layer(CorsLayer::permissive())
    ///     .into_service(ApiErrorLayer::new())
    ///     .unwrap();
    /// let req = Request::delete("/notes").header("origin", "https://example.com");
    /// let refused = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    /// assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    /// # }
    /// ```
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

    /// Applies `layer` to the routes declared so far, not to the fallback, exactly as
    /// `axum::Router::route_layer`: a path no route matches keeps its `404`. Like axum's, it
    /// wraps each route whole, so a method the route refuses gets the layer's answer too (an
    /// auth layer's `401` before the `405`); to leave the policy's `405`, `501` and `OPTIONS`
    /// alone, put it on the method router: [`ApiMethodRouter::route_layer`].
    ///
    /// # Panics
    ///
    /// As `axum::Router::route_layer`: when no route is declared yet.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_http::timeout::TimeoutLayer;
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .route_layer(TimeoutLayer::with_status_code(http::StatusCode::GATEWAY_TIMEOUT, Duration::from_secs(5)));
    /// # let _ = app;
    /// ```
    #[track_caller]
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.route_layer(layer);
        self
    }

    /// Provides the state, as `axum::Router::with_state`.
    ///
    /// ```
    /// use axum::extract::State;
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/greeting", get(|State(greeting): State<&'static str>| async move { greeting }))
    ///     .with_state("hello");
    /// # let _ = app;
    /// ```
    pub fn with_state<S2>(self, state: S) -> ApiRouter<S2> {
        ApiRouter {
            router: self.router.with_state(state),
            resources: self.resources,
            strict: self.strict,
            answer_options: self.answer_options,
            answers: self.answers,
            conflict: self.conflict,
            opaque: self.opaque,
        }
    }

    /// Paths no route matches get `404` from the layer; see [`MethodPolicyBuilder::strict`](crate::policy::MethodPolicyBuilder::strict).
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
        self.strict = Some(strict);
        self
    }

    /// Whether the layer answers `OPTIONS`; see
    /// [`MethodPolicyBuilder::answer_options`](crate::policy::MethodPolicyBuilder::answer_options).
    ///
    /// ```
    /// use tower_api_errors::routing::{get, ApiRouter};
    ///
    /// let app: ApiRouter = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .answer_options(false);
    /// # let _ = app;
    /// ```
    pub fn answer_options(mut self, answer: bool) -> Self {
        self.answer_options = Some(answer);
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
    /// As [`MethodPolicyBuilder::build`](crate::policy::MethodPolicyBuilder::build): a method both
    /// routed and planned, a resource with neither.
    pub fn policy(&self) -> Result<MethodPolicy, PolicyError> {
        if let Some(conflict) = &self.conflict {
            return Err(conflict.clone());
        }
        if let (Some(true), Some(what)) = (self.strict, self.opaque.first()) {
            let reason = "strict mode would answer 404 for its paths, which the policy does not \
                          name: declare them with `ApiRouter`, or leave strict off";
            return Err(PolicyError::unsupported(what.clone(), reason));
        }
        let mut builder = MethodPolicy::builder()
            .strict(self.strict.unwrap_or(false))
            .answer_options(self.answer_options.unwrap_or(true));
        for (
            path,
            Declared {
                allowed,
                planned,
                hints,
                own_fallback,
                serves_unlisted,
            },
        ) in &self.resources
        {
            if *own_fallback && allowed.is_empty() {
                let reason = "a method router with a `fallback` and no method routed: the policy \
                              refuses GET, POST, PUT, DELETE, PATCH and TRACE before a fallback \
                              is asked, so it would serve none of them; for one handler of every \
                              method use `any(handler)`, or route a method beside the fallback";
                return Err(PolicyError::unsupported(path.clone(), reason));
            }
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
                    .with_hints(*hints)
                    .serving_unlisted(*serves_unlisted),
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
        let shared = Arc::new(policy.clone());
        for answers in &self.answers {
            // Each cell is the route's own, filled once: `into_parts` consumes the router.
            let _ = answers.set(Arc::clone(&shared));
        }
        Ok((self.router, policy))
    }
}

/// A plain axum `Router` (one a team did not write) as an `ApiRouter` whose policy names none
/// of its routes: [`merge`](ApiRouter::merge) and [`nest`](ApiRouter::nest) take it.
impl<S> From<Router<S>> for ApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    fn from(router: Router<S>) -> Self {
        Self {
            router,
            opaque: vec!["a plain `axum::Router`".to_owned()],
            ..Self::new()
        }
    }
}

impl ApiRouter<()> {
    /// The Router behind `layer`, with this policy as its [method
    /// policy](ApiErrorLayer::method_policy): what `axum::serve` wants after
    /// [`into_axum`](ApiErrorService::into_axum). The routes answer the policy's refusals
    /// themselves, inside the layers added with [`layer`](Self::layer); the layer renders them.
    ///
    /// # Errors
    ///
    /// See [`policy`](Self::policy); and when `layer` already has a method policy: the routes
    /// are the policy, and two tables would disagree, so build the layer without one (or
    /// [`into_parts`](Self::into_parts) and compose by hand).
    ///
    /// ```
    /// use http::{Request, StatusCode};
    /// use tower::ServiceExt;
    /// use tower_api_errors::routing::{get, ApiRouter};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = ApiRouter::new()
    ///     .route("/notes", get(|| async { "[]" }))
    ///     .into_service(ApiErrorLayer::new())
    ///     .expect("a valid route table");
    /// let delete = Request::delete("/notes").body(axum::body::Body::empty()).unwrap();
    /// let response = app.oneshot(delete).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    /// # }
    /// ```
    pub fn into_service<C: Clone>(
        self,
        layer: ApiErrorLayer<C>,
    ) -> Result<ApiErrorService<Router, C>, PolicyError> {
        if layer.has_method_policy() {
            return Err(PolicyError::unsupported(
                "",
                "the layer given to `ApiRouter::into_service` already has a method policy: the \
                 routes are the policy, so build the layer without `method_policy`",
            ));
        }
        let (router, policy) = self.into_parts()?;
        Ok(layer.routed_policy(policy).layer(router))
    }
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
    use crate::routing::{get, post};

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
