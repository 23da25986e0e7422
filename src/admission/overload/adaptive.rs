//! [`AdaptiveConcurrency`]: the settings of the adaptive limit, and how it moves.

use std::time::Duration;

/// Settings of the adaptive in-flight limit
/// ([`Limit::adaptive`](crate::overload::Limit::adaptive)).
/// The defaults need no tuning; the bounds are there to cap what a misbehaving measurement can
/// do. Every value is clamped to a sane range rather than refused.
///
/// # One limit per resource, one cap over them
///
/// With a route table ([`method_policy`](crate::ApiErrorLayer::method_policy), or
/// [`ApiRouter`](crate::routing::ApiRouter)), each resource of the table has a limit of its
/// own, with its own latency baseline, and the requests no resource matches share one more.
/// A slow resource (a report behind a busy database) is then shed on its own, while a
/// resource answering at its baseline keeps being admitted. Over all of them,
/// [`max_limit`](Self::max_limit) caps the requests in flight of the whole layer: the process
/// is protected even when every resource is busy. Without a route table, the layer is one
/// resource.
///
/// These are independent loops, one per resource, each steering only its own admission; none
/// reads another's latency. Envoy's maintainers declined per-route loops in one filter because
/// loops that act on the same traffic fight each other; here each loop acts on traffic no other
/// loop sees, and two resources behind one bottleneck both see its latency and both back off,
/// which is what a shared bottleneck needs.
///
/// # How each limit moves
///
/// The controller is a gradient controller in the style of Envoy's adaptive concurrency filter
/// and Netflix's `Gradient2`, made cheap enough for every request:
///
/// 1. **Baseline.** The resource's latency with no queue (`min_latency`) is measured in a
///    *probe*: for one window the limit is halved, and the mean latency of requests admitted
///    during the probe becomes the baseline. At start-up the limit is the
///    [initial limit](Self::initial_limit), so that a cold burst is served, and the baseline
///    is what the first quarter of it measures (requests admitted while at most a quarter of
///    the initial limit was in flight: the rest may queue behind a small pool). Between
///    probes the baseline only goes down (a window faster than it). A probe runs again every
///    [`probe_interval`](Self::probe_interval) (plus up to a quarter of it, so that a fleet
///    does not probe in step), and when latency has stayed at 2.5 × the baseline or more for
///    5 windows although the limit halved at each (the service got slower for good, and the
///    old baseline is wrong; Envoy's trigger is similar, 5 windows at the minimum limit).
/// 2. **Samples.** Completed requests are timed from admission to response head, 1 in *N*:
///    *N* is a power of two up to 16, chosen each window so that a window has about 32
///    samples, so busy servers read the clock rarely and quiet ones on every request.
///    Cancelled requests are not samples, nor are critical ones. **A failure** (status 400 or
///    more, an inner error, a panic, a deadline) **is a sample only when it took at least the
///    baseline**: a fast failure (a 404 for a path nobody serves, a 401, a 400 for a rejected
///    body) is answered before the work and says nothing of it, and would pull the baseline
///    down; a slow one (a 500 after a database timeout) says that the work is slow.
/// 3. **Windows close by time.** A window closes once [`window`](Self::window) has passed
///    with 16 samples, or, with fewer, once twice its mean latency has passed too: a 400 ms
///    service moves its limit about every second, a 2 s one every 4 s.
/// 4. **Gradient.** When a window closes, with `avg` its mean latency:
///    `gradient = clamp((1 + tolerance) × min_latency / avg, 0.5, 2)` and
///    `limit = clamp(gradient × limit + 1, min_limit, max_limit)`. When requests queue
///    behind a bottleneck, latency grows with the queue and the limit shrinks until the queue
///    is about `tolerance` of the work in service; when latency is flat the limit grows by a
///    quarter (plus one) per window. The growth only happens when the limit was reached (a
///    request was refused, or a sampled admission found more than half the limit in flight),
///    so a quiet resource does not wander up to `max_limit` and then let a burst queue.
///
/// Under a queue behind `P` connections, the limit settles near `1.25 × P + 1`: admitted
/// requests wait about a quarter of a service time, and the rest is answered `503` at once.
///
/// # Retry-After
///
/// A refusal's `Retry-After` is the time the resource's requests in flight take to drain at
/// its recent completion rate (by Little's law, about its latency under load): when a place
/// frees for a new request. It is at least the limit's
/// [`retry_after`](crate::overload::Limit::retry_after), never under 1 s (sooner invites a retry
/// storm) nor over a minute, and spread over `[base, 2 × base]` so that refused clients do not
/// come back in step. How often clients come back does not enter it: a client retrying in a
/// tight loop does not make the polite ones wait longer.
///
/// # Cost
///
/// Admission is one route lookup, one compare-and-swap for the resource and one for the cap,
/// and one relaxed increment (the sampling ticket). A sampled request reads the clock twice
/// and adds to three counters. Once per window, one completing request takes a `try_lock`
/// (never waits) and computes the new limit. Nothing allocates.
///
/// ```
/// use std::time::Duration;
/// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
/// use tower_api_errors::ApiErrorLayer;
///
/// let limit = Limit::adaptive(AdaptiveConcurrency::default().min_limit(2).max_limit(256));
/// let layer = ApiErrorLayer::new().timeout(Duration::from_secs(2)).limit(limit);
/// // What each service of the layer starts with:
/// let gauge = InFlight::new(limit);
/// assert!(gauge.is_adaptive());
/// assert_eq!(gauge.limit(), 16); // the initial limit, until the first measurement
/// assert_eq!(gauge.max(), 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveConcurrency {
    min_limit: usize,
    pub(super) max_limit: usize,
    initial_limit: usize,
    pub(super) tolerance: f64,
    pub(super) window: Duration,
    pub(super) probe_interval: Duration,
}

/// The highest value any limit setting takes: a million requests in flight is past what one
/// process serves, and keeps every sum of limits far from overflowing.
const MAX_LIMIT: usize = 1_000_000;
/// The longest window: a minute. A controller that learns less often than that does not steer.
const MAX_WINDOW: Duration = Duration::from_secs(60);
/// The longest probe interval: a day.
const MAX_PROBE_INTERVAL: Duration = Duration::from_secs(86_400);

impl Default for AdaptiveConcurrency {
    /// Limit between 1 and 1000 (the cap over all resources), starting at 16; tolerance
    /// 25 %; 100 ms windows; a probe every 30 s.
    fn default() -> Self {
        Self {
            min_limit: 1,
            max_limit: 1000,
            initial_limit: 16,
            tolerance: 0.25,
            window: Duration::from_millis(100),
            probe_interval: Duration::from_secs(30),
        }
    }
}

impl AdaptiveConcurrency {
    /// The lowest limit of each resource (default 1; clamped to 1 ..= 1 000 000).
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// // Clamped, never a panic nor an unbounded limit: at most `max_limit`.
    /// let gauge = InFlight::new(Limit::adaptive(
    ///     AdaptiveConcurrency::default().min_limit(usize::MAX),
    /// ));
    /// assert_eq!(gauge.max(), 1000);
    /// assert_eq!(gauge.limit(), 1000);
    /// ```
    #[must_use]
    pub fn min_limit(mut self, min: usize) -> Self {
        self.min_limit = min.clamp(1, MAX_LIMIT);
        self
    }

    /// The highest limit of each resource, and the cap on the requests in flight of the whole
    /// layer, all resources together (default 1000; clamped to 1 ..= 1 000 000).
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// let gauge = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default().max_limit(200)));
    /// assert_eq!(gauge.max(), 200);
    /// ```
    #[must_use]
    pub fn max_limit(mut self, max: usize) -> Self {
        self.max_limit = max.clamp(1, MAX_LIMIT);
        self
    }

    /// Each resource's limit before its first measurement (default 16: a cold burst is served);
    /// the first quarter of it measures the baseline.
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// let gauge = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default().initial_limit(32)));
    /// assert_eq!(gauge.limit(), 32);
    /// ```
    #[must_use]
    pub fn initial_limit(mut self, initial: usize) -> Self {
        self.initial_limit = initial.clamp(1, MAX_LIMIT);
        self
    }

    /// How much latency over the baseline counts as "no queue" (default 0.25: 25 %; clamped to
    /// 0 ..= 10). Higher admits more queueing, for services whose latency varies a lot with
    /// load even without a queue.
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// // Latency that varies with load even without a queue: allow 50 % over the baseline.
    /// let adaptive = AdaptiveConcurrency::default().tolerance(0.5);
    /// let _ = ApiErrorLayer::new().limit(Limit::adaptive(adaptive));
    /// ```
    #[must_use]
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = if tolerance.is_finite() {
            tolerance.clamp(0.0, 10.0)
        } else {
            0.25
        };
        self
    }

    /// How often a limit may be recomputed (default 100 ms; clamped to 1 ms ..= 1 min). A
    /// window with fewer than 16 samples also waits for twice its mean latency.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let adaptive = AdaptiveConcurrency::default().window(Duration::from_millis(250));
    /// let _ = ApiErrorLayer::new().limit(Limit::adaptive(adaptive));
    /// ```
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.clamp(Duration::from_millis(1), MAX_WINDOW);
        self.probe_interval = self.probe_interval.max(self.window);
        self
    }

    /// How often the baseline is measured again (default 30 s; clamped to the window ..= a
    /// day).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// // "Never" is a day: the layer builds, and the baseline still follows a slower service.
    /// let never = AdaptiveConcurrency::default().probe_interval(Duration::MAX);
    /// let _ = ApiErrorLayer::new().limit(Limit::adaptive(never));
    /// ```
    #[must_use]
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval.clamp(self.window, MAX_PROBE_INTERVAL);
        self
    }

    /// Each resource's limit bounds: `min_limit ..= max_limit`.
    pub(super) fn bounds(&self) -> (usize, usize) {
        (self.min_limit.min(self.max_limit), self.max_limit)
    }

    /// The initial limit within the bounds.
    pub(super) fn initial(&self) -> usize {
        let (min, max) = self.bounds();
        self.initial_limit.clamp(min, max)
    }
}
