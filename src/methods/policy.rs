//! Method policy: 405 versus 501, per resource, declared once in a route table. See
//! [`MethodPolicy`].

use std::fmt;
use std::time::Duration;

use http::header::{ALLOW, CACHE_CONTROL};
use http::{HeaderValue, Method, StatusCode};

use crate::admission::overload::{Criticality, RouteHints};
use crate::contract::method_id::{allow_header, not_supported_detail, MethodId, STANDARD};
use crate::respond::canned::Canned;
use crate::ApiError;

/// What the route table says of one resource: the methods it allows today, the ones planned
/// for it (`501`), and the ones it refuses (`405`). A method it does not name is the inner
/// service's to answer.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    allowed: Vec<Method>,
    planned: Vec<Method>,
    refused: Vec<Method>,
    hints: RouteHints,
    /// A handler serves the methods the table does not name (a route's own fallback, `any`):
    /// serving one is no drift.
    serves_unlisted: bool,
}

impl Resource {
    /// A resource that allows `methods` (and `HEAD` when `GET` is among them): they go to the
    /// inner service, and `Allow` lists them.
    ///
    /// ```
    /// use http::{Method, Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(inner);
    /// let head = app.oneshot(Request::head("/notes").body(()).unwrap()).await.unwrap();
    /// assert_eq!(head.status(), StatusCode::OK); // HEAD goes with GET
    /// # }
    /// ```
    #[must_use]
    pub fn allow(methods: impl IntoIterator<Item = Method>) -> Self {
        Self {
            allowed: methods.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Methods that will come: until then the layer answers them `501 not_implemented`,
    /// without calling the inner service.
    ///
    /// ```
    /// use http::{Method, Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let policy = MethodPolicy::builder()
    ///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(inner);
    /// let post = app.oneshot(Request::post("/payments").body(()).unwrap()).await.unwrap();
    /// assert_eq!(post.status(), StatusCode::NOT_IMPLEMENTED);
    /// assert_eq!(post.headers()["allow"], "GET, HEAD, OPTIONS");
    /// # }
    /// ```
    #[must_use]
    pub fn plan(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.planned.extend(methods);
        self
    }

    /// Methods the resource will never take: the layer answers them `405 method_not_allowed`,
    /// without calling the inner service. (A method named nowhere is left to the inner service,
    /// whose own 405 the layer renders the same way.)
    ///
    /// ```
    /// use http::{Method, Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let policy = MethodPolicy::builder()
    ///     .resource("/audit", Resource::allow([Method::GET]).refuse([Method::DELETE]))
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(inner);
    /// let delete = app.oneshot(Request::delete("/audit").body(()).unwrap()).await.unwrap();
    /// assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    /// # }
    /// ```
    #[must_use]
    pub fn refuse(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.refused.extend(methods);
        self
    }

    /// This resource's deadline, instead of the layer's [`timeout`](crate::ApiErrorLayer::timeout)
    /// (a [deadline header](crate::ApiErrorLayer::deadline_header) can shorten it).
    ///
    /// ```
    /// use std::time::Duration;
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/reports", Resource::allow([Method::GET]).timeout(Duration::from_secs(30)))
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.hints.timeout = Some(timeout);
        self
    }

    /// Never refused by the in-flight limit: health checks, admin ([`Criticality::Critical`]).
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/health", Resource::allow([Method::GET]).critical())
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn critical(mut self) -> Self {
        self.hints.criticality = Some(Criticality::Critical);
        self
    }

    /// The timeout and criticality of `hints` (for [`routing`](crate::routing)).
    #[cfg(feature = "axum")]
    pub(crate) fn with_hints(mut self, hints: RouteHints) -> Self {
        self.hints = hints;
        self
    }

    /// A handler serves the methods the table does not name, as an
    /// [`ApiRouter`](crate::routing::ApiRouter) route with a fallback of its own or `any` does.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn serving_unlisted(mut self, serves: bool) -> Self {
        self.serves_unlisted = serves;
        self
    }

    /// Refused first when the in-flight limit tightens ([`Criticality::Sheddable`]).
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/reports", Resource::allow([Method::GET]).sheddable())
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn sheddable(mut self) -> Self {
        self.hints.criticality = Some(Criticality::Sheddable);
        self
    }
}

/// A mistake in a route table, found by [`MethodPolicyBuilder::build`]: which resource, and
/// what [kind](PolicyErrorKind) of mistake, to match on.
///
/// ```
/// use http::Method;
/// use tower_api_errors::policy::{MethodPolicy, PolicyErrorKind, Resource};
///
/// let error = MethodPolicy::builder()
///     .resource("/notes/{id}", Resource::allow([Method::GET]))
///     .resource("/notes/{name}", Resource::allow([Method::GET]))
///     .build()
///     .unwrap_err();
/// assert_eq!(error.kind(), PolicyErrorKind::Conflict);
/// assert_eq!(error.pattern(), "/notes/{name}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pattern: String,
    kind: PolicyErrorKind,
    reason: String,
}

/// What is wrong with a resource of a route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// A method is in two of the lists (allowed and planned, say).
    MethodListedTwice,
    /// The resource names no method: nothing allowed, planned or refused.
    NoMethod,
    /// The pattern is not valid axum syntax (a parameter's braces, a catch-all not at the end).
    InvalidPattern,
    /// The pattern matches the same paths as one declared before it.
    Conflict,
    /// The declaration asks for what a route table can't hold (an
    /// [`ApiRouter`](crate::routing::ApiRouter) with axum's `method_not_allowed_fallback`, two
    /// nested settings that differ, `strict` beside paths the table can't name): the reason
    /// says what to do instead.
    Unsupported,
}

impl PolicyError {
    /// The pattern of the resource at fault, as declared.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let error = MethodPolicy::builder()
    ///     .resource("/notes/{id", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.pattern(), "/notes/{id");
    /// ```
    #[must_use]
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// What is wrong with it.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, PolicyErrorKind, Resource};
    ///
    /// let error = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]).plan([Method::GET]))
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.kind(), PolicyErrorKind::MethodListedTwice);
    /// ```
    #[must_use]
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// A declaration the table can't hold, at `pattern` (or of the whole table when empty).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn unsupported(pattern: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            kind: PolicyErrorKind::Unsupported,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pattern.is_empty() {
            return f.write_str(&self.reason);
        }
        write!(f, "{}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for PolicyError {}

/// Builds a [`MethodPolicy`]; see its documentation. `MethodPolicyBuilder::default()` is
/// [`MethodPolicy::builder()`]: no resource, not strict, answering `OPTIONS`.
#[derive(Debug)]
#[must_use]
pub struct MethodPolicyBuilder {
    resources: Vec<(String, Resource)>,
    strict: bool,
    answer_options: bool,
    planned_as_405: bool,
}

impl Default for MethodPolicyBuilder {
    fn default() -> Self {
        Self {
            resources: Vec::new(),
            strict: false,
            answer_options: true,
            planned_as_405: false,
        }
    }
}

impl MethodPolicyBuilder {
    /// Declares the resource at `pattern` (axum syntax: `/notes/{id}`, `/files/{*path}`),
    /// relative to where the layer sits: behind `Router::nest_service("/api", …)` the layer
    /// sees `/notes`, not `/api/notes`.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes/{id}", Resource::allow([Method::GET, Method::DELETE]))
    ///     .resource("/files/{*path}", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(policy.patterns().count(), 2);
    /// ```
    pub fn resource(mut self, pattern: impl Into<String>, resource: Resource) -> Self {
        self.resources.push((pattern.into(), resource));
        self
    }

    /// Declares every resource of `table` under `prefix`, so that a prefix is written once.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let v1 = MethodPolicy::builder()
    ///     .resource("/items", Resource::allow([Method::GET]).plan([Method::POST]))
    ///     .resource("/items/{id}", Resource::allow([Method::GET, Method::PUT]));
    /// let policy = MethodPolicy::builder().nest("/api/v1", v1).build().unwrap();
    /// assert_eq!(
    ///     policy.patterns().collect::<Vec<_>>(),
    ///     ["/api/v1/items", "/api/v1/items/{id}"]
    /// );
    /// ```
    pub fn nest(mut self, prefix: &str, table: MethodPolicyBuilder) -> Self {
        let prefix = prefix.trim_end_matches('/');
        for (pattern, resource) in table.resources {
            let pattern = match pattern.as_str() {
                "" | "/" => prefix.to_owned(),
                _ => format!("{prefix}{pattern}"),
            };
            self.resources.push((pattern, resource));
        }
        self
    }

    /// Paths that match no resource get `404 not_found` from the layer instead of going to the
    /// inner service.
    ///
    /// ```
    /// use http::{Method, Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .strict(true)
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(inner);
    /// let elsewhere = app.oneshot(Request::get("/elsewhere").body(()).unwrap()).await.unwrap();
    /// assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether the layer answers `OPTIONS` (default: yes): an inner `405` to `OPTIONS` becomes
    /// `204` with `Allow`, `OPTIONS *` gets `204` with every method the table allows, and
    /// `Allow` lists `OPTIONS`. Turn it off when the inner service answers `OPTIONS` itself.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// // The inner service (a CORS layer inside, say) answers OPTIONS itself.
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .answer_options(false)
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    pub fn answer_options(mut self, answer: bool) -> Self {
        self.answer_options = answer;
        self
    }

    /// Answers a planned method `405 method_not_allowed` instead of `501 not_implemented`
    /// (default: `501`), for teams who read RFC 9110 strictly: §15.6.2 calls 501 "the
    /// appropriate response when the server does not recognize the request method and is not
    /// capable of supporting it for any resource", and a planned method is recognized. The
    /// answer keeps what tells it apart from a method that will never come: `Allow` with what
    /// works today, `Cache-Control: no-store` (it will change), and a `planned: true` member. The
    /// OpenAPI document ([`ErrorResponses`](crate::openapi::ErrorResponses)) and the conformance
    /// kit follow the switch.
    ///
    /// ```
    /// use http::{Method, StatusCode};
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let policy = MethodPolicy::builder()
    ///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
    ///     .planned_as_405(true)
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(service_fn(|_| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// let post = http::Request::post("/payments").body(()).unwrap();
    /// let response = app.oneshot(post).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    /// assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// # }
    /// ```
    pub fn planned_as_405(mut self, planned_as_405: bool) -> Self {
        self.planned_as_405 = planned_as_405;
        self
    }

    /// Checks the table and compiles it: every answer the layer makes from it is rendered here,
    /// once.
    ///
    /// # Errors
    ///
    /// A pattern that is invalid or conflicts with another, a method named twice (allowed and
    /// planned, say), or a resource that names no method.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build();
    /// assert!(policy.is_ok());
    /// let conflict = MethodPolicy::builder()
    ///     .resource("/notes/{id}", Resource::allow([Method::GET]))
    ///     .resource("/notes/{name}", Resource::allow([Method::GET]))
    ///     .build();
    /// assert!(conflict.is_err());
    /// ```
    pub fn build(self) -> Result<MethodPolicy, PolicyError> {
        let mut router = matchit::Router::new();
        let mut exact = Vec::new();
        let mut resources = Vec::with_capacity(self.resources.len());
        let mut everywhere: Vec<Method> = Vec::new();
        for (pattern, resource) in self.resources {
            let error = |kind: PolicyErrorKind, reason: String| PolicyError {
                pattern: pattern.clone(),
                kind,
                reason,
            };
            let lists = [
                ("allowed", &resource.allowed),
                ("planned", &resource.planned),
                ("refused", &resource.refused),
            ];
            for (i, (first, methods)) in lists.iter().enumerate() {
                for (second, others) in &lists[i + 1..] {
                    if let Some(both) = methods.iter().find(|m| others.contains(m)) {
                        return Err(error(
                            PolicyErrorKind::MethodListedTwice,
                            format!("{both} is both {first} and {second}"),
                        ));
                    }
                }
            }
            if lists.iter().all(|(_, methods)| methods.is_empty()) {
                return Err(error(
                    PolicyErrorKind::NoMethod,
                    "no method is allowed, planned or refused".to_owned(),
                ));
            }
            router
                .insert(pattern.as_str(), resources.len())
                .map_err(|e| {
                    let kind = match e {
                        matchit::InsertError::Conflict { .. } => PolicyErrorKind::Conflict,
                        _ => PolicyErrorKind::InvalidPattern,
                    };
                    error(kind, e.to_string())
                })?;
            if !pattern.contains('{') {
                exact.push((Box::from(pattern.as_str()), resources.len()));
            }
            everywhere.extend(resource.allowed.iter().cloned());
            resources.push(CompiledResource::new(
                pattern,
                resource,
                self.answer_options,
                self.planned_as_405,
            ));
        }
        // A method every resource allows is passed without a lookup when no resource has a
        // timeout or criticality of its own: whatever the path, the answer would be the inner
        // service's, with the layer's settings.
        let plain = !self.strict && resources.iter().all(|r| r.hints == RouteHints::default());
        let passed_everywhere = STANDARD
            .iter()
            .filter(|m| plain && resources.iter().all(|r| r.allows(m)))
            .fold(0, |set, m| set | MethodId::of(m).bit());
        Ok(MethodPolicy {
            router,
            exact: ExactPaths::new(exact),
            resources,
            passed_everywhere,
            strict: self.strict.then(|| Canned::new(ApiError::not_found())),
            answer_options: self.answer_options,
            planned_as_405: self.planned_as_405,
            server_allow: allow_value(everywhere, self.answer_options),
        })
    }
}

/// Method policy: 405 versus 501, per resource, declared once in a route table.
///
/// The API document draws a line between two answers to a method a resource does not take:
///
/// - **405 Method Not Allowed**: the resource does not support the method and won't
///   (`POST /reports/1234/result`). `Allow` lists what it supports (RFC 9110 §15.5.6).
/// - **501 Not Implemented**: the method is *planned* for the resource and will come
///   (`POST /payments`). `Allow` lists what works today, and `Cache-Control: no-store` keeps
///   caches from remembering an answer that will change (501 is heuristically cacheable).
///
/// The table speaks only for what it names, so that it can never hide a working endpoint:
///
/// | the request's method is, for the resource its path matches | who answers |
/// |---|---|
/// | allowed (`HEAD` goes with `GET`) | the inner service |
/// | planned | the layer: `501`, `Allow`, `Cache-Control: no-store` (`405` with `planned: true` under [`planned_as_405`](MethodPolicyBuilder::planned_as_405)) |
/// | refused | the layer: `405`, `Allow` |
/// | named nowhere | the inner service; its `405` is rendered like the layer's (and `tracing` warns when it *succeeds*: the table forgot a method the service has) |
/// | `OPTIONS`, not allowed | the inner service; its `405` becomes `204` with `Allow` |
///
/// A path no resource matches is left to the inner service, or answered 404 in
/// [strict](MethodPolicyBuilder::strict) mode. A method the server does not recognize at all
/// (`BREW`, or `get` in lower case: methods are case-sensitive) is 501 on every path
/// (RFC 9110 §9.1), decided before the table is looked at.
///
/// Patterns use axum's syntax (`/reports/{id}/result`, `/files/{*path}`) and axum's own
/// matcher, [`matchit`], relative to where the layer sits.
///
/// ```
/// use http::Method;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
///
/// let policy = MethodPolicy::builder()
///     .resource("/reports/{id}/result", Resource::allow([Method::GET]).refuse([Method::POST]))
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
///     .build()
///     .expect("a valid route table");
/// # let _ = policy;
/// ```
///
/// Mistakes in the table are reported when it is built:
///
/// ```
/// use http::Method;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
///
/// let error = MethodPolicy::builder()
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::GET]))
///     .build()
///     .unwrap_err();
/// assert_eq!(error.to_string(), "/payments: GET is both allowed and planned");
/// ```
#[derive(Debug, Clone)]
pub struct MethodPolicy {
    router: matchit::Router<usize>,
    /// The patterns without a parameter, with their resource: matched by comparing bytes,
    /// before the tree. matchit gives a static route priority over any route with a parameter,
    /// so the answer is the same, for a third of the cost (most APIs' busiest routes, `/health`,
    /// `/payments`, `/login`, have no parameter).
    exact: ExactPaths,
    resources: Vec<CompiledResource>,
    /// Methods every resource allows (not in strict mode), as [`MethodId`] bits: no lookup
    /// needed.
    passed_everywhere: u16,
    /// The `404` of strict mode.
    strict: Option<Canned>,
    answer_options: bool,
    /// A planned method is `405` with `planned: true`, not `501` (its answers are rendered
    /// with it; read again by the modules that describe the policy).
    #[cfg_attr(not(any(feature = "utoipa", feature = "testing")), allow(dead_code))]
    planned_as_405: bool,
    /// `Allow` of `OPTIONS *`: every method some resource allows.
    server_allow: HeaderValue,
}

#[derive(Debug, Clone)]
struct CompiledResource {
    pattern: String,
    allowed: Vec<Method>,
    planned: Vec<Method>,
    /// What `Allow` says for this resource.
    allow: HeaderValue,
    /// The layer's answer to each planned or refused method.
    answers: Vec<(Method, Canned)>,
    hints: RouteHints,
    serves_unlisted: bool,
}

impl CompiledResource {
    fn new(pattern: String, resource: Resource, answer_options: bool, as_405: bool) -> Self {
        let allow = allow_value(resource.allowed.iter().cloned(), answer_options);
        let planned_methods = resource.planned.clone();
        let planned = resource.planned.into_iter().map(|method| {
            let error = if as_405 {
                ApiError::new(StatusCode::METHOD_NOT_ALLOWED)
                    .with_detail(format!(
                        "{method} is planned for this resource but not available yet."
                    ))
                    .with_planned()
            } else {
                ApiError::not_implemented().with_detail(format!(
                    "{method} is planned for this resource but not implemented yet."
                ))
            };
            let error = error.with_header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            (method, error)
        });
        let refused = resource.refused.into_iter().map(|method| {
            let error = ApiError::new(StatusCode::METHOD_NOT_ALLOWED)
                .with_detail(not_supported_detail(method.as_str()));
            (method, error)
        });
        let answers = planned
            .chain(refused)
            .map(|(method, error)| (method, Canned::new(error.with_header(ALLOW, allow.clone()))))
            .collect();
        Self {
            pattern,
            allowed: resource.allowed,
            planned: planned_methods,
            allow,
            answers,
            hints: resource.hints,
            serves_unlisted: resource.serves_unlisted,
        }
    }

    fn allows(&self, method: &Method) -> bool {
        self.allowed.contains(method)
            || (*method == Method::HEAD && self.allowed.contains(&Method::GET))
    }

    /// The layer's answer to `method`; `HEAD` gets `GET`'s (the same status and headers, and
    /// a detail that names `GET`, so the same `Content-Length`, RFC 9110 §8.6).
    fn answer(&self, method: &Method) -> Option<&Canned> {
        let method = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.answers
            .iter()
            .find_map(|(m, canned)| (m == method).then_some(canned))
    }
}

/// The patterns without a parameter, each with its resource, grouped by length: a path is
/// compared only with the patterns of its own length, usually one or two.
#[derive(Debug, Clone, Default)]
struct ExactPaths {
    /// Sorted by length.
    patterns: Box<[(Box<str>, usize)]>,
    /// `by_length[n]`: where the patterns of length `n` are in `patterns` (one lookup, one
    /// bounds check, on every request of an adaptive limit).
    by_length: Box<[(u32, u32)]>,
}

impl ExactPaths {
    fn new(mut patterns: Vec<(Box<str>, usize)>) -> Self {
        patterns.sort_by_key(|(pattern, _)| pattern.len());
        let longest = patterns.last().map_or(0, |(p, _)| p.len());
        let first_of = |len: usize| {
            let first = patterns.partition_point(|(p, _)| p.len() < len);
            u32::try_from(first).unwrap_or(u32::MAX)
        };
        let by_length = (0..=longest)
            .map(|len| (first_of(len), first_of(len + 1)))
            .collect();
        Self {
            patterns: patterns.into_boxed_slice(),
            by_length,
        }
    }

    /// The resource whose pattern is exactly `path`.
    #[inline(always)]
    fn find(&self, path: &str) -> Option<usize> {
        let path = path.as_bytes();
        let &(first, end) = self.by_length.get(path.len())?;
        let candidates = self.patterns.get(first as usize..end as usize)?;
        // A plain loop: the iterator's `find` did not inline, and cost more than the compare.
        for (pattern, index) in candidates {
            if same_bytes(pattern.as_bytes(), path) {
                return Some(*index);
            }
        }
        None
    }
}

/// Whether two byte strings of the same length are equal, compared a word at a time (the first
/// and last words overlapping) rather than through a call to `memcmp`, which costs more than
/// the comparison for the short paths of a route table.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    // Callers compare strings of one length (the patterns are grouped by it).
    debug_assert_eq!(a.len(), b.len());
    let n = a.len();
    if n >= 8 {
        let word =
            |s: &[u8], at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().unwrap_or_default());
        let mut at = 0;
        while at + 8 < n {
            if word(a, at) != word(b, at) {
                return false;
            }
            at += 8;
        }
        return word(a, n - 8) == word(b, n - 8);
    }
    if n >= 4 {
        let half =
            |s: &[u8], at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().unwrap_or_default());
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The `Allow` value for `allowed`: `HEAD` with `GET`, `OPTIONS` when the layer answers it.
fn allow_value(allowed: impl IntoIterator<Item = Method>, answer_options: bool) -> HeaderValue {
    let mut listed: Vec<Method> = allowed.into_iter().collect();
    if let Some(get) = listed.iter().position(|m| *m == Method::GET) {
        listed.insert(get + 1, Method::HEAD);
    }
    if answer_options {
        listed.push(Method::OPTIONS);
    }
    allow_header(listed)
}

/// What the policy decides for a request.
pub(crate) enum Decision<'a> {
    /// Let the inner service answer: the method is allowed, or the path is not in the table.
    /// With the resource's timeout and criticality.
    Pass(RouteHints),
    /// Let the inner service answer a method the table does not name for this resource.
    Unlisted(RouteHints),
    /// Answer with this.
    Refuse(&'a Canned),
}

/// What a route answers to a method it has no handler for; see [`MethodPolicy::unrouted`].
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) enum Unrouted<'a> {
    /// The layer's own answer: planned (`501`) or refused (`405`).
    Refused(&'a Canned),
    /// axum's `405`, with this `Allow`.
    NotAllowed(&'a HeaderValue),
}

impl MethodPolicy {
    /// Starts a table: no resource, not strict, answering `OPTIONS`.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// # let _ = policy;
    /// ```
    pub fn builder() -> MethodPolicyBuilder {
        MethodPolicyBuilder::default()
    }

    /// The patterns of the table, in the order they were declared.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .resource("/notes/{id}", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(policy.patterns().collect::<Vec<_>>(), ["/notes", "/notes/{id}"]);
    /// ```
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.resources.iter().map(|r| r.pattern.as_str())
    }

    /// Each resource's pattern, allowed and planned methods, and `Allow`, in the order declared.
    #[cfg(any(feature = "testing", feature = "utoipa"))]
    pub(crate) fn resources(
        &self,
    ) -> impl Iterator<Item = (&str, &[Method], &[Method], &HeaderValue)> {
        self.resources
            .iter()
            .map(|r| (r.pattern.as_str(), &r.allowed[..], &r.planned[..], &r.allow))
    }

    /// Whether some resource has a timeout of its own.
    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn has_timeouts(&self) -> bool {
        self.resources.iter().any(|r| r.hints.timeout.is_some())
    }

    /// Each resource's pattern, and its allowed, planned and refused methods, in the order
    /// declared.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    pub(crate) fn resource_lists(
        &self,
    ) -> impl Iterator<Item = (&str, &[Method], &[Method], Vec<Method>)> {
        self.resources.iter().map(|r| {
            let refused = r
                .answers
                .iter()
                .map(|(m, _)| m)
                .filter(|m| !r.planned.contains(m))
                .cloned()
                .collect();
            (r.pattern.as_str(), &r.allowed[..], &r.planned[..], refused)
        })
    }

    /// Whether every resource allows the method: no need to look the path up.
    #[inline]
    pub(crate) fn passes_everywhere(&self, method: MethodId) -> bool {
        self.passed_everywhere & method.bit() != 0
    }

    /// The resource `path` belongs to.
    #[inline(always)]
    fn resource_index(&self, path: &str) -> Option<usize> {
        match self.exact.find(path) {
            Some(index) => Some(index),
            None => self.router.at(path).ok().map(|matched| *matched.value),
        }
    }

    /// The hints of the resource `path` belongs to, for a method that [passes
    /// everywhere](Self::passes_everywhere): an adaptive limit per resource needs the resource,
    /// and nothing else of the table.
    #[inline(always)]
    pub(crate) fn hints_of(&self, path: &str) -> RouteHints {
        // Only a table whose resources have no hints of their own passes methods everywhere
        // (see `build`): the resource's index is all there is to say.
        RouteHints {
            resource: self
                .resource_index(path)
                .map(|index| u16::try_from(index).unwrap_or(u16::MAX)),
            ..RouteHints::default()
        }
    }

    /// What the table says of `method` on `path`. The service asks only when the method does
    /// not [pass everywhere](Self::passes_everywhere); the answer would be the same.
    pub(crate) fn decide(&self, method: &Method, path: &str) -> Decision<'_> {
        let Some(index) = self.resource_index(path) else {
            return match &self.strict {
                Some(not_found) => Decision::Refuse(not_found),
                None => Decision::Pass(RouteHints::default()),
            };
        };
        let resource = &self.resources[index];
        let hints = RouteHints {
            // Tables are built by hand: far fewer than 65 535 resources (an adaptive limit of
            // its own each); past that, resources share the last one.
            resource: Some(u16::try_from(index).unwrap_or(u16::MAX)),
            ..resource.hints
        };
        if resource.allows(method) {
            return Decision::Pass(hints);
        }
        match resource.answer(method) {
            Some(canned) => Decision::Refuse(canned),
            None if resource.serves_unlisted => Decision::Pass(hints),
            None => Decision::Unlisted(hints),
        }
    }

    /// What a route of an [`ApiRouter`](crate::routing::ApiRouter) answers to a method it has
    /// no handler for, on `path`: the layer's refusal (`405`, `501`), or for a method the table
    /// does not name (`OPTIONS`, an extension method) a bare `405` with the resource's `Allow`,
    /// as axum's, which the layer renders (`OPTIONS`: `204`). `None` for a path in no resource.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn unrouted(&self, method: &Method, path: &str) -> Option<Unrouted<'_>> {
        let resource = &self.resources[self.resource_index(path)?];
        Some(match resource.answer(method) {
            Some(canned) => Unrouted::Refused(canned),
            None => Unrouted::NotAllowed(&resource.allow),
        })
    }

    pub(crate) fn answers_options(&self) -> bool {
        self.answer_options
    }

    /// Whether a path no resource matches is the layer's `404`.
    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn is_strict(&self) -> bool {
        self.strict.is_some()
    }

    /// The status of a planned method: `501`, or `405` with
    /// [`planned_as_405`](MethodPolicyBuilder::planned_as_405).
    #[cfg_attr(not(any(feature = "utoipa", feature = "testing")), allow(dead_code))]
    pub(crate) fn planned_status(&self) -> StatusCode {
        if self.planned_as_405 {
            StatusCode::METHOD_NOT_ALLOWED
        } else {
            StatusCode::NOT_IMPLEMENTED
        }
    }

    /// `Allow` of `OPTIONS *`.
    pub(crate) fn server_allow(&self) -> &HeaderValue {
        &self.server_allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> MethodPolicy {
        MethodPolicy::builder()
            .resource(
                "/reports/{id}/result",
                Resource::allow([Method::GET]).refuse([Method::POST]),
            )
            .resource(
                "/payments",
                Resource::allow([Method::GET]).plan([Method::POST]),
            )
            .resource(
                "/files/{*path}",
                Resource::allow([Method::GET, Method::PUT]),
            )
            .build()
            .unwrap()
    }

    /// `Ok(status)` when the layer answers, `Err(unlisted)` when the inner service does.
    fn decide(method: &str, path: &str) -> Result<StatusCode, bool> {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        match policy().decide(&method, path) {
            Decision::Pass(_) => Err(false),
            Decision::Unlisted(_) => Err(true),
            Decision::Refuse(canned) => Ok(canned.error().status()),
        }
    }

    #[test]
    fn allowed_and_head_pass() {
        assert_eq!(decide("GET", "/reports/1234/result"), Err(false));
        assert_eq!(decide("HEAD", "/reports/1234/result"), Err(false));
        assert_eq!(decide("PUT", "/files/a/b/c.txt"), Err(false));
    }

    #[test]
    fn head_follows_get_when_get_is_planned() {
        let policy = MethodPolicy::builder()
            .resource(
                "/notes",
                Resource::allow([Method::POST]).plan([Method::GET]),
            )
            .build()
            .unwrap();
        let Decision::Refuse(canned) = policy.decide(&Method::HEAD, "/notes") else {
            panic!("HEAD is planned with GET");
        };
        assert_eq!(canned.error().status(), StatusCode::NOT_IMPLEMENTED);
        assert!(canned.error().detail().starts_with("GET "));
    }

    #[test]
    fn planned_is_501_refused_is_405_and_the_rest_is_the_inner_services() {
        assert_eq!(decide("POST", "/payments"), Ok(StatusCode::NOT_IMPLEMENTED));
        assert_eq!(
            decide("POST", "/reports/1234/result"),
            Ok(StatusCode::METHOD_NOT_ALLOWED)
        );
        // Named nowhere: a forgotten line can't hide a handler.
        assert_eq!(decide("DELETE", "/files/x"), Err(true));
        assert_eq!(decide("OPTIONS", "/payments"), Err(true));
    }

    #[test]
    fn unmatched_paths_pass_unless_strict() {
        assert_eq!(decide("POST", "/elsewhere"), Err(false));
        let strict = MethodPolicy::builder()
            .resource("/a", Resource::allow([Method::GET]))
            .strict(true)
            .build()
            .unwrap();
        assert!(matches!(
            strict.decide(&Method::GET, "/b"),
            Decision::Refuse(c) if c.error().status() == StatusCode::NOT_FOUND
        ));
    }

    #[test]
    fn allow_lists_head_and_options() {
        let policy = policy();
        let Decision::Refuse(canned) = policy.decide(&Method::POST, "/payments") else {
            panic!("expected an answer");
        };
        assert_eq!(canned.error().headers()[ALLOW], "GET, HEAD, OPTIONS");
        assert_eq!(canned.error().headers()[CACHE_CONTROL], "no-store");
        assert_eq!(policy.server_allow(), "GET, HEAD, PUT, OPTIONS");
    }

    #[test]
    fn table_mistakes_are_reported() {
        let conflict = MethodPolicy::builder()
            .resource("/notes/{id}", Resource::allow([Method::GET]))
            .resource("/notes/{key}", Resource::allow([Method::GET]))
            .build()
            .unwrap_err();
        assert!(
            conflict.to_string().starts_with("/notes/{key}: "),
            "{conflict}"
        );
        let invalid = MethodPolicy::builder()
            .resource("/notes/{id", Resource::allow([Method::GET]))
            .build()
            .unwrap_err();
        assert!(invalid.to_string().starts_with("/notes/{id: "), "{invalid}");
        let empty = MethodPolicy::builder()
            .resource("/x", Resource::default())
            .build()
            .unwrap_err();
        assert_eq!(
            empty.to_string(),
            "/x: no method is allowed, planned or refused"
        );
        let twice = MethodPolicy::builder()
            .resource(
                "/x",
                Resource::default()
                    .plan([Method::PUT])
                    .refuse([Method::PUT]),
            )
            .build()
            .unwrap_err();
        assert_eq!(twice.to_string(), "/x: PUT is both planned and refused");
    }

    #[test]
    fn a_method_every_resource_allows_needs_no_lookup() {
        let policy = MethodPolicy::builder()
            .resource("/a", Resource::allow([Method::GET, Method::PUT]))
            .resource(
                "/b/{id}",
                Resource::allow([Method::GET]).plan([Method::PUT]),
            )
            .build()
            .unwrap();
        let passed: Vec<_> = STANDARD
            .iter()
            .filter(|m| policy.passes_everywhere(MethodId::of(m)))
            .collect();
        assert_eq!(passed, [Method::GET, Method::HEAD]);
        assert!(matches!(
            policy.decide(&Method::PUT, "/b/1"),
            Decision::Refuse(_)
        ));
        let strict = MethodPolicy::builder()
            .resource("/a", Resource::allow([Method::GET]))
            .strict(true)
            .build()
            .unwrap();
        assert_eq!(strict.passed_everywhere, 0);
    }

    #[test]
    fn same_bytes_compares_every_byte() {
        let text = b"/reports/results/daily-summary";
        for n in 0..text.len() {
            let a = &text[..n];
            assert!(same_bytes(a, a));
            for at in 0..n {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_bytes(a, &b), "{n} {at}");
            }
        }
    }

    #[test]
    fn exact_paths_agree_with_the_tree() {
        let policy = MethodPolicy::builder()
            .resource("/a", Resource::allow([Method::GET]))
            .resource("/b", Resource::allow([Method::GET]))
            .resource("/files/{*path}", Resource::allow([Method::GET]))
            .resource("/files/readme", Resource::allow([Method::GET]))
            .resource("/notes/{id}", Resource::allow([Method::GET]))
            .resource("/notes/new", Resource::allow([Method::GET]))
            .resource("/reports/{id}/result", Resource::allow([Method::GET]))
            .build()
            .unwrap();
        for path in [
            "/a",
            "/b",
            "/c",
            "",
            "/",
            "/files/readme",
            "/files/readme2",
            "/files/x/y",
            "/notes/new",
            "/notes/7",
            "/notes",
            "/reports/1/result",
            "/a/",
            "/aa",
        ] {
            let tree = policy.router.at(path).ok().map(|m| *m.value);
            let exact = policy.exact.find(path);
            assert!(
                exact.is_none() || exact == tree,
                "{path}: {exact:?} vs {tree:?}"
            );
            assert_eq!(exact.or(tree), tree, "{path}");
        }
    }

    #[test]
    fn nest_writes_the_prefix_once() {
        let inner = MethodPolicy::builder()
            .resource("/", Resource::allow([Method::GET]))
            .resource(
                "/items/{id}",
                Resource::allow([Method::GET]).plan([Method::DELETE]),
            );
        let policy = MethodPolicy::builder()
            .nest("/api/v1/", inner)
            .build()
            .unwrap();
        assert_eq!(
            policy.patterns().collect::<Vec<_>>(),
            ["/api/v1", "/api/v1/items/{id}"]
        );
        assert!(matches!(
            policy.decide(&Method::DELETE, "/api/v1/items/7"),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            policy.decide(&Method::DELETE, "/items/7"),
            Decision::Pass(_)
        ));
    }

    #[test]
    fn each_mistake_has_its_kind() {
        let kind = |pattern: &str, resource: Resource| {
            MethodPolicy::builder()
                .resource("/a/{id}", Resource::allow([Method::GET]))
                .resource(pattern, resource)
                .build()
                .unwrap_err()
                .kind()
        };
        let get = || Resource::allow([Method::GET]);
        assert_eq!(
            kind("/b", get().plan([Method::GET])),
            PolicyErrorKind::MethodListedTwice
        );
        assert_eq!(kind("/b", Resource::default()), PolicyErrorKind::NoMethod);
        assert_eq!(kind("/b/{*x}/c", get()), PolicyErrorKind::InvalidPattern);
        assert_eq!(kind("/a/{name}", get()), PolicyErrorKind::Conflict);
    }
}
