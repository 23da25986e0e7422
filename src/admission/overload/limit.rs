//! [`Limit`]: the in-flight limit of a layer, fixed or adaptive, with the `Retry-After` of its
//! refusals, as one value.

use std::time::Duration;

use super::adaptive::AdaptiveConcurrency;

/// How many requests a layer lets in at once, and the `Retry-After` of those it refuses.
///
/// One value, so that what cannot be combined cannot be written: a limit is fixed *or*
/// adaptive, and its refusals' `Retry-After` belongs to it (maintenance and the drain have
/// their own, on their own switches).
///
/// Given to [`ApiErrorLayer::limit`](crate::ApiErrorLayer::limit), each service the layer
/// makes (each [`Layer::layer`](tower_layer::Layer::layer) call) counts on its own, as with
/// tower's `ConcurrencyLimitLayer`: two layers derived from one base configuration never
/// share a place by accident. To share one count on purpose (one cap over a public and an
/// admin router), make the handle, [`InFlight::new`](crate::overload::InFlight::new), and give each
/// layer a clone with [`ApiErrorLayer::shared_limit`](crate::ApiErrorLayer::shared_limit), as
/// tower's `GlobalConcurrencyLimitLayer` takes its semaphore.
///
/// ```
/// use std::time::Duration;
/// use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
/// use tower_api_errors::ApiErrorLayer;
///
/// let fixed = ApiErrorLayer::new().limit(Limit::fixed(256).retry_after(Duration::from_secs(2)));
/// let adaptive = ApiErrorLayer::new().limit(Limit::adaptive(AdaptiveConcurrency::default()));
/// # let _ = (fixed, adaptive);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[must_use]
pub struct Limit {
    /// The fixed limit; with an adaptive one, the cap over all resources.
    pub(crate) max: usize,
    pub(crate) adaptive: Option<AdaptiveConcurrency>,
    /// The `Retry-After` of a fixed limit's refusals; the least an adaptive one sends.
    pub(crate) retry_after: Duration,
}

impl Limit {
    /// The `Retry-After` of a limit that was not given one: overload passes in about a second.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

    /// At most `max` requests in flight; the next one gets `503 overloaded` with
    /// `Retry-After` at once, without queueing for a place. (It still waits for the inner
    /// service's readiness, as every tower call does, unless
    /// [`shed_when_not_ready`](crate::ApiErrorLayer::shed_when_not_ready) is set.)
    ///
    /// A request holds its place until its response head is sent (or it is cancelled), as
    /// with tower's `ConcurrencyLimit`: the body streaming after the head (a download, SSE) is
    /// not counted.
    ///
    /// ```
    /// use tower_api_errors::overload::{InFlight, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let layer = ApiErrorLayer::new().limit(Limit::fixed(256));
    /// # let _ = layer;
    /// assert_eq!(InFlight::new(Limit::fixed(256)).limit(), 256);
    /// ```
    pub fn fixed(max: usize) -> Self {
        Self {
            max,
            adaptive: None,
            retry_after: Self::DEFAULT_RETRY_AFTER,
        }
    }

    /// A limit found from measured latency instead of guessed: see [`AdaptiveConcurrency`]
    /// for how it moves. With a [route table](crate::ApiErrorLayer::method_policy), one limit
    /// per resource (each with its own latency baseline) under one cap
    /// ([`max_limit`](AdaptiveConcurrency::max_limit)), so that an overloaded resource is shed
    /// without shedding the others. Over it, `503 overloaded` at once, with a `Retry-After`
    /// from the resource's drain rate (at least [`retry_after`](Self::retry_after), 1 s to a
    /// minute). Critical requests are never refused, sheddable ones first
    /// ([`Criticality`](crate::overload::Criticality)).
    ///
    /// The resources are those of the route table the layer has when it makes its service (so
    /// [`ApiRouter::into_service`](crate::routing::ApiRouter::into_service) works).
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let layer = ApiErrorLayer::new().limit(Limit::adaptive(AdaptiveConcurrency::default()));
    /// # let _ = layer;
    /// ```
    pub fn adaptive(config: AdaptiveConcurrency) -> Self {
        Self {
            max: config.max_limit,
            adaptive: Some(config),
            retry_after: Self::DEFAULT_RETRY_AFTER,
        }
    }

    /// The `Retry-After` of this limit's `503 overloaded` (default: 1 second; never under
    /// 1 s, which would invite every refused client back at once): a fixed limit sends it, an
    /// adaptive one sends at least it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::Limit;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let layer = ApiErrorLayer::new().limit(Limit::fixed(64).retry_after(Duration::from_secs(5)));
    /// # let _ = layer;
    /// ```
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// No limit: only counts (for a [`Drain`](crate::overload::Drain) without a limit).
    pub(crate) fn counting() -> Self {
        Self::fixed(usize::MAX)
    }
}
