//! Overload: a limit on requests in flight that answers at once instead of queueing.
//!
//! tower's `ConcurrencyLimit` makes callers wait for a permit, and under `Router::layer` it
//! counts per route. This limit is one counter for every service a layer makes, and a request
//! over the limit gets `503 overloaded` with `Retry-After` immediately: a client can retry
//! elsewhere or later, and the server's latency does not grow with its queue.
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
//! assert_eq!(gauge.max(), 64);
//! ```

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The in-flight counter of a layer: every service the layer makes shares it.
#[derive(Debug, Clone)]
pub struct InFlight {
    count: Arc<AtomicUsize>,
    max: usize,
}

impl InFlight {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            count: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Requests in flight now.
    #[must_use]
    pub fn current(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The limit.
    #[must_use]
    pub fn max(&self) -> usize {
        self.max
    }

    /// A permit, or `None` when `max` requests are already in flight.
    pub(crate) fn try_acquire(&self) -> Option<Permit> {
        let admitted = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| Permit {
            count: Arc::clone(&self.count),
        })
    }
}

/// One admitted request; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Permit {
    count: Arc<AtomicUsize>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_max_and_releases_on_drop() {
        let limit = InFlight::new(2);
        let a = limit.try_acquire().unwrap();
        let b = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none());
        assert_eq!(limit.current(), 2);
        drop(a);
        let c = limit.try_acquire().unwrap();
        drop((b, c));
        assert_eq!(limit.current(), 0);
    }

    #[test]
    fn zero_admits_nothing() {
        assert!(InFlight::new(0).try_acquire().is_none());
    }
}
