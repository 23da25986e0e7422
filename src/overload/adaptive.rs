//! The adaptive limit: a gradient controller on sampled latency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Settings of the adaptive in-flight limit
/// ([`ApiErrorLayer::adaptive_concurrency`](crate::ApiErrorLayer::adaptive_concurrency)).
/// The defaults need no tuning; the bounds are there to cap what a misbehaving measurement can
/// do.
///
/// # How the limit moves
///
/// The controller is a gradient controller in the style of Envoy's adaptive concurrency filter
/// and Netflix's `Gradient2`, made cheap enough for every request:
///
/// 1. **Baseline.** The service's latency with no queue (`min_latency`) is measured in a
///    *probe*: for one window the limit is halved (at start-up it is the initial limit), and
///    the mean latency of requests admitted during the probe becomes the baseline. Between
///    probes the baseline only goes down (a window faster than it). A probe runs again every
///    [`probe_interval`](Self::probe_interval) (plus up to a quarter of it, so that a fleet
///    does not probe in step), and when latency has stayed at 2.5 × the baseline or more for
///    5 windows although the limit halved at each (no queue survives that: the service got
///    slower for good, and the old baseline is wrong; Envoy's trigger is similar, 5 windows
///    at the minimum limit). Halving, rather than
///    dropping to the minimum as Envoy does, keeps most of the throughput during a probe: the
///    limit settles near 1.25 × the concurrency the service can really serve, so half of it
///    is below that and queues nothing.
/// 2. **Samples.** Completed requests are timed from admission to response head, 1 in *N*:
///    *N* is a power of two up to 16, chosen each window so that a window has about 32
///    samples, so busy servers read the clock rarely and quiet ones on every request.
///    Cancelled requests are not samples. A window with fewer than 16 samples stays open; when
///    traffic falls so much that it stays open 10 windows long, it closes without moving the
///    limit and sampling goes back to every request.
/// 3. **Gradient.** At the end of each [`window`](Self::window) (and at least 16 samples),
///    with `avg` the window's mean latency:
///    `gradient = clamp((1 + tolerance) × min_latency / avg, 0.5, 2)` and
///    `limit = clamp(gradient × limit + 1, min_limit, max_limit)`. When requests queue
///    behind a bottleneck, latency grows with the queue and the limit shrinks until the queue
///    is about `tolerance` of the work in service; when latency is flat the limit grows by a
///    quarter (plus one) per window. The growth is bounded: it only happens when the limit
///    was reached (a request was refused, or a sampled admission found more than half the
///    limit in flight), so a quiet service does not wander up to `max_limit` and then let a
///    burst queue.
///
/// Under a queue behind `P` connections, the limit settles near `1.25 × P + 1`: admitted
/// requests wait about a quarter of a service time, and the rest is answered `503` at once.
///
/// # Cost
///
/// Admission is one load and one compare-and-swap, as for a fixed limit, plus one relaxed
/// increment (the sampling ticket). A sampled request reads the clock twice and adds to three
/// counters. Once per window, one completing request takes a `try_lock` (never waits) and
/// computes the new limit. Nothing allocates.
///
/// ```
/// use std::time::Duration;
/// use tower_api_errors::{AdaptiveConcurrency, ApiErrorLayer};
///
/// let layer = ApiErrorLayer::new()
///     .timeout(Duration::from_secs(2))
///     .adaptive_concurrency(AdaptiveConcurrency::default().min_limit(2).max_limit(256));
/// let gauge = layer.in_flight().unwrap();
/// assert!(gauge.is_adaptive());
/// assert_eq!(gauge.limit(), 4); // the initial limit, until the first measurement
/// assert_eq!(gauge.max(), 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveConcurrency {
    pub(super) min_limit: usize,
    pub(super) max_limit: usize,
    initial_limit: usize,
    tolerance: f64,
    window: Duration,
    probe_interval: Duration,
}

impl Default for AdaptiveConcurrency {
    /// Limit between 1 and 1000, starting at 4; tolerance 25 %; 100 ms windows; a probe every
    /// 30 s.
    fn default() -> Self {
        Self {
            min_limit: 1,
            max_limit: 1000,
            initial_limit: 4,
            tolerance: 0.25,
            window: Duration::from_millis(100),
            probe_interval: Duration::from_secs(30),
        }
    }
}

impl AdaptiveConcurrency {
    /// The lowest limit (default 1, at least 1).
    #[must_use]
    pub fn min_limit(mut self, min: usize) -> Self {
        self.min_limit = min.max(1);
        self
    }

    /// The highest limit (default 1000).
    #[must_use]
    pub fn max_limit(mut self, max: usize) -> Self {
        self.max_limit = max.max(1);
        self
    }

    /// The limit before the first measurement (default 4); also the concurrency of the first
    /// probe, so keep it low.
    #[must_use]
    pub fn initial_limit(mut self, initial: usize) -> Self {
        self.initial_limit = initial.max(1);
        self
    }

    /// How much latency over the baseline counts as "no queue" (default 0.25: 25 %). Higher
    /// admits more queueing, for services whose latency varies a lot with load even without a
    /// queue.
    #[must_use]
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = if tolerance.is_finite() {
            tolerance.clamp(0.0, 10.0)
        } else {
            0.25
        };
        self
    }

    /// How often the limit is recomputed (default 100 ms; a window also needs 16 samples).
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_millis(1));
        self
    }

    /// How often the baseline is measured again (default 30 s).
    #[must_use]
    pub fn probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval.max(self.window);
        self
    }

    fn bounds(&self) -> (usize, usize) {
        (self.min_limit, self.max_limit.max(self.min_limit))
    }
}

/// Samples per window below which a window stays open.
const MIN_SAMPLES: u64 = 16;
/// At most 1 in 16 requests is left unsampled between samples, whatever the rate: when
/// traffic falls, samples (and so windows) keep coming.
const MAX_SAMPLE_MASK: u64 = 15;
/// Consecutive windows with the gradient at its floor that trigger a probe.
const AT_FLOOR_PROBE: u32 = 5;
/// Longest `Retry-After` (a day).
const MAX_RETRY_AFTER_SECS: f64 = 86_400.0;

/// The controller's shared state. Counters are atomics touched by requests; [`State`] is only
/// touched by the one request that closes a window.
#[derive(Debug)]
pub(crate) struct Controller {
    config: AdaptiveConcurrency,
    epoch: Instant,
    /// Admissions (critical requests excluded): the sampling ticket and the drain rate.
    tickets: AtomicU64,
    sample_mask: AtomicU64,
    rejected: AtomicU64,
    sum_micros: AtomicU64,
    samples: AtomicU64,
    /// The most requests in flight a sampled admission saw this window.
    peak: AtomicUsize,
    /// Nanoseconds after `epoch` when the window may close.
    window_due: AtomicU64,
    /// While probing: 1 + nanoseconds after `epoch` when the probe began; 0 otherwise.
    probe_start: AtomicU64,
    min_latency_micros: AtomicU64,
    /// Unjittered `Retry-After`, in milliseconds.
    retry_after_millis: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: f64,
    /// While probing: the limit to go back to.
    probing: Option<f64>,
    window_start: Instant,
    last_tickets: u64,
    last_rejected: u64,
    /// Consecutive windows with the gradient at its floor.
    at_floor: u32,
    next_probe: Instant,
    probes: u64,
    /// Smoothed refused-to-admitted ratio.
    excess: f64,
}

impl Controller {
    pub(crate) fn new(config: AdaptiveConcurrency) -> Self {
        let (min, max) = config.bounds();
        let initial = config.initial_limit.clamp(min, max);
        let epoch = Instant::now();
        Self {
            config,
            epoch,
            tickets: AtomicU64::new(0),
            sample_mask: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            peak: AtomicUsize::new(0),
            window_due: AtomicU64::new(nanos(config.window)),
            // The first window is a probe, at the initial limit, from the start.
            probe_start: AtomicU64::new(1),
            min_latency_micros: AtomicU64::new(0),
            retry_after_millis: AtomicU64::new(0),
            state: Mutex::new(State {
                limit: initial as f64,
                probing: Some(initial as f64),
                window_start: epoch,
                last_tickets: 0,
                last_rejected: 0,
                at_floor: 0,
                next_probe: epoch + config.probe_interval,
                probes: 0,
                excess: 0.0,
            }),
        }
    }

    pub(crate) fn initial_limit(&self) -> usize {
        let (min, max) = self.config.bounds();
        self.config.initial_limit.clamp(min, max)
    }

    pub(crate) fn min_latency(&self) -> Option<Duration> {
        match self.min_latency_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// Called on admission with the count in flight including this request: when this request
    /// is a sample, its start stamp (1 + nanoseconds since the epoch), else 0. (A stamp rather
    /// than an `Option<Instant>` keeps the permit, and so the response future, small.)
    #[inline]
    pub(crate) fn start_sample(&self, in_flight: usize) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        if ticket & self.sample_mask.load(Ordering::Relaxed) != 0 {
            return 0;
        }
        self.peak.fetch_max(in_flight, Ordering::Relaxed);
        self.since_epoch(Instant::now()) + 1
    }

    /// A sampled request (its `start_sample` stamp) completed at `end`; maybe closes the
    /// window.
    pub(crate) fn record(&self, stamp: u64, end: Instant, limit: &AtomicUsize) {
        let probe = self.probe_start.load(Ordering::Acquire);
        if probe != 0 && stamp < probe {
            // Admitted before the probe lowered the limit: it may have queued.
            return;
        }
        let nanos = self.since_epoch(end).saturating_sub(stamp - 1);
        let micros = (nanos / 1_000).max(1);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.samples.fetch_add(1, Ordering::Relaxed);
        if self.since_epoch(end) >= self.window_due.load(Ordering::Relaxed) {
            // One request closes the window; the others go on.
            if let Ok(mut state) = self.state.try_lock() {
                self.close_window(&mut state, end, limit);
            }
        }
    }

    /// The `Retry-After` of a refusal: the refused work of the last second, in seconds of
    /// work at the recent drain rate, at least `floor` and 1 s, at most a day, spread over
    /// `[base, 2 × base]` by a hash of the refusal count (no clock, no lock).
    pub(crate) fn retry_after(&self, floor: Duration) -> Duration {
        let n = self.rejected.fetch_add(1, Ordering::Relaxed);
        let base = Duration::from_millis(self.retry_after_millis.load(Ordering::Relaxed))
            .max(floor)
            .as_secs_f64()
            .max(1.0);
        let jitter = unit_interval(splitmix64(n));
        let secs = (base * (1.0 + jitter))
            .round()
            .clamp(1.0, MAX_RETRY_AFTER_SECS);
        // Within 1..=86400: an exact conversion.
        Duration::from_secs(secs as u64)
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        nanos(at.saturating_duration_since(self.epoch))
    }

    fn close_window(&self, state: &mut State, now: Instant, limit: &AtomicUsize) {
        let enough = self.samples.load(Ordering::Relaxed) >= MIN_SAMPLES;
        // Traffic fell and samples with it: after 10 windows, close the window anyway to
        // sample more often again, but move the limit only on enough samples.
        let overdue = now.saturating_duration_since(state.window_start) >= self.config.window * 10;
        if !enough && !overdue {
            return;
        }
        let samples = self.samples.swap(0, Ordering::Relaxed);
        let sum = self.sum_micros.swap(0, Ordering::Relaxed);
        let peak = self.peak.swap(0, Ordering::Relaxed);
        let avg = (sum as f64 / samples.max(1) as f64).max(1.0);
        let elapsed = now.saturating_duration_since(state.window_start);
        state.window_start = now;

        let tickets = self.tickets.load(Ordering::Relaxed);
        let rejected = self.rejected.load(Ordering::Relaxed);
        let admitted = tickets.wrapping_sub(state.last_tickets);
        let refused = rejected.wrapping_sub(state.last_rejected);
        state.last_tickets = tickets;
        state.last_rejected = rejected;

        // Retry-After: refused per admitted is the excess over the drain rate; a second of it
        // takes that many seconds to serve.
        if admitted > 0 {
            let ratio = refused as f64 / admitted as f64;
            state.excess = 0.5 * state.excess + 0.5 * ratio;
            let millis = (state.excess * 1000.0).min(MAX_RETRY_AFTER_SECS * 1000.0);
            self.retry_after_millis
                .store(millis as u64, Ordering::Relaxed);
        }
        // About 2 × MIN_SAMPLES samples per window at this rate.
        let per_window = admitted
            .saturating_mul(nanos(self.config.window))
            .checked_div(nanos(elapsed).max(1))
            .unwrap_or(admitted);
        let every = per_window / (2 * MIN_SAMPLES);
        let mask = if every <= 1 {
            0
        } else {
            ((1_u64 << (63 - every.leading_zeros())) - 1).min(MAX_SAMPLE_MASK)
        };
        if !enough {
            self.sample_mask.store(0, Ordering::Relaxed);
            self.window_due.store(
                self.since_epoch(now) + nanos(self.config.window),
                Ordering::Relaxed,
            );
            return;
        }

        let (min, max) = self.config.bounds();
        let (min_f, max_f) = (min as f64, max as f64);
        if let Some(restore) = state.probing.take() {
            // The probe's mean is the new baseline.
            self.min_latency_micros.store(avg as u64, Ordering::Relaxed);
            state.limit = restore;
            state.at_floor = 0;
            state.probes += 1;
            let spread = unit_interval(splitmix64(state.probes)) / 4.0;
            state.next_probe = now + self.config.probe_interval.mul_f64(1.0 + spread);
            self.probe_start.store(0, Ordering::Release);
        } else {
            let baseline = match self.min_latency_micros.load(Ordering::Relaxed) {
                0 => avg,
                micros => (micros as f64).min(avg),
            };
            self.min_latency_micros
                .store(baseline as u64, Ordering::Relaxed);
            let gradient = ((1.0 + self.config.tolerance) * baseline / avg).clamp(0.5, 2.0);
            let reached = refused > 0 || peak.saturating_mul(2) >= state.limit as usize;
            let next = if gradient >= 1.0 && !reached {
                state.limit
            } else {
                gradient * state.limit + 1.0
            };
            state.limit = next.clamp(min_f, max_f);
            state.at_floor = if gradient <= 0.5 {
                state.at_floor + 1
            } else {
                0
            };
            if state.at_floor >= AT_FLOOR_PROBE || now >= state.next_probe {
                state.probing = Some(state.limit);
                state.limit = (state.limit / 2.0).floor().max(min_f);
                self.probe_start
                    .store(self.since_epoch(now) + 1, Ordering::Release);
            }
        }
        let mask = if state.probing.is_some() { 0 } else { mask };
        self.sample_mask.store(mask, Ordering::Relaxed);
        limit.store(state.limit as usize, Ordering::Relaxed);
        self.window_due.store(
            self.since_epoch(now) + nanos(self.config.window),
            Ordering::Relaxed,
        );
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A well-mixed 64-bit hash of `n` (SplitMix64's finalizer): jitter without a random number
/// generator or its lock.
fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `[0, 1)` from the top 53 bits of `bits`.
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1_u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overload::{Criticality, InFlight, Permit};

    /// A service behind `pool` connections that each take `service` per request, driven in
    /// rounds: each round admits as many requests as the limit takes (plus one that is
    /// refused: the limit is reached), they all take `service × max(1, admitted / pool)`, and
    /// complete together. Returns the limit after each round.
    async fn rounds(
        gauge: &InFlight,
        rounds: usize,
        service: Duration,
        pool: Option<usize>,
    ) -> Vec<usize> {
        let mut limits = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let mut permits = Vec::new();
            while let Some(permit) = gauge.try_acquire(Criticality::Normal) {
                permits.push(permit);
            }
            if let Some(controller) = &gauge.shared.adaptive {
                let _ = controller.retry_after(Duration::ZERO);
            }
            // A fluid queue: over the pool, latency grows with the queue.
            let load = pool.map_or(1.0, |pool| (permits.len() as f64 / pool as f64).max(1.0));
            tokio::time::advance(service.mul_f64(load)).await;
            permits.iter_mut().for_each(Permit::complete);
            drop(permits);
            limits.push(gauge.limit());
        }
        limits
    }

    fn adaptive(config: AdaptiveConcurrency) -> InFlight {
        InFlight::adaptive(config)
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_rises_while_latency_stays_flat_and_stops_at_max() {
        let gauge = adaptive(AdaptiveConcurrency::default().max_limit(200));
        let limits = rounds(&gauge, 400, Duration::from_millis(10), None).await;
        assert_eq!(gauge.min_latency(), Some(Duration::from_millis(10)));
        assert!(limits.windows(2).all(|w| w[1] >= w[0]), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 200, "{limits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_settles_near_the_pool_when_requests_queue() {
        let gauge = adaptive(AdaptiveConcurrency::default());
        let limits = rounds(&gauge, 600, Duration::from_millis(10), Some(8)).await;
        let settled = &limits[300..];
        // Over the pool, latency doubles; at or under it, it is flat.
        assert!(
            settled.iter().all(|&l| (8..=16).contains(&l)),
            "{settled:?}"
        );
        assert_eq!(gauge.min_latency(), Some(Duration::from_millis(10)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_falls_when_latency_grows() {
        let gauge = adaptive(AdaptiveConcurrency::default().max_limit(100));
        let high = rounds(&gauge, 300, Duration::from_millis(10), None).await;
        assert_eq!(*high.last().unwrap(), 100);
        // The same service now queues behind 4 connections.
        let low = rounds(&gauge, 100, Duration::from_millis(10), Some(4)).await;
        assert!(low.windows(2).take(10).all(|w| w[1] <= w[0]), "{low:?}");
        assert!(*low.last().unwrap() <= 8, "{low:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn bounds_hold() {
        let gauge = adaptive(AdaptiveConcurrency::default().min_limit(3).max_limit(20));
        let limits = rounds(&gauge, 300, Duration::from_millis(10), None).await;
        assert!(limits.iter().all(|l| (3..=20).contains(l)), "{limits:?}");
        assert_eq!(*limits.last().unwrap(), 20);
        // One connection: the controller would go below 3 if it could.
        let limits = rounds(&gauge, 300, Duration::from_millis(10), Some(1)).await;
        assert!(limits.iter().all(|l| (3..=20).contains(l)), "{limits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slower_service_is_probed_again_and_the_limit_recovers() {
        let gauge = adaptive(AdaptiveConcurrency::default().max_limit(64));
        rounds(&gauge, 300, Duration::from_millis(10), Some(8)).await;
        assert_eq!(gauge.min_latency(), Some(Duration::from_millis(10)));
        // The database got four times slower: the old baseline says "queue", the limit halves
        // window after window, and after 5 of them a probe measures the new baseline.
        let limits = rounds(&gauge, 600, Duration::from_millis(40), Some(8)).await;
        assert!(limits.iter().any(|&l| l <= 2), "{limits:?}");
        assert_eq!(gauge.min_latency(), Some(Duration::from_millis(40)));
        assert!(
            limits[400..].iter().all(|&l| (8..=16).contains(&l)),
            "{limits:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_baseline_is_probed_again_periodically_at_half_the_limit() {
        let config = AdaptiveConcurrency::default().probe_interval(Duration::from_secs(5));
        let gauge = adaptive(config);
        let limits = rounds(&gauge, 1500, Duration::from_millis(10), Some(8)).await;
        // Each probe halves the limit for a window: in 15 s at least two probes.
        let halvings = limits
            .windows(2)
            .filter(|w| w[1] <= w[0] / 2 && w[0] >= 8)
            .count();
        assert!(halvings >= 2, "{limits:?}");
        assert!(
            limits[1400..].iter().filter(|&&l| l >= 8).count() > 80,
            "{limits:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_grows_with_the_excess_and_is_jittered() {
        let gauge = adaptive(AdaptiveConcurrency::default().max_limit(4));
        let controller = gauge.shared.adaptive.as_ref().unwrap();
        // Ten refusals per admission, per round.
        for _ in 0..200 {
            let mut permits: Vec<_> = std::iter::from_fn(|| gauge.try_acquire(Criticality::Normal))
                .take(100)
                .collect();
            for _ in 0..permits.len() * 10 {
                let _ = controller.retry_after(Duration::ZERO);
            }
            tokio::time::advance(Duration::from_millis(10)).await;
            permits.iter_mut().for_each(Permit::complete);
            drop(permits);
        }
        let seen: Vec<u64> = (0..1000)
            .map(|_| controller.retry_after(Duration::ZERO).as_secs())
            .collect();
        // 10 s of excess per second, spread over [10, 20].
        assert!(seen.iter().all(|s| (10..=20).contains(s)), "{seen:?}");
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert!(distinct.len() > 5, "{distinct:?}");
        // Clamped below and above.
        assert!(
            controller
                .retry_after(Duration::from_secs(1_000_000))
                .as_secs()
                <= 86_400
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sampling_comes_back_when_traffic_falls() {
        let gauge = adaptive(AdaptiveConcurrency::default().max_limit(400));
        let controller = gauge.shared.adaptive.as_ref().unwrap();
        // Busy: hundreds of requests per window, 1 in 16 sampled.
        rounds(&gauge, 3000, Duration::from_millis(1), None).await;
        assert_eq!(gauge.limit(), 400);
        assert_eq!(controller.sample_mask.load(Ordering::Relaxed), 15);
        let busy_limit = gauge.limit();
        // Quiet: one request every 50 ms. Windows close anyway, without moving the limit.
        for _ in 0..60 {
            let mut permit = gauge.try_acquire(Criticality::Normal).unwrap();
            tokio::time::advance(Duration::from_millis(1)).await;
            permit.complete();
            tokio::time::advance(Duration::from_millis(49)).await;
        }
        assert_eq!(controller.sample_mask.load(Ordering::Relaxed), 0);
        assert_eq!(gauge.limit(), busy_limit);
    }

    #[test]
    fn jitter_is_uniform_enough() {
        let below_half = (0..10_000)
            .filter(|&n| unit_interval(splitmix64(n)) < 0.5)
            .count();
        assert!((4_500..5_500).contains(&below_half), "{below_half}");
    }
}
