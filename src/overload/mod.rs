//! Overload: a limit on requests in flight that answers at once instead of queueing, fixed or
//! adaptive, with priorities.
//!
//! tower's `ConcurrencyLimit` makes callers wait for a permit, and under `Router::layer` it
//! counts per route. This limit is one counter for every service a layer makes, and a request
//! over the limit gets `503 overloaded` with `Retry-After` immediately: a client can retry
//! elsewhere or later, and the server's latency does not grow with its queue.
//!
//! The limit is either a number you choose ([`ApiErrorLayer::max_in_flight`]) or found from
//! measured latency ([`ApiErrorLayer::adaptive_concurrency`], see [`AdaptiveConcurrency`]
//! for the algorithm). A fixed number is a guess: too high and requests queue behind the real
//! bottleneck (a database pool) while the limit admits them all; too low and capacity is thrown
//! away. The adaptive limit follows the service as it is.
//!
//! A permit is held by the response future and released when that future completes or is
//! dropped (a client that disconnects gives its place back at once).
//!
//! ```
//! use std::time::Duration;
//! use tower_api_errors::ApiErrorLayer;
//!
//! let layer = ApiErrorLayer::new().max_in_flight(64).retry_after(Duration::from_secs(2));
//! let gauge = layer.in_flight().expect("a limit is configured");
//! assert_eq!(gauge.current(), 0);
//! assert_eq!(gauge.limit(), 64);
//! ```
//!
//! # Priorities
//!
//! Each request has a [`Criticality`]: from a request extension (set by an outer layer, e.g.
//! after authentication) or else from the route table ([`Resource::critical`],
//! [`Resource::sheddable`]), or else [`Criticality::Normal`].
//!
//! - **Critical** requests (health checks, admin) are never refused by the limiter. They are
//!   counted in flight, so the gauge stays honest, but never measured by the adaptive
//!   controller (a fast health check would hide the latency of the real work).
//! - **Normal** requests are admitted while fewer than the limit are in flight.
//! - **Sheddable** requests are admitted only while fewer than
//!   [three quarters](SHEDDABLE_SHARE_PERCENT) of the limit are in flight: as the limit
//!   tightens they go first, and a quarter of the places stays for normal traffic.
//!
//! ```
//! use axum::{routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::{Layer, ServiceExt};
//! use tower_api_errors::{ApiErrorLayer, Criticality};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let router = Router::new().route("/health", get(|| async { "ok" }));
//! // A limit of zero refuses everything the limiter may refuse.
//! let app = ApiErrorLayer::new().max_in_flight(0).layer(router);
//!
//! let mut health = Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! health.extensions_mut().insert(Criticality::Critical);
//! assert_eq!(app.clone().oneshot(health).await.unwrap().status(), StatusCode::OK);
//!
//! let normal = Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.oneshot(normal).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
//! # }
//! ```
//!
//! [`ApiErrorLayer::max_in_flight`]: crate::ApiErrorLayer::max_in_flight
//! [`ApiErrorLayer::adaptive_concurrency`]: crate::ApiErrorLayer::adaptive_concurrency
//! [`Resource::critical`]: crate::Resource::critical
//! [`Resource::sheddable`]: crate::Resource::sheddable

mod adaptive;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::Request;

pub use self::adaptive::AdaptiveConcurrency;
use self::adaptive::Controller;

/// How much a request matters when the server is overloaded. Insert it as a request extension
/// to decide per request; the route table decides per resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Criticality {
    /// Never refused by the in-flight limit: health checks, admin, the requests that steer the
    /// server.
    Critical,
    /// Admitted while the limit has room.
    #[default]
    Normal,
    /// Admitted only while fewer than [`SHEDDABLE_SHARE_PERCENT`] % of the limit are in
    /// flight: shed first.
    Sheddable,
}

/// The share of the limit, in percent, that sheddable requests may fill.
pub const SHEDDABLE_SHARE_PERCENT: usize = 75;

/// Why admission refused a request.
#[derive(Debug)]
pub(crate) enum Shed {
    /// Over a fixed limit: the layer's `503 overloaded`.
    Overloaded,
    /// The request's deadline is shorter than the service needs: `504 gateway_timeout`.
    DeadlineTooShort,
    /// Over an adaptive limit: `503 overloaded` with this `Retry-After`, computed from the
    /// controller's state. A duration, not the error itself: the admission's result stays small
    /// on the path that admits.
    Adaptive(Duration),
}

/// What the route table says about one resource's requests, handed to admission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteHints {
    pub(crate) timeout: Option<Duration>,
    pub(crate) criticality: Option<Criticality>,
}

/// The in-flight gauge and limit of a layer: every service the layer makes shares it. Clones
/// share it too; keep one to watch the server.
#[derive(Debug, Clone)]
pub struct InFlight {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    count: AtomicUsize,
    /// The limit now: constant when fixed, moved by the controller when adaptive.
    limit: AtomicUsize,
    /// The fixed limit, or the adaptive limit's upper bound.
    max: usize,
    adaptive: Option<Controller>,
    /// `api_in_flight` and `api_concurrency_limit`, registered when the layer is built.
    #[cfg(feature = "metrics")]
    gauges: crate::respond::observe::Gauges,
}

impl InFlight {
    /// A fixed limit.
    pub(crate) fn new(max: usize) -> Self {
        Self::with(max, max, None)
    }

    /// No limit: only counts (for [`Drain`](crate::Drain)).
    pub(crate) fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    /// A limit found from measured latency.
    pub(crate) fn adaptive(config: AdaptiveConcurrency) -> Self {
        let controller = Controller::new(config);
        Self::with(
            controller.initial_limit(),
            config.max_limit,
            Some(controller),
        )
    }

    fn with(limit: usize, max: usize, adaptive: Option<Controller>) -> Self {
        #[cfg(feature = "metrics")]
        let gauges = crate::respond::observe::Gauges::register();
        #[cfg(feature = "metrics")]
        {
            gauges.in_flight(0);
            gauges.limit(limit);
        }
        Self {
            shared: Arc::new(Shared {
                count: AtomicUsize::new(0),
                limit: AtomicUsize::new(limit),
                max,
                adaptive,
                #[cfg(feature = "metrics")]
                gauges,
            }),
        }
    }

    /// Requests in flight now (critical ones included).
    #[must_use]
    pub fn current(&self) -> usize {
        self.shared.count.load(Ordering::Acquire)
    }

    /// The limit now: the fixed one, or where the adaptive controller has put it
    /// (`usize::MAX` when the layer only counts, for a [`Drain`](crate::Drain)).
    #[must_use]
    pub fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Relaxed)
    }

    /// The fixed limit, or the upper bound of the adaptive one.
    #[must_use]
    pub fn max(&self) -> usize {
        self.shared.max
    }

    /// Whether the limit is adaptive.
    #[must_use]
    pub fn is_adaptive(&self) -> bool {
        self.shared.adaptive.is_some()
    }

    /// The adaptive controller's latency baseline: the service's measured latency with no
    /// queue. `None` with a fixed limit, or before the first measurement.
    #[must_use]
    pub fn min_latency(&self) -> Option<Duration> {
        self.shared
            .adaptive
            .as_ref()
            .and_then(Controller::min_latency)
    }

    pub(crate) fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Admits `req`, or refuses it with the error to answer: `503 overloaded` over the limit,
    /// `504 gateway_timeout` when its deadline (`timeout`) is shorter than the service's
    /// measured minimum latency (see [`ApiErrorLayer::deadline_header`](crate::ApiErrorLayer::deadline_header)).
    #[inline(always)]
    pub(crate) fn admit<B>(
        &self,
        req: &Request<B>,
        hints: RouteHints,
        timeout: Option<Duration>,
        retry_after: Duration,
    ) -> Result<Permit, Shed> {
        let criticality = req
            .extensions()
            .get::<Criticality>()
            .copied()
            .or(hints.criticality)
            .unwrap_or_default();
        if let Some(timeout) = timeout {
            let needed = match criticality {
                Criticality::Critical => None,
                _ => self.min_latency(),
            };
            if timeout.is_zero() || needed.is_some_and(|needed| timeout < needed) {
                return Err(Shed::DeadlineTooShort);
            }
        }
        self.try_acquire(criticality)
            .ok_or_else(|| self.overloaded(retry_after))
    }

    /// `503 overloaded`: the layer's own, rendered once, for a fixed limit; with a
    /// `Retry-After` from the controller's state (at least the layer's) when adaptive.
    #[cold]
    #[inline(never)]
    fn overloaded(&self, retry_after: Duration) -> Shed {
        match &self.shared.adaptive {
            Some(controller) => Shed::Adaptive(controller.retry_after(retry_after)),
            None => Shed::Overloaded,
        }
    }

    /// A permit, or `None` when the limit (for `criticality`) is reached.
    #[inline]
    pub(crate) fn try_acquire(&self, criticality: Criticality) -> Option<Permit> {
        let shared = &*self.shared;
        let previous = if criticality == Criticality::Critical || shared.max == usize::MAX {
            shared.count.fetch_add(1, Ordering::AcqRel)
        } else {
            let limit = shared.limit.load(Ordering::Relaxed);
            let room = match criticality {
                Criticality::Sheddable => {
                    limit / 100 * SHEDDABLE_SHARE_PERCENT
                        + limit % 100 * SHEDDABLE_SHARE_PERCENT / 100
                }
                _ => limit,
            };
            shared
                .count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < room).then_some(n + 1)
                })
                .ok()?
        };
        #[cfg(feature = "metrics")]
        shared.gauges.in_flight(previous + 1);
        let sample = match (&shared.adaptive, criticality) {
            (Some(controller), Criticality::Normal | Criticality::Sheddable) => {
                controller.start_sample(previous + 1)
            }
            _ => 0,
        };
        Some(Permit {
            shared: Arc::clone(&self.shared),
            sample,
        })
    }
}

/// One admitted request; dropping it frees the place. A sampled one measures its latency for
/// the adaptive controller when it is [completed](Permit::complete), not when it is only
/// dropped, as a cancelled request is (a client that hangs up after a millisecond says nothing
/// about the service).
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Arc<Shared>,
    /// The adaptive controller's start stamp when this request is a sample, else 0.
    sample: u64,
}

impl Permit {
    /// The request was answered: a sample measures its latency now.
    #[inline]
    pub(crate) fn complete(&mut self) {
        if self.sample != 0 {
            self.record();
            self.sample = 0;
        }
    }

    #[cold]
    #[inline(never)]
    fn record(&self) {
        if let Some(controller) = &self.shared.adaptive {
            controller.record(self.sample, tokio::time::Instant::now(), &self.shared.limit);
            #[cfg(feature = "metrics")]
            self.shared
                .gauges
                .limit(self.shared.limit.load(Ordering::Relaxed));
        }
    }
}

impl Drop for Permit {
    #[inline]
    fn drop(&mut self) {
        let _previous = self.shared.count.fetch_sub(1, Ordering::AcqRel);
        #[cfg(feature = "metrics")]
        self.shared.gauges.in_flight(_previous - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_max_and_releases_on_drop() {
        let limit = InFlight::new(2);
        let a = limit.try_acquire(Criticality::Normal).unwrap();
        let b = limit.try_acquire(Criticality::Normal).unwrap();
        assert!(limit.try_acquire(Criticality::Normal).is_none());
        assert_eq!(limit.current(), 2);
        drop(a);
        let c = limit.try_acquire(Criticality::Normal).unwrap();
        drop((b, c));
        assert_eq!(limit.current(), 0);
    }

    #[test]
    fn zero_admits_nothing_but_critical() {
        let limit = InFlight::new(0);
        assert!(limit.try_acquire(Criticality::Normal).is_none());
        assert!(limit.try_acquire(Criticality::Sheddable).is_none());
        let critical = limit.try_acquire(Criticality::Critical).unwrap();
        assert_eq!(limit.current(), 1);
        drop(critical);
        assert_eq!(limit.current(), 0);
    }

    #[test]
    fn sheddable_fills_three_quarters_and_critical_goes_over() {
        let limit = InFlight::new(8);
        let sheddable: Vec<_> = std::iter::from_fn(|| limit.try_acquire(Criticality::Sheddable))
            .take(100)
            .collect();
        assert_eq!(sheddable.len(), 6);
        let normal: Vec<_> = std::iter::from_fn(|| limit.try_acquire(Criticality::Normal))
            .take(100)
            .collect();
        assert_eq!(normal.len(), 2);
        let critical: Vec<_> = (0..5)
            .map(|_| limit.try_acquire(Criticality::Critical).unwrap())
            .collect();
        assert_eq!(limit.current(), 13);
        drop((sheddable, normal, critical));
        assert_eq!(limit.current(), 0);
    }

    #[test]
    fn the_extension_wins_over_the_route_table() {
        let limit = InFlight::new(0);
        let hints = RouteHints {
            criticality: Some(Criticality::Critical),
            ..RouteHints::default()
        };
        let plain = Request::new(());
        assert!(limit.admit(&plain, hints, None, Duration::ZERO).is_ok());
        let mut marked = Request::new(());
        marked.extensions_mut().insert(Criticality::Sheddable);
        let refused = limit.admit(&marked, hints, None, Duration::from_secs(2));
        // A fixed limit answers with the layer's own `503 overloaded`, rendered once.
        assert!(matches!(refused, Err(Shed::Overloaded)));
    }

    #[test]
    fn a_zero_deadline_is_refused_before_taking_a_place() {
        let limit = InFlight::new(1);
        let error = limit
            .admit(
                &Request::new(()),
                RouteHints::default(),
                Some(Duration::ZERO),
                Duration::ZERO,
            )
            .unwrap_err();
        assert!(matches!(error, Shed::DeadlineTooShort));
        assert_eq!(limit.current(), 0);
    }
}
