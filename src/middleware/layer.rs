//! [`ApiErrorLayer`]: the configuration, and `impl Layer`.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::HeaderName;
use http::{HeaderValue, Method};
use tower_layer::Layer;

use crate::admission::drain::Drain;
use crate::admission::maintenance::Maintenance;
use crate::admission::overload::{AdaptiveConcurrency, InFlight};
use crate::methods::policy::MethodPolicy;
use crate::middleware::config::Config;
use crate::middleware::service::ApiErrorService;
use crate::respond::canned::Canned;
use crate::respond::classify::{ClassifyError, DefaultClassifier};
use crate::respond::settings::{keep, Format, Rendering};
use crate::respond::shape::offered::Offered;
use crate::respond::shape::ErrorShape;
use crate::ApiError;

/// A [`Layer`](tower_layer::Layer) that makes every failure of the wrapped service leave as the documented error
/// body. See the [crate documentation](crate) for what it does; each method below switches on
/// one part. Nothing is on by default but normalization, panic catching, error classification
/// and the 501 for unrecognized methods, which cost nothing until something fails.
///
/// ```
/// use std::time::Duration;
/// use http::Method;
/// use tower_api_errors::{ApiErrorLayer, Maintenance, MethodPolicy, Resource};
///
/// let policy = MethodPolicy::builder()
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
///     .resource("/reports/{id}/result", Resource::allow([Method::GET]))
///     .build()
///     .expect("a valid route table");
///
/// let layer = ApiErrorLayer::new()
///     .timeout(Duration::from_secs(2))
///     .max_in_flight(64)
///     .retry_after(Duration::from_secs(1))
///     .maintenance(Maintenance::new().bypass("/health"))
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
            let mut rendering = *c.rendering;
            f(&mut rendering);
            c.rendering = rendering.kept();
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
    /// tokio runtime with its time driver. With [`SlowClientLayer`](crate::SlowClientLayer)
    /// inside, a deadline that passes while the handler waits for the request body is `408`.
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

    /// At most `max` requests in flight for all the services this layer makes; the next one
    /// gets `503 overloaded` with `Retry-After` at once, without queueing for a place. (It still
    /// waits for the inner service's readiness, as every tower call does, unless
    /// [`shed_when_not_ready`](Self::shed_when_not_ready) is set.)
    ///
    /// A request holds its place until its response head is sent (or it is cancelled), as
    /// with tower's `ConcurrencyLimit`: the body streaming after the head (a download, SSE) is
    /// not counted.
    #[must_use]
    pub fn max_in_flight(self, max: usize) -> Self {
        self.configure(|c| {
            c.in_flight = Some(InFlight::new(max));
            c.partition();
        })
    }

    /// An in-flight limit found from measured latency instead of guessed: see
    /// [`AdaptiveConcurrency`] for how it moves. With a [route table](Self::method_policy),
    /// one limit per resource (each with its own latency baseline) under one cap, so that an
    /// overloaded resource is shed without shedding the others. Over it, `503 overloaded` at
    /// once, with a `Retry-After` from the resource's drain rate (at least
    /// [`retry_after`](Self::retry_after), 1 s to a minute). Critical requests are never
    /// refused, sheddable ones first ([`Criticality`](crate::Criticality)).
    ///
    /// The resources are those of the route table the layer has when it makes its first
    /// service (so [`ApiRouter::into_service`](crate::routing::ApiRouter::into_service) works,
    /// and an [`in_flight`](Self::in_flight) handle taken before shows them).
    #[must_use]
    pub fn adaptive_concurrency(self, adaptive: AdaptiveConcurrency) -> Self {
        self.configure(|c| {
            c.in_flight = Some(InFlight::adaptive(adaptive));
            c.partition();
        })
    }

    /// Reads a deadline from the request header `name` (whole milliseconds, e.g.
    /// `x-request-timeout-ms`).
    ///
    /// Deadlines: a timeout per resource, an inbound deadline header that shortens it, and
    /// admission that refuses at once a request whose deadline is already too short.
    ///
    /// A request's deadline is, in order: the [resource's timeout](crate::Resource::timeout) in
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
    /// With the [adaptive limit](crate::AdaptiveConcurrency), the layer knows each resource's
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
    /// use http::{Method, Request};
    /// use tower::{Layer, ServiceExt};
    /// use tower_api_errors::{ApiErrorLayer, MethodPolicy, Resource};
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
    ///     .deadline_header("x-request-timeout-ms")
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
    ///
    /// # Panics
    ///
    /// When `name` is not a valid lowercase header name: a configuration mistake, caught at
    /// start.
    #[must_use]
    pub fn deadline_header(self, name: &'static str) -> Self {
        let name = HeaderName::from_static(name);
        self.configure(|c| c.deadline_header = Some(name))
    }

    /// A shutdown switch: once [triggered](Drain::trigger), new requests get
    /// `503 shutting_down` (see [`Drain`]). The layer counts its requests in flight for it.
    #[must_use]
    pub fn drain(self, drain: Drain) -> Self {
        self.configure(|c| {
            c.drain = Some(drain);
            c.in_flight.get_or_insert_with(InFlight::unlimited);
            c.partition();
        })
    }

    /// Answers `503 overloaded` at once when the inner service is not ready, instead of
    /// waiting for it (tower's `LoadShed`, with the documented body).
    #[must_use]
    pub fn shed_when_not_ready(self) -> Self {
        self.configure(|c| c.shed_when_not_ready = true)
    }

    /// The `Retry-After` of `503 overloaded` answers (default: 1 second; never under 1 s, which
    /// would invite every refused client back at once).
    #[must_use]
    pub fn retry_after(self, retry_after: Duration) -> Self {
        self.configure(|c| {
            c.retry_after = retry_after;
            c.overloaded = Canned::new(ApiError::overloaded(retry_after));
        })
    }

    /// A run-time maintenance switch; keep a clone to flip it.
    #[must_use]
    pub fn maintenance(self, maintenance: Maintenance) -> Self {
        self.configure(|c| c.maintenance = Some(maintenance))
    }

    /// The route table that decides 405 versus 501 per resource.
    #[must_use]
    pub fn method_policy(self, policy: MethodPolicy) -> Self {
        let answer_options = policy.answers_options();
        self.configure(|c| {
            c.policy = Some(policy);
            c.partition();
        })
        .configure_rendering(|r| r.answer_options = answer_options)
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
            r.default_shape = r.place_of(taking.copied());
        })
    }

    /// The shape of error bodies when the request's `Accept` does not choose, and a choice when
    /// it names the shape's media type: a company envelope, [`Aip193`](crate::Aip193),
    /// [`JsonApi`](crate::JsonApi), any [`ErrorShape`]. Every error response the layer sends
    /// is written in it, whatever decided it; a client that asks for `application/json` or
    /// `application/problem+json` still gets the document's body, unless the shape's media
    /// type is that one (a company envelope as `application/json` takes its place).
    ///
    /// ```
    /// use serde_json::json;
    /// use tower::{service_fn, Layer, ServiceExt};
    /// use tower_api_errors::{shape_fn, ApiError, ApiErrorLayer, ErrorFacts};
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
        let shape = Offered::keep(shape);
        self.add_shape(shape)
            .configure_rendering(|r| r.default_shape = r.place_of(Some(shape)))
    }

    /// Offers a shape to the requests whose `Accept` prefers its media type, the default
    /// staying what it is ([`format`](Self::format), or the [`shape`](Self::shape)). A shape
    /// offered with the media type of the default format takes its place.
    ///
    /// ```
    /// use tower_api_errors::{Aip193, ApiErrorLayer, JsonApi};
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
        let shape = Offered::keep(shape);
        self.add_shape(shape).configure_rendering(|r| {
            if r.default_shape == 0 && shape.media_range() == r.format.media_range() {
                r.default_shape = r.place_of(Some(shape));
            }
        })
    }

    /// Adds `shape` to those `Accept` may choose, in place of one with the same media type.
    fn add_shape(self, shape: &'static Offered) -> Self {
        static KEPT: Mutex<Vec<&'static Vec<&'static Offered>>> = Mutex::new(Vec::new());
        self.configure_rendering(|r| {
            let mut shapes: Vec<_> = r
                .shapes
                .iter()
                .copied()
                .filter(|s| s.media_range() != shape.media_range())
                .collect();
            // The default keeps its place in the new list, unless the new shape replaces it.
            let default = r
                .shape_at(r.default_shape)
                .filter(|s| s.media_range() != shape.media_range());
            shapes.push(shape);
            r.shapes = keep(shapes, &KEPT).as_slice();
            r.default_shape = r.place_of(default);
        })
    }

    /// Whether `Accept` may choose between `application/json` and `application/problem+json`
    /// (and the shapes offered; default: yes).
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
        static KEPT: Mutex<Vec<&'static String>> = Mutex::new(Vec::new());
        let base: &'static str = match base.into() {
            Cow::Borrowed(base) => base,
            Cow::Owned(base) => keep(base, &KEPT).as_str(),
        };
        self.configure_rendering(|r| r.problem_type_base = Some(base))
    }

    /// The `WWW-Authenticate` challenge added to a 401 that lacks one (default: `Bearer`): a
    /// `&'static str`, a `String` (from configuration) or a `HeaderValue`.
    ///
    /// ```
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let realm = "api";
    /// let layer = ApiErrorLayer::new().challenge(format!("Bearer realm=\"{realm}\""));
    /// # let _ = layer;
    /// ```
    ///
    /// # Panics
    ///
    /// When `challenge` is not a valid header value: a configuration mistake, caught at start.
    #[must_use]
    pub fn challenge<V>(self, challenge: V) -> Self
    where
        V: TryInto<HeaderValue>,
        V::Error: fmt::Debug,
    {
        static KEPT: Mutex<Vec<&'static HeaderValue>> = Mutex::new(Vec::new());
        let challenge = challenge
            .try_into()
            .expect("a WWW-Authenticate challenge is a valid header value");
        let challenge = keep(challenge, &KEPT);
        self.configure_rendering(|r| r.challenge = challenge)
    }

    /// Replaces the classifier that turns inner service errors into responses. It is cloned
    /// into each request's future, so keep it cheap to clone (a closure capturing nothing, or
    /// an `Arc`).
    #[must_use]
    pub fn classify_errors<D: ClassifyError>(self, classifier: D) -> ApiErrorLayer<D> {
        ApiErrorLayer {
            config: self.config,
            classifier,
        }
    }

    /// The in-flight gauge, when [`max_in_flight`](Self::max_in_flight),
    /// [`adaptive_concurrency`](Self::adaptive_concurrency) or [`drain`](Self::drain) is set.
    #[must_use]
    pub fn in_flight(&self) -> Option<InFlight> {
        self.config.in_flight.clone()
    }
}

impl<S, C: Clone> Layer<S> for ApiErrorLayer<C> {
    type Service = ApiErrorService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        if let (Some(drain), Some(in_flight)) = (&self.config.drain, &self.config.in_flight) {
            drain.attach(in_flight);
        }
        #[cfg(feature = "metrics")]
        crate::respond::observe::describe_metrics();
        if let Some(in_flight) = &self.config.in_flight {
            let patterns = self.config.policy.iter().flat_map(MethodPolicy::patterns);
            in_flight.partition(patterns);
            #[cfg(feature = "metrics")]
            in_flight.register_gauges();
        }
        ApiErrorService::new(inner, Arc::clone(&self.config), self.classifier.clone())
    }
}
