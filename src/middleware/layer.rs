//! [`ApiErrorLayer`]: the configuration, and `impl Layer`.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;
use http::{HeaderValue, Method, StatusCode};
use tower_layer::Layer;

use crate::admission::drain::Drain;
use crate::admission::maintenance::Maintenance;
use crate::admission::overload::{InFlight, Limit};
use crate::contract::{catalog, text};
use crate::methods::policy::MethodPolicy;
use crate::middleware::config::Config;
use crate::middleware::service::ApiErrorService;
use crate::respond::classify::{ClassifyError, DefaultClassifier};
use crate::respond::settings::{Format, Rendering, SharedRendering, Wording};
use crate::respond::shape::offered::Offered;
use crate::respond::shape::ErrorShape;

/// A [`Layer`](tower_layer::Layer) that makes every failure of the wrapped service leave as the documented error
/// body. See the [crate documentation](crate) for what it does; each method below switches on
/// one part. Nothing is on by default but normalization, panic catching, error classification
/// and the 501 for unrecognized methods, which cost nothing until something fails.
///
/// ```
/// use std::time::Duration;
/// use http::Method;
/// use tower_api_errors::overload::{Limit, Maintenance};
/// use tower_api_errors::policy::{MethodPolicy, Resource};
/// use tower_api_errors::ApiErrorLayer;
///
/// let policy = MethodPolicy::builder()
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
///     .resource("/reports/{id}/result", Resource::allow([Method::GET]))
///     .build()
///     .expect("a valid route table");
///
/// let layer = ApiErrorLayer::new()
///     .timeout(Duration::from_secs(2))
///     .limit(Limit::fixed(64).retry_after(Duration::from_secs(1)))
///     .maintenance(Maintenance::builder().bypass("/health").build())
///     .method_policy(policy);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct ApiErrorLayer<C = DefaultClassifier> {
    config: Arc<Config>,
    classifier: C,
}

impl Default for ApiErrorLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ApiErrorLayer {
    /// A layer that normalizes error responses, catches panics and classifies inner errors,
    /// with no deadline, no in-flight limit, no maintenance switch and no method policy.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let app = ApiErrorLayer::new().layer(inner);
    /// assert!(app.in_flight().is_none()); // no limit, no drain: nothing counted
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            config: Arc::new(Config::default()),
            classifier: DefaultClassifier,
        }
    }
}

impl<C> ApiErrorLayer<C> {
    /// The configuration, for modules that describe what the layer answers.
    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    fn configure_rendering(self, f: impl FnOnce(&mut Rendering)) -> Self {
        self.configure(|c| {
            let mut rendering = Rendering::clone(&c.rendering);
            f(&mut rendering);
            // An unchanged value stays shared with the layers it was derived from.
            if rendering != *c.rendering {
                c.rendering = SharedRendering::new(rendering);
            }
        })
    }

    /// A deadline on each request: when the inner service has not produced the response head
    /// `timeout` after it first had to wait, the inner future is dropped (cancelled) and the
    /// client gets `504 gateway_timeout`.
    ///
    /// What it bounds, exactly: the clock starts the first time the inner future returns
    /// `Pending` (so a handler that answers at once never touches the timer), and stops at the
    /// response head; a streaming body after the head is not bounded. Blocking work a handler
    /// does without awaiting (before its first `.await`, or between two) cannot be interrupted
    /// by any future-based timeout: keep it off the async threads (`spawn_blocking`). Needs a
    /// tokio runtime with its time driver. With
    /// [`watch_request_body`](Self::watch_request_body) and a
    /// [`SlowClientLayer`](crate::overload::SlowClientLayer) inside, a deadline that passes while the
    /// handler waits for the request body is `408`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let slow = service_fn(|_req: http::Request<()>| async {
    ///     tokio::time::sleep(Duration::from_secs(60)).await;
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("late")))
    /// });
    /// let app = ApiErrorLayer::new().timeout(Duration::from_secs(2)).layer(slow);
    /// let response = app.oneshot(http::Request::new(())).await.unwrap();
    /// assert_eq!(response.status(), 504);
    /// # }
    /// ```
    #[must_use]
    pub fn timeout(self, timeout: Duration) -> Self {
        self.configure(|c| c.timeout = Some(timeout))
    }

    /// With [`SlowClientLayer`](crate::overload::SlowClientLayer) inside: a deadline that passes while
    /// the handler waits for the request body is `408 request_timeout` (the client was slow),
    /// not `504 gateway_timeout`. Each request then carries a flag in its extensions that the
    /// `SlowClientLayer` takes (one allocation per request): the signal travels with the
    /// request, not through any state of the process.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower::ServiceBuilder;
    /// use tower_api_errors::overload::SlowClientLayer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let stack = ServiceBuilder::new()
    ///     .layer(ApiErrorLayer::new().timeout(Duration::from_secs(5)).watch_request_body())
    ///     .layer(SlowClientLayer::new());
    /// # let _ = stack;
    /// ```
    #[must_use]
    pub fn watch_request_body(self) -> Self {
        self.configure(|c| c.watch_body = true)
    }

    /// The in-flight limit of each service this layer makes: fixed or adaptive, with the
    /// `Retry-After` of its refusals (see [`Limit`]). Each [`layer`](Layer::layer) call counts
    /// on its own, as with tower's `ConcurrencyLimitLayer` (clones of the service share their
    /// count); to share one count between layers, see [`shared_limit`](Self::shared_limit).
    /// Replaces a limit set before: a layer has one.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::overload::Limit;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let base = ApiErrorLayer::new().limit(Limit::fixed(1));
    /// # let ok = || tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let public = base.clone().layer(ok());
    /// let admin = base.layer(ok());
    /// // Two services, two counts: the admin routes keep their place.
    /// assert!(!public.in_flight().unwrap().same_count(admin.in_flight().unwrap()));
    /// ```
    #[must_use]
    pub fn limit(self, limit: Limit) -> Self {
        self.configure(|c| {
            c.limit = Some(limit);
            c.in_flight = None;
            c.partition();
        })
    }

    /// One count for every layer given a clone of `in_flight` (made with
    /// [`InFlight::new`]): their services share its places, as tower's
    /// `GlobalConcurrencyLimitLayer` shares its semaphore. Replaces a limit set before.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::overload::{InFlight, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let shared = InFlight::new(Limit::fixed(128));
    /// let public = ApiErrorLayer::new().shared_limit(shared.clone()).layer(inner.clone());
    /// let admin = ApiErrorLayer::new().shared_limit(shared.clone()).layer(inner);
    /// assert!(public.in_flight().unwrap().same_count(admin.in_flight().unwrap()));
    /// ```
    #[must_use]
    pub fn shared_limit(self, in_flight: InFlight) -> Self {
        self.configure(|c| {
            c.in_flight = Some(in_flight);
            c.limit = None;
            c.partition();
        })
    }

    /// Reads a deadline from the request header `name` (whole milliseconds, e.g.
    /// `x-request-timeout-ms`).
    ///
    /// Deadlines: a timeout per resource, an inbound deadline header that shortens it, and
    /// admission that refuses at once a request whose deadline is already too short.
    ///
    /// A request's deadline is, in order: the [resource's timeout](crate::policy::Resource::timeout) in
    /// the route table, else the [layer's](crate::ApiErrorLayer::timeout); then, when the layer
    /// reads a [deadline header](Self::deadline_header) and the request has one,
    /// the smaller of that and the header's value. A client can only shorten the server's
    /// deadline, never lengthen it (without any timeout configured, the header is clamped to a
    /// day). The header holds whole milliseconds, ASCII digits only: anything else (a sign, a
    /// space, a unit, an empty value, more than 15 digits) is `400 bad_request`, since a client
    /// that sends a deadline relies on it and must learn that it was not understood.
    ///
    /// # Deadline-aware admission: 504, not 503
    ///
    /// With the [adaptive limit](crate::overload::AdaptiveConcurrency), the layer knows each resource's
    /// latency with no queue. A request whose deadline is shorter than its resource's (or zero)
    /// is refused at once, before it takes a place or any work is done, with
    /// `504 gateway_timeout` and `retryable: false`: the same answer the client would get after
    /// the work, only sooner, and the same request would fail again. It is not `503`: nothing is
    /// overloaded, `Retry-After` would promise something false (the same request fails again
    /// until its deadline grows), and clients and proxies read 503 as a signal to back off from
    /// the server. gRPC makes the same choice (`DEADLINE_EXCEEDED`, mapped to 504). Critical
    /// requests are exempt from the comparison with the baseline (a health check is usually much
    /// faster than the resource's work), not from a zero deadline, which nothing can meet.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum::{routing::get, Router};
    /// use http::{HeaderName, Method, Request};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let router = Router::new().route(
    ///     "/reports/{id}/result",
    ///     get(|| async {
    ///         tokio::time::sleep(Duration::from_secs(5)).await;
    ///         "done"
    ///     }),
    /// );
    /// let policy = MethodPolicy::builder()
    ///     .resource(
    ///         "/reports/{id}/result",
    ///         Resource::allow([Method::GET]).timeout(Duration::from_secs(10)),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new()
    ///     .timeout(Duration::from_secs(2)) // everywhere else
    ///     .deadline_header(HeaderName::from_static("x-request-timeout-ms"))
    ///     .method_policy(policy)
    ///     .layer(router);
    ///
    /// let get = |deadline: &str| {
    ///     Request::get("/reports/1/result")
    ///         .header("x-request-timeout-ms", deadline)
    ///         .body(axum::body::Body::empty())
    ///         .unwrap()
    /// };
    /// // The resource's 10 s apply; the client asked for less, and gets a 504 after 1 s.
    /// assert_eq!(app.clone().oneshot(get("1000")).await.unwrap().status(), 504);
    /// // Asking for more than 10 s does not lengthen it: 5 s is within, so 200.
    /// assert_eq!(app.clone().oneshot(get("60000")).await.unwrap().status(), 200);
    /// // Garbage is refused.
    /// assert_eq!(app.oneshot(get("1s")).await.unwrap().status(), 400);
    /// # }
    /// ```
    #[must_use]
    pub fn deadline_header(self, name: HeaderName) -> Self {
        self.configure(|c| c.deadline_header = Some(name))
    }

    /// A shutdown switch: once [triggered](Drain::trigger), new requests get
    /// `503 shutting_down` (see [`Drain`]). The drain reads the in-flight count of each
    /// service the layer makes: the limit's, or without one a count made for the drain.
    ///
    /// ```
    /// use http::{Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::overload::Drain;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let drain = Drain::new();
    /// let app = ApiErrorLayer::new().drain(drain.clone()).layer(inner);
    /// drain.trigger();
    /// let response = app.oneshot(Request::get("/").body(()).unwrap()).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// # }
    /// ```
    #[must_use]
    pub fn drain(self, drain: Drain) -> Self {
        self.configure(|c| c.drain = Some(drain))
    }

    /// Answers `503 overloaded` at once when the inner service is not ready, instead of
    /// waiting for it (tower's `LoadShed`, with the documented body): the limit's answer and
    /// `Retry-After` when the layer has a [limit](Self::limit), else `Retry-After: 1`.
    ///
    /// ```
    /// use tower::ServiceBuilder;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// // An inner service at its concurrency limit is not ready: 503 at once, not a wait.
    /// let app = ServiceBuilder::new()
    ///     .layer(ApiErrorLayer::new().shed_when_not_ready())
    ///     .concurrency_limit(64)
    ///     .service(inner);
    /// # let _ = app;
    /// ```
    #[must_use]
    pub fn shed_when_not_ready(self) -> Self {
        self.configure(|c| c.shed_when_not_ready = true)
    }
    /// A run-time maintenance switch; keep a clone to flip it.
    ///
    /// ```
    /// use http::{Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::overload::Maintenance;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let switch = Maintenance::builder().bypass("/health").build();
    /// let app = ApiErrorLayer::new().maintenance(switch.clone()).layer(inner);
    /// switch.enable();
    /// let notes = app.clone().oneshot(Request::get("/notes").body(()).unwrap()).await.unwrap();
    /// assert_eq!(notes.status(), StatusCode::SERVICE_UNAVAILABLE);
    /// let health = app.oneshot(Request::get("/health").body(()).unwrap()).await.unwrap();
    /// assert_eq!(health.status(), StatusCode::OK);
    /// # }
    /// ```
    #[must_use]
    pub fn maintenance(self, maintenance: Maintenance) -> Self {
        self.configure(|c| c.maintenance = Some(maintenance))
    }

    /// The route table that decides 405 versus 501 per resource.
    ///
    /// ```
    /// use http::{Method, Request, StatusCode};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let inner = tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]).plan([Method::POST]))
    ///     .build()
    ///     .unwrap();
    /// let app = ApiErrorLayer::new().method_policy(policy).layer(inner);
    /// let post = app.oneshot(Request::post("/notes").body(()).unwrap()).await.unwrap();
    /// assert_eq!(post.status(), StatusCode::NOT_IMPLEMENTED);
    /// # }
    /// ```
    #[must_use]
    pub fn method_policy(self, policy: MethodPolicy) -> Self {
        let answer_options = policy.answers_options();
        self.configure(|c| {
            c.policy = Some(policy);
            c.partition();
        })
        .configure_rendering(|r| r.answer_options = answer_options)
    }

    /// The policy of an [`ApiRouter`](crate::routing::ApiRouter), whose routes answer its
    /// refusals themselves (so that the layers added to the router see them, as in axum).
    #[cfg(feature = "axum")]
    pub(crate) fn routed_policy(self, policy: MethodPolicy) -> Self {
        self.method_policy(policy)
            .configure(|c| c.routes_answer = true)
    }

    /// Whether a method policy is set.
    #[cfg(feature = "axum")]
    pub(crate) fn has_method_policy(&self) -> bool {
        self.config.policy.is_some()
    }

    /// Adds `method` to the methods the server recognizes (by default RFC 9110's, `PATCH` and
    /// `QUERY`). Any other method gets `501 not_implemented` on every path.
    ///
    /// ```
    /// use http::Method;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let purge = Method::from_bytes(b"PURGE").unwrap();
    /// let layer = ApiErrorLayer::new().recognize_method(purge);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn recognize_method(self, method: Method) -> Self {
        self.configure(|c| c.recognized.add(method))
    }

    /// The format of error bodies when the request's `Accept` does not choose (default: JSON;
    /// a [`shape`](Self::shape) replaces it).
    ///
    /// ```
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::{ApiError, ApiErrorLayer, Format};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let missing = service_fn(|_req: http::Request<()>| async {
    ///     Err::<http::Response<String>, _>(ApiError::not_found())
    /// });
    /// let layer = ApiErrorLayer::new().format(Format::Problem);
    ///
    /// let response = layer.layer(missing).oneshot(http::Request::new(())).await.unwrap();
    /// assert_eq!(response.headers()["content-type"], "application/problem+json");
    ///
    /// // A client that asks for plain JSON still gets it.
    /// let req = http::Request::builder()
    ///     .header("accept", "application/json")
    ///     .body(())
    ///     .unwrap();
    /// let response = layer.layer(missing).oneshot(req).await.unwrap();
    /// assert_eq!(response.headers()["content-type"], "application/json");
    /// # }
    /// ```
    #[must_use]
    pub fn format(self, format: Format) -> Self {
        self.configure_rendering(|r| {
            r.format = format;
            // A shape offered with the format's media type takes its place.
            let taking = r
                .shapes
                .iter()
                .find(|s| s.media_range() == format.media_range());
            r.default_shape = r.place_of(taking.cloned().as_ref());
        })
    }

    /// The shape of error bodies when the request's `Accept` does not choose, and a choice when
    /// it names the shape's media type: a company envelope, [`Aip193`](crate::shape::Aip193),
    /// [`JsonApi`](crate::shape::JsonApi), any [`ErrorShape`]. Every error response the layer sends
    /// is written in it, whatever decided it; a client that asks for `application/json` or
    /// `application/problem+json` still gets the document's body, unless the shape's media
    /// type is that one (a company envelope as `application/json` takes its place).
    ///
    /// ```
    /// use serde_json::json;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts};
    /// use tower_api_errors::{ApiError, ApiErrorLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let envelope = shape_fn("application/json", |e: &ErrorFacts<'_>| {
    ///     json!({"success": false, "error": {"type": e.code(), "message": e.detail()}})
    /// });
    /// let missing = service_fn(|_req: http::Request<()>| async {
    ///     Err::<http::Response<String>, _>(ApiError::not_found())
    /// });
    /// let app = ApiErrorLayer::new().shape(envelope).layer(missing);
    /// let response = app.oneshot(http::Request::new(())).await.unwrap();
    /// assert_eq!(response.status(), 404);
    /// assert_eq!(response.headers()["content-type"], "application/json");
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When the shape's media type is not `type/subtype`: a configuration mistake, caught at
    /// start.
    #[must_use]
    pub fn shape(self, shape: impl ErrorShape) -> Self {
        let shape = Offered::new(shape);
        self.add_shape(Arc::clone(&shape))
            .configure_rendering(|r| r.default_shape = r.place_of(Some(&shape)))
    }

    /// Offers a shape to the requests whose `Accept` prefers its media type, the default
    /// staying what it is ([`format`](Self::format), or the [`shape`](Self::shape)). A shape
    /// offered with the media type of the default format takes its place.
    ///
    /// ```
    /// use tower_api_errors::shape::{Aip193, JsonApi};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// // `application/json` the document's body, `application/problem+json` RFC 9457, and:
    /// let layer = ApiErrorLayer::new()
    ///     .offer_shape(Aip193::new("api.example.com")) // application/vnd.google.rpc.status+json
    ///     .offer_shape(JsonApi); // application/vnd.api+json
    /// # let _ = layer;
    /// ```
    ///
    /// # Panics
    ///
    /// When the shape's media type is not `type/subtype`: a configuration mistake, caught at
    /// start.
    #[must_use]
    pub fn offer_shape(self, shape: impl ErrorShape) -> Self {
        let shape = Offered::new(shape);
        self.add_shape(Arc::clone(&shape)).configure_rendering(|r| {
            if r.default_shape == 0 && shape.media_range() == r.format.media_range() {
                r.default_shape = r.place_of(Some(&shape));
            }
        })
    }

    /// Adds `shape` to those `Accept` may choose, in place of one with the same media type.
    fn add_shape(self, shape: Arc<Offered>) -> Self {
        self.configure_rendering(|r| {
            // The default keeps its place in the new list, unless the new shape replaces it.
            let default = r
                .shape_at(r.default_shape)
                .filter(|s| s.media_range() != shape.media_range())
                .cloned();
            r.shapes.retain(|s| s.media_range() != shape.media_range());
            r.shapes.push(shape);
            r.default_shape = r.place_of(default.as_ref());
        })
    }

    /// Whether `Accept` may choose between `application/json` and `application/problem+json`
    /// (and the shapes offered; default: yes).
    ///
    /// ```
    /// use tower_api_errors::{ApiErrorLayer, Format};
    ///
    /// // Always the crate's JSON, whatever `Accept` asks for.
    /// let layer = ApiErrorLayer::new().format(Format::Json).negotiate_format(false);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn negotiate_format(self, negotiate: bool) -> Self {
        self.configure_rendering(|r| r.negotiate = negotiate)
    }

    /// The `type` of problem documents: `base` followed by the error code, percent-encoded
    /// where it needs to be (default: `about:blank`, and then the `title` is the status's
    /// reason phrase, as RFC 9457 §4.2.1 asks). A `String` from configuration works too.
    ///
    /// ```
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let base = std::env::var("ERRORS_URL").unwrap_or("https://errors.example.com/".into());
    /// let layer = ApiErrorLayer::new().problem_type_base(base);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn problem_type_base(self, base: impl Into<Cow<'static, str>>) -> Self {
        let base = base.into();
        self.configure_rendering(|r| r.problem_type_base = Some(base))
    }

    /// The `WWW-Authenticate` challenge added to a 401 that lacks one (default: `Bearer`). A
    /// `HeaderValue`, as tower-http's header layers take: from configuration,
    /// `HeaderValue::try_from(text)?` says at start what is wrong with it, where a `&str` taken
    /// here would have to panic.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let realm = "api";
    /// let challenge = HeaderValue::try_from(format!("Bearer realm=\"{realm}\""))?;
    /// let layer = ApiErrorLayer::new().challenge(challenge);
    /// # let _ = layer;
    /// # Ok::<(), http::header::InvalidHeaderValue>(())
    /// ```
    #[must_use]
    pub fn challenge(self, challenge: HeaderValue) -> Self {
        self.configure_rendering(|r| r.challenge = challenge)
    }

    /// The request header whose value is echoed as `request_id` (default: `x-request-id`), as
    /// tower-http's `SetRequestIdLayer` takes it: the first field line that is a safe token of
    /// at most [`MAX_REQUEST_ID_LEN`](crate::body::MAX_REQUEST_ID_LEN) characters.
    ///
    /// ```
    /// use http::HeaderName;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::{ApiError, ApiErrorLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let missing = service_fn(|_req: http::Request<()>| async {
    ///     Err::<http::Response<String>, _>(ApiError::not_found())
    /// });
    /// let layer = ApiErrorLayer::new().request_id_header(HeaderName::from_static("x-trace-id"));
    /// let req = http::Request::get("/").header("x-trace-id", "4f1c2e9a").body(()).unwrap();
    /// let response = layer.layer(missing).oneshot(req).await.unwrap();
    /// # use http_body_util::BodyExt;
    /// let body = response.into_body().collect().await.unwrap().to_bytes();
    /// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    /// assert_eq!(body["request_id"], "4f1c2e9a");
    /// # }
    /// ```
    #[must_use]
    pub fn request_id_header(self, name: HeaderName) -> Self {
        self.configure_rendering(|r| r.request_id_header = name)
    }

    /// The team's own words for `status`: its `message` (the document's Message column) and its
    /// default `detail` (the Explanation column), in every body the layer sends with that
    /// status, whatever decided it: its own refusals, a handler's `ApiError`, an inner answer.
    /// A `detail` a handler sets (`with_detail`) stays the handler's. The codes clients switch
    /// on (`error`) are not words and do not change. With no call, the API document's words.
    ///
    /// Texts are held to the schema: an empty one is ignored (with a warning), a `detail`
    /// longer than [`MAX_DETAIL_CHARS`](crate::body::MAX_DETAIL_CHARS) characters is cut there. The
    /// bodies of a reworded status are rendered for each request, not once: a few hundred
    /// instructions more on that error path. The published JSON Schemas name the document's
    /// messages; the OpenAPI document of a reworded layer
    /// ([`ErrorResponses`](crate::openapi::ErrorResponses)) names its own.
    ///
    /// ```
    /// use http::StatusCode;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::{ApiError, ApiErrorLayer};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let missing = service_fn(|_req: http::Request<()>| async {
    ///     Err::<http::Response<String>, _>(ApiError::not_found())
    /// });
    /// let layer = ApiErrorLayer::new().reword(
    ///     StatusCode::NOT_FOUND,
    ///     "Not Found",
    ///     "Nothing lives at this address.",
    /// );
    /// let response = layer.layer(missing).oneshot(http::Request::new(())).await.unwrap();
    /// # use http_body_util::BodyExt;
    /// let body = response.into_body().collect().await.unwrap().to_bytes();
    /// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    /// assert_eq!(body["message"], "Not Found");
    /// assert_eq!(body["detail"], "Nothing lives at this address.");
    /// assert_eq!(body["error"], "not_found");
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When `status` is not an error status (4xx or 5xx): nothing else has these words.
    #[must_use]
    pub fn reword(
        self,
        status: StatusCode,
        message: impl Into<Cow<'static, str>>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        assert!(
            status.is_client_error() || status.is_server_error(),
            "ApiErrorLayer::reword takes an error status (4xx or 5xx), not {status}"
        );
        let message = text::bounded(message.into(), "ApiErrorLayer::reword (message)");
        let detail = text::bounded(detail.into(), "ApiErrorLayer::reword (detail)");
        self.configure_rendering(|r| {
            let document = catalog::lookup(status);
            let wording = Wording {
                status,
                message: message.unwrap_or(Cow::Borrowed(document.message)),
                detail: detail.unwrap_or(Cow::Borrowed(document.explanation)),
            };
            r.wording.retain(|w| w.status != status);
            r.wording.push(wording);
        })
    }

    /// Replaces the classifier that turns inner service errors into responses. It is cloned
    /// into each request's future, so keep it cheap to clone (a closure capturing nothing, or
    /// an `Arc`).
    ///
    /// ```
    /// use tower_api_errors::classify::BoxError;
    /// use tower_api_errors::{ApiError, ApiErrorLayer};
    ///
    /// let layer = ApiErrorLayer::new().classify_errors(|error: BoxError| {
    ///     if error.is::<std::io::Error>() {
    ///         ApiError::service_unavailable(std::time::Duration::from_secs(5))
    ///     } else {
    ///         ApiError::internal_error()
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn classify_errors<D: ClassifyError>(self, classifier: D) -> ApiErrorLayer<D> {
        ApiErrorLayer {
            config: self.config,
            classifier,
        }
    }
}

impl<S, C: Clone> Layer<S> for ApiErrorLayer<C> {
    type Service = ApiErrorService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        let config = self.config.for_service();
        #[cfg(feature = "metrics")]
        crate::respond::observe::describe_metrics();
        if let Some(in_flight) = &config.in_flight {
            if let Some(drain) = &config.drain {
                drain.attach(in_flight);
            }
            if config.deadline_header.is_some() {
                in_flight.read_client_deadlines();
            }
            let patterns = config.policy.iter().flat_map(MethodPolicy::patterns);
            in_flight.partition(patterns);
            #[cfg(feature = "metrics")]
            in_flight.register_gauges();
        }
        ApiErrorService::new(inner, config, self.classifier.clone())
    }
}
