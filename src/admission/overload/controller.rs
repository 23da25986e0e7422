//! One resource's control loop: a gradient controller on sampled latency, with windows that
//! close by time, a baseline measured in probes, and the drain rate behind `Retry-After`.
//! Documented on [`AdaptiveConcurrency`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::adaptive::AdaptiveConcurrency;

/// Samples that close a window as soon as [`AdaptiveConcurrency::window`] has passed. With
/// fewer, a window stays open until twice its mean latency has passed too (a slow service
/// still moves its limit, a fast one is not steered by a handful of requests).
const MIN_SAMPLES: u64 = 16;
/// At most 1 in 16 requests is left unsampled between samples, whatever the rate: when
/// traffic falls, samples (and so windows) keep coming.
const MAX_SAMPLE_MASK: u64 = 15;
/// Consecutive windows with the gradient at its floor that trigger a probe.
const AT_FLOOR_PROBE: u32 = 5;
/// The bounds of an overload refusal's `Retry-After`, in seconds: come back no sooner than a
/// second (sooner invites a retry storm), and no later than a minute (overload passes; a
/// client told to stay away for longer goes elsewhere for good).
const RETRY_AFTER_SECS: (f64, f64) = (1.0, 60.0);
/// Set in a sample's stamp when the request is timed but its latency is not the resource's
/// work at low concurrency (admitted during the cold probe with many in flight): it can close
/// a window, not move the baseline.
const NOT_A_SAMPLE: u64 = 1 << 63;

/// The controller of one resource. Counters are atomics touched by requests; [`State`] is
/// only touched by the one request that closes a window.
#[derive(Debug)]
pub(crate) struct Controller {
    config: AdaptiveConcurrency,
    epoch: Instant,
    /// Admissions (critical requests excluded): the sampling ticket and the drain rate.
    tickets: AtomicU64,
    sample_mask: AtomicU64,
    /// Refusals this window: the limit was reached.
    refused: AtomicU64,
    /// Refusals ever: the seed of the jitter.
    refusals: AtomicU64,
    sum_micros: AtomicU64,
    samples: AtomicU64,
    /// The most requests in flight a sampled admission saw this window.
    peak: AtomicUsize,
    /// Nanoseconds after `epoch` before which the window stays open.
    window_due: AtomicU64,
    /// While probing: 1 + nanoseconds after `epoch` when the probe began; 0 otherwise.
    probe_start: AtomicU64,
    /// While probing: admissions that find more in flight than this are not samples.
    probe_concurrency: AtomicUsize,
    min_latency_micros: AtomicU64,
    /// Requests completed per second, smoothed (`f64` bits; 0 before the first window).
    drain_rate: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: f64,
    /// While probing: the limit to go back to.
    probing: Option<f64>,
    window_start: Instant,
    last_tickets: u64,
    /// Consecutive windows with the gradient at its floor.
    at_floor: u32,
    next_probe: Instant,
    probes: u64,
}

impl Controller {
    pub(crate) fn new(config: AdaptiveConcurrency) -> Self {
        let initial = config.initial();
        let epoch = Instant::now();
        Self {
            config,
            epoch,
            tickets: AtomicU64::new(0),
            sample_mask: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
            samples: AtomicU64::new(0),
            peak: AtomicUsize::new(0),
            window_due: AtomicU64::new(nanos(config.window)),
            // The first window is a probe from the start. The initial limit admits a cold
            // burst, but the baseline is what the first quarter of it measures: a queue behind
            // a small pool would make the rest slow.
            probe_start: AtomicU64::new(1),
            probe_concurrency: AtomicUsize::new(initial.div_ceil(4)),
            min_latency_micros: AtomicU64::new(0),
            drain_rate: AtomicU64::new(0),
            state: Mutex::new(State {
                limit: initial as f64,
                probing: Some(initial as f64),
                window_start: epoch,
                last_tickets: 0,
                at_floor: 0,
                next_probe: epoch + config.probe_interval,
                probes: 0,
            }),
        }
    }

    pub(crate) fn min_latency(&self) -> Option<Duration> {
        match self.min_latency_micros.load(Ordering::Relaxed) {
            0 => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// Whether a request with this deadline cannot be answered in time: it is shorter than the
    /// baseline (never before one is measured).
    #[inline]
    pub(crate) fn too_short(&self, timeout: Duration) -> bool {
        match self.min_latency_micros.load(Ordering::Relaxed) {
            0 => false,
            micros => timeout < Duration::from_micros(micros),
        }
    }

    /// Called on admission with the resource's count in flight including this request: when
    /// this request is timed, its stamp (1 + nanoseconds since the epoch), else 0. (A stamp
    /// rather than an `Option<Instant>` keeps the permit, and so the response future, small.)
    #[inline]
    pub(crate) fn start_sample(&self, in_flight: usize) -> u64 {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        if ticket & self.sample_mask.load(Ordering::Relaxed) != 0 {
            return 0;
        }
        self.sample_at(in_flight)
    }

    #[cold]
    #[inline(never)]
    fn sample_at(&self, in_flight: usize) -> u64 {
        // Read before written: the peak rarely grows, and a load is cheaper than a max loop.
        if in_flight > self.peak.load(Ordering::Relaxed) {
            self.peak.fetch_max(in_flight, Ordering::Relaxed);
        }
        let stamp = self.since_epoch(Instant::now()) + 1;
        let probing = self.probe_start.load(Ordering::Relaxed) != 0;
        if probing && in_flight > self.probe_concurrency.load(Ordering::Relaxed) {
            stamp | NOT_A_SAMPLE
        } else {
            stamp
        }
    }

    /// A request over the limit was refused.
    #[inline]
    pub(crate) fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// A timed request (its `start_sample` stamp) completed at `end`, as a failure or not;
    /// maybe closes the window and moves `limit`.
    pub(crate) fn record(&self, stamp: u64, end: Instant, failed: bool, limit: &AtomicUsize) {
        let start = (stamp & !NOT_A_SAMPLE) - 1;
        let now = self.since_epoch(end);
        let micros = (now.saturating_sub(start) / 1_000).max(1);
        if self.is_sample(stamp, start, micros, failed) {
            self.sum_micros.fetch_add(micros, Ordering::Relaxed);
            self.samples.fetch_add(1, Ordering::Relaxed);
        }
        if now >= self.window_due.load(Ordering::Relaxed) {
            // One request closes the window; the others go on.
            if let Ok(mut state) = self.state.try_lock() {
                self.maybe_close(&mut state, end, limit);
            }
        }
    }

    /// Whether a completed request's latency says something about the resource's work.
    fn is_sample(&self, stamp: u64, start: u64, micros: u64, failed: bool) -> bool {
        if stamp & NOT_A_SAMPLE != 0 {
            return false;
        }
        let probe = self.probe_start.load(Ordering::Acquire);
        if probe != 0 && start + 1 < probe {
            // Admitted before the probe lowered the limit: it may have queued.
            return false;
        }
        // A failure can say "slow", never "fast": a 404 for a path nobody serves, a 401, a
        // 400 for a rejected body are answered before the work, and would pull the baseline
        // down; a 500 after a database timeout is as slow as the work or slower.
        !failed
            || match self.min_latency_micros.load(Ordering::Relaxed) {
                0 => false,
                baseline => micros >= baseline,
            }
    }

    /// The `Retry-After` of a refusal with `in_flight` requests of this resource in flight:
    /// the time they take to drain at the recent completion rate (when a place frees for a new
    /// request), at least `floor`, within 1 s to a minute, spread over `[base, 2 × base]` by a
    /// hash of the refusal count (no clock, no lock). How often clients come back does not
    /// enter it.
    pub(crate) fn retry_after(&self, in_flight: usize, floor: Duration) -> Duration {
        let n = self.refusals.fetch_add(1, Ordering::Relaxed);
        let rate = f64::from_bits(self.drain_rate.load(Ordering::Relaxed));
        let drain = if rate > 0.0 {
            in_flight as f64 / rate
        } else {
            0.0
        };
        let (least, most) = RETRY_AFTER_SECS;
        let base = drain.max(floor.as_secs_f64()).clamp(least, most);
        let jitter = unit_interval(splitmix64(n));
        let secs = (base * (1.0 + jitter)).round().clamp(least, most);
        // Within 1..=60: an exact conversion.
        Duration::from_secs(secs as u64)
    }

    fn since_epoch(&self, at: Instant) -> u64 {
        nanos(at.saturating_duration_since(self.epoch))
    }

    /// Closes the window when it has enough samples, or has lasted long enough for the few it
    /// has; else moves the time it may close to that.
    fn maybe_close(&self, state: &mut State, now: Instant, limit: &AtomicUsize) {
        let samples = self.samples.load(Ordering::Relaxed);
        if samples == 0 {
            return;
        }
        if samples < MIN_SAMPLES {
            let mean = self.sum_micros.load(Ordering::Relaxed) / samples;
            let wait = self.config.window.max(Duration::from_micros(mean) * 2);
            let due = state.window_start + wait;
            if now < due {
                self.window_due
                    .store(self.since_epoch(due), Ordering::Relaxed);
                return;
            }
        }
        self.close_window(state, now, limit);
    }

    fn close_window(&self, state: &mut State, now: Instant, limit: &AtomicUsize) {
        let samples = self.samples.swap(0, Ordering::Relaxed);
        let sum = self.sum_micros.swap(0, Ordering::Relaxed);
        let peak = self.peak.swap(0, Ordering::Relaxed);
        let refused = self.refused.swap(0, Ordering::Relaxed);
        let avg = (sum as f64 / samples.max(1) as f64).max(1.0);
        let elapsed = now.saturating_duration_since(state.window_start);
        state.window_start = now;

        let tickets = self.tickets.load(Ordering::Relaxed);
        let admitted = tickets.wrapping_sub(state.last_tickets);
        state.last_tickets = tickets;
        // What drains per second: admissions per second of the window, smoothed.
        let rate = admitted as f64 / elapsed.as_secs_f64().max(1e-3);
        let previous = f64::from_bits(self.drain_rate.load(Ordering::Relaxed));
        let rate = if previous > 0.0 {
            0.5 * previous + 0.5 * rate
        } else {
            rate
        };
        self.drain_rate.store(rate.to_bits(), Ordering::Relaxed);
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
                self.probe_concurrency
                    .store(state.limit as usize, Ordering::Relaxed);
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

/// Whole nanoseconds, saturating (585 years of them fit): in 64 bits, without `as_nanos`'s
/// 128-bit product.
fn nanos(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(duration.subsec_nanos()))
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

    #[test]
    fn jitter_is_uniform_enough() {
        let below_half = (0..10_000)
            .filter(|&n| unit_interval(splitmix64(n)) < 0.5)
            .count();
        assert!((4_500..5_500).contains(&below_half), "{below_half}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_the_drain_time_within_a_second_and_a_minute() {
        let controller = Controller::new(AdaptiveConcurrency::default());
        // Nothing measured yet: the floor, jittered.
        let cold: Vec<u64> = (0..100)
            .map(|_| controller.retry_after(10, Duration::ZERO).as_secs())
            .collect();
        assert!(cold.iter().all(|s| (1..=2).contains(s)), "{cold:?}");
        // 5 completions a second: 50 in flight drain in 10 s, spread over [10, 20].
        controller
            .drain_rate
            .store(5.0_f64.to_bits(), Ordering::Relaxed);
        let seen: Vec<u64> = (0..1000)
            .map(|_| controller.retry_after(50, Duration::ZERO).as_secs())
            .collect();
        assert!(seen.iter().all(|s| (10..=20).contains(s)), "{seen:?}");
        let distinct: std::collections::BTreeSet<_> = seen.iter().collect();
        assert!(distinct.len() > 5, "{distinct:?}");
        // Never above a minute, whatever the floor or the backlog.
        assert_eq!(
            controller.retry_after(1_000_000, Duration::MAX).as_secs(),
            60
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_failure_is_not_a_sample_and_a_slow_one_is() {
        let controller = Controller::new(AdaptiveConcurrency::default());
        controller
            .min_latency_micros
            .store(20_000, Ordering::Relaxed);
        controller.probe_start.store(0, Ordering::Relaxed);
        assert!(!controller.is_sample(1, 0, 1, true));
        assert!(controller.is_sample(1, 0, 1, false));
        assert!(controller.is_sample(1, 0, 500_000, true));
        // Without a baseline, no failure is a sample.
        controller.min_latency_micros.store(0, Ordering::Relaxed);
        assert!(!controller.is_sample(1, 0, 500_000, true));
    }
}
