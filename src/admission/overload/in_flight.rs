//! [`InFlight`]: the counters and limits admission checks, one per resource under one cap, and
//! the [`Permit`] an admitted request holds.

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::Request;
use tokio::sync::Notify;

use super::adaptive::AdaptiveConcurrency;
use super::controller::Controller;
use super::criticality::{room, Criticality};
use super::limit::Limit;
use super::refusal::{RouteHints, Shed};
use crate::respond::canned::Canned;
use crate::ApiError;

/// The in-flight count and limit of a service: clones of the service share it, and so do
/// clones of the handle; keep one to watch the server
/// ([`ApiErrorService::in_flight`](crate::ApiErrorService::in_flight)). Made by a layer for
/// each service from its [`Limit`], or by you with [`InFlight::new`] to share one count
/// between layers ([`ApiErrorLayer::shared_limit`](crate::ApiErrorLayer::shared_limit)).
#[derive(Debug, Clone)]
pub struct InFlight {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Every request in flight, critical ones included.
    count: AtomicUsize,
    /// The fixed limit; with an adaptive limit, the cap over all resources.
    limit: usize,
    /// The adaptive limit's settings; `None` for a fixed limit.
    adaptive: Option<AdaptiveConcurrency>,
    /// The `Retry-After` of a fixed limit's refusal; the least an adaptive one sends.
    retry_after: Duration,
    /// A layer counting here reads a deadline header (see [`InFlight::read_client_deadlines`]).
    client_deadlines: AtomicBool,
    /// A fixed limit's `503 overloaded`, rendered once.
    overloaded: Canned,
    /// Adaptive only: one per resource of the route table, then one for the requests no
    /// resource matches (or the only one, without a table). Made when the layer makes its
    /// first service, its route table known (see [`InFlight::partition`]), so that a handle
    /// made before that ([`InFlight::new`], given to the layer) sees them.
    partitions: OnceLock<Box<[Partition]>>,
    /// Told when the count falls to zero, for a [`Drain`](crate::overload::Drain) this counter is
    /// attached to (the first one).
    idle: OnceLock<Arc<Idle>>,
    /// `api_in_flight` and `api_concurrency_limit` without a label, for a fixed limit;
    /// registered when the first service is made (see [`InFlight::register_gauges`]).
    #[cfg(feature = "metrics")]
    gauges: OnceLock<crate::respond::observe::Gauges>,
}

impl Shared {
    /// The partitions; none for a fixed limit, or before the first service is made.
    #[inline(always)]
    fn partitions(&self) -> &[Partition] {
        self.partitions.get().map_or(&[], |p| &p[..])
    }
}

/// One resource's share of admission: its own count, limit and controller.
#[derive(Debug)]
struct Partition {
    /// The route pattern; `None` for the requests no resource matches.
    pattern: Option<Box<str>>,
    count: AtomicUsize,
    limit: AtomicUsize,
    controller: Controller,
    /// Labelled with the pattern when there are several partitions.
    #[cfg(feature = "metrics")]
    gauges: OnceLock<crate::respond::observe::Gauges>,
}

/// What [`InFlight::resources`] shows of one resource's admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResourceLoad<'a> {
    /// The resource's route pattern; `None` for the requests no resource of the table matches
    /// (or all requests, without a table).
    pub pattern: Option<&'a str>,
    /// Its requests in flight now (critical ones included).
    pub current: usize,
    /// Where its controller has put its limit.
    pub limit: usize,
    /// Its latency baseline; `None` before the first measurement.
    pub min_latency: Option<Duration>,
}

impl InFlight {
    /// A count under `limit`, to give to several layers with
    /// [`ApiErrorLayer::shared_limit`](crate::ApiErrorLayer::shared_limit): their services
    /// then share it (and its adaptive controllers, with the first one's route table).
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::overload::{InFlight, Limit};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let shared = InFlight::new(Limit::fixed(64));
    /// let public = ApiErrorLayer::new().shared_limit(shared.clone());
    /// let admin = ApiErrorLayer::new().shared_limit(shared.clone());
    /// # let ok = || tower::service_fn(|_req: http::Request<()>| async {
    /// #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// # });
    /// let (a, b) = (public.layer(ok()), admin.layer(ok()));
    /// assert!(a.in_flight().unwrap().same_count(&shared));
    /// assert!(b.in_flight().unwrap().same_count(&shared));
    /// assert_eq!(shared.limit(), 64);
    /// ```
    #[must_use]
    pub fn new(limit: Limit) -> Self {
        Self {
            shared: Arc::new(Shared {
                count: AtomicUsize::new(0),
                limit: limit.max,
                adaptive: limit.adaptive,
                retry_after: limit.retry_after,
                client_deadlines: AtomicBool::new(false),
                overloaded: Canned::new(ApiError::overloaded(limit.retry_after)),
                partitions: OnceLock::new(),
                idle: OnceLock::new(),
                #[cfg(feature = "metrics")]
                gauges: OnceLock::new(),
            }),
        }
    }

    /// The answer to a request over a fixed limit (or refused as not ready, when shedding).
    pub(crate) fn overloaded(&self) -> &Canned {
        &self.shared.overloaded
    }

    /// A layer counting here reads a deadline header from its requests: an adaptive limit then
    /// refuses at once a deadline shorter than its resource's baseline.
    pub(crate) fn read_client_deadlines(&self) {
        self.shared.client_deadlines.store(true, Ordering::Relaxed);
    }

    /// Gives an adaptive limit one partition per pattern of `resources` and one for the
    /// requests none of them matches; once, when the layer makes its first service. (A limit
    /// shared by layers with other route tables keeps the first one's resources.)
    pub(crate) fn partition<'a>(&self, resources: impl IntoIterator<Item = &'a str>) {
        let Some(config) = self.shared.adaptive else {
            return;
        };
        self.shared.partitions.get_or_init(|| {
            resources
                .into_iter()
                .map(Some)
                .chain([None])
                .map(|pattern| Partition::new(config, pattern))
                .collect()
        });
    }

    #[inline(always)]
    fn partitions(&self) -> &[Partition] {
        self.shared.partitions()
    }

    /// Registers the gauges with the recorder current now, once: when the layer makes its
    /// first service, its configuration final. A fixed limit's (or an adaptive one's without a
    /// route table) are unlabelled; with partitions, each resource's are labelled with its
    /// pattern, and there is no unlabelled series beside them.
    #[cfg(feature = "metrics")]
    pub(crate) fn register_gauges(&self) {
        use crate::respond::observe::{Gauges, UNMATCHED};
        let shared = &*self.shared;
        match self.partitions() {
            [] => {
                shared
                    .gauges
                    .get_or_init(|| Gauges::register(None, shared.limit));
            }
            [only] => {
                only.gauges
                    .get_or_init(|| Gauges::register(None, only.limit.load(Ordering::Relaxed)));
            }
            partitions => {
                for p in partitions {
                    let label = p.pattern.as_deref().unwrap_or(UNMATCHED);
                    p.gauges.get_or_init(|| {
                        Gauges::register(Some(label), p.limit.load(Ordering::Relaxed))
                    });
                }
            }
        }
    }

    /// Requests in flight now (critical ones included).
    ///
    /// ```
    /// use tower_api_errors::overload::{InFlight, Limit};
    ///
    /// let gauge = InFlight::new(Limit::fixed(64));
    /// assert_eq!(gauge.current(), 0);
    /// ```
    #[must_use]
    pub fn current(&self) -> usize {
        self.shared.count.load(Ordering::Acquire)
    }

    /// The limit now: the fixed one, or where the adaptive controllers have put it (the sum of
    /// the resources' limits, at most the cap; `usize::MAX` when the layer only counts, for a
    /// [`Drain`](crate::overload::Drain)).
    ///
    /// ```
    /// use tower_api_errors::overload::{InFlight, Limit};
    ///
    /// assert_eq!(InFlight::new(Limit::fixed(64)).limit(), 64);
    /// ```
    #[must_use]
    pub fn limit(&self) -> usize {
        let shared = &*self.shared;
        match (shared.adaptive, self.partitions()) {
            (None, _) => shared.limit,
            // Before the first service is made: what each resource will start at.
            (Some(config), []) => config.initial(),
            (Some(_), partitions) => partitions
                .iter()
                .map(|p| p.limit.load(Ordering::Relaxed))
                .sum::<usize>()
                .min(shared.limit),
        }
    }

    /// The fixed limit, or the cap of the adaptive one over all resources.
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// assert_eq!(InFlight::new(Limit::fixed(64)).max(), 64);
    /// let adaptive = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default()));
    /// assert_eq!(adaptive.max(), 1000);
    /// ```
    #[must_use]
    pub fn max(&self) -> usize {
        self.shared.limit
    }

    /// Whether the limit is adaptive.
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// assert!(!InFlight::new(Limit::fixed(64)).is_adaptive());
    /// assert!(InFlight::new(Limit::adaptive(AdaptiveConcurrency::default())).is_adaptive());
    /// ```
    #[must_use]
    pub fn is_adaptive(&self) -> bool {
        self.shared.adaptive.is_some()
    }

    /// The smallest latency baseline the adaptive controllers have measured (the only one,
    /// without a route table). `None` with a fixed limit, or before the first measurement.
    ///
    /// ```
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    ///
    /// let gauge = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default()));
    /// // Nothing measured yet.
    /// assert_eq!(gauge.min_latency(), None);
    /// ```
    #[must_use]
    pub fn min_latency(&self) -> Option<Duration> {
        self.resources().filter_map(|r| r.min_latency).min()
    }

    /// Each resource's admission, in the order of the route table, then the requests no
    /// resource matches. Empty with a fixed limit, and before the layer has made a service.
    ///
    /// ```
    /// use http::Method;
    /// use tower::Layer;
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/payments", Resource::allow([Method::GET]))
    ///     .resource("/reports/{id}/result", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// let gauge = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default()));
    /// let layer = ApiErrorLayer::new()
    ///     .shared_limit(gauge.clone())
    ///     .method_policy(policy);
    /// let _app = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// let patterns: Vec<_> = gauge.resources().map(|r| r.pattern).collect();
    /// assert_eq!(patterns, [Some("/payments"), Some("/reports/{id}/result"), None]);
    /// assert!(gauge.resources().all(|r| r.limit == 16 && r.current == 0));
    /// ```
    pub fn resources(&self) -> impl Iterator<Item = ResourceLoad<'_>> {
        self.partitions().iter().map(|p| ResourceLoad {
            pattern: p.pattern.as_deref(),
            current: p.count.load(Ordering::Acquire),
            limit: p.limit.load(Ordering::Relaxed),
            min_latency: p.controller.min_latency(),
        })
    }

    /// The load of the resource at `pattern` (as declared in the route table), or of the
    /// requests no resource matches for `None`.
    ///
    /// ```
    /// use http::Method;
    /// use tower::Layer;
    /// use tower_api_errors::overload::{AdaptiveConcurrency, InFlight, Limit};
    /// use tower_api_errors::policy::{MethodPolicy, Resource};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let policy = MethodPolicy::builder()
    ///     .resource("/payments", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// let gauge = InFlight::new(Limit::adaptive(AdaptiveConcurrency::default()));
    /// let layer = ApiErrorLayer::new().shared_limit(gauge.clone()).method_policy(policy);
    /// let _app = layer.layer(tower::service_fn(|_req: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
    /// }));
    /// assert_eq!(gauge.resource(Some("/payments")).unwrap().current, 0);
    /// assert!(gauge.resource(None).is_some());
    /// assert!(gauge.resource(Some("/nowhere")).is_none());
    /// ```
    #[must_use]
    pub fn resource(&self, pattern: Option<&str>) -> Option<ResourceLoad<'_>> {
        self.resources().find(|r| r.pattern == pattern)
    }

    /// Whether a handle other than this one exists (a service, a clone kept to watch it).
    pub(crate) fn is_held_elsewhere(&self) -> bool {
        Arc::strong_count(&self.shared) > 1
    }

    /// Tells `idle` each time the count falls to zero (once `idle` is armed); a counter tells
    /// the first one it is given.
    pub(crate) fn notify_idle(&self, idle: &Arc<Idle>) {
        let _ = self.shared.idle.set(Arc::clone(idle));
    }

    /// Whether two handles count the same requests.
    ///
    /// ```
    /// use tower_api_errors::overload::{InFlight, Limit};
    ///
    /// let gauge = InFlight::new(Limit::fixed(64));
    /// assert!(gauge.same_count(&gauge.clone()));
    /// assert!(!gauge.same_count(&InFlight::new(Limit::fixed(64))));
    /// ```
    #[must_use]
    pub fn same_count(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Admits `req`, or refuses it with the error to answer: `503 overloaded` over the limit,
    /// `504 gateway_timeout` when its deadline (`timeout`) is shorter than its resource's
    /// measured minimum latency (see [`ApiErrorLayer::deadline_header`](crate::ApiErrorLayer::deadline_header)).
    #[inline(always)]
    pub(crate) fn admit<B>(
        &self,
        req: &Request<B>,
        hints: RouteHints,
        timeout: Option<Duration>,
    ) -> Result<Permit, Shed> {
        let criticality = req
            .extensions()
            .get::<Criticality>()
            .copied()
            .or(hints.criticality)
            .unwrap_or_default();
        if self.shared.adaptive.is_none() {
            return self.try_acquire(criticality).ok_or(Shed::Overloaded);
        }
        self.admit_adaptive(hints, timeout, criticality)
    }

    /// [`admit`](Self::admit) under an adaptive limit: the request's resource (the last
    /// partition when no resource matched), its deadline against the resource's baseline, its
    /// limit, then the cap.
    #[inline(always)]
    fn admit_adaptive(
        &self,
        hints: RouteHints,
        timeout: Option<Duration>,
        criticality: Criticality,
    ) -> Result<Permit, Shed> {
        let partitions = self.partitions();
        // The resource's partition, or the last one (the requests no resource matches).
        let index = match hints.resource {
            Some(i) if usize::from(i) < partitions.len() => usize::from(i),
            _ => partitions.len().wrapping_sub(1),
        };
        let Some(partition) = partitions.get(index) else {
            // Not partitioned yet: no service was made, so no request comes here.
            return self.try_acquire(criticality).ok_or(Shed::Overloaded);
        };
        // Only a deadline a client may have shortened is held against the baseline: the
        // baseline is measured on requests that finished within the configured timeout, so
        // that timeout is never shorter than it. Critical requests are not judged by it
        // either: a health check is usually faster than the work.
        if criticality != Criticality::Critical
            && self.shared.client_deadlines.load(Ordering::Relaxed)
            && timeout.is_some_and(|timeout| partition.controller.too_short(timeout))
        {
            return Err(Shed::DeadlineTooShort);
        }
        self.try_acquire_in(index as u32, partition, criticality)
            .ok_or_else(|| Shed::Adaptive(partition.refuse(self.shared.retry_after)))
    }

    /// A permit under a fixed limit (or none), or `None` when the limit (for `criticality`)
    /// is reached.
    #[inline]
    pub(crate) fn try_acquire(&self, criticality: Criticality) -> Option<Permit> {
        let shared = &*self.shared;
        if criticality == Criticality::Critical || shared.limit == usize::MAX {
            shared.count.fetch_add(1, Ordering::AcqRel);
        } else {
            let room = room(shared.limit, criticality);
            shared
                .count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < room).then_some(n + 1)
                })
                .ok()?;
        }
        #[cfg(feature = "metrics")]
        if let Some(gauges) = shared.gauges.get() {
            gauges.admitted();
        }
        Some(Permit {
            shared: Arc::clone(&self.shared),
            partition: NO_PARTITION,
            sample: 0,
        })
    }

    /// A permit of `partition` (the resource's limit, then the cap), or `None`.
    #[inline(always)]
    fn try_acquire_in(
        &self,
        index: u32,
        partition: &Partition,
        criticality: Criticality,
    ) -> Option<Permit> {
        let shared = &*self.shared;
        let previous = if criticality == Criticality::Critical {
            shared.count.fetch_add(1, Ordering::AcqRel);
            partition.count.fetch_add(1, Ordering::AcqRel)
        } else {
            let limit = partition.limit.load(Ordering::Relaxed);
            // The resource's limit, then the cap: each one increment, undone when over (cheaper
            // than a compare-and-swap loop; a request over may count for an instant, never be
            // admitted).
            let previous = partition.count.fetch_add(1, Ordering::AcqRel);
            if previous >= room(limit, criticality) {
                partition.count.fetch_sub(1, Ordering::AcqRel);
                return None;
            }
            if shared.count.fetch_add(1, Ordering::AcqRel) >= shared.limit {
                shared.count.fetch_sub(1, Ordering::AcqRel);
                partition.count.fetch_sub(1, Ordering::AcqRel);
                return None;
            }
            previous
        };
        #[cfg(feature = "metrics")]
        if let Some(gauges) = partition.gauges.get() {
            gauges.admitted();
        }
        let sample = match criticality {
            Criticality::Critical => 0,
            _ => partition.controller.start_sample(previous + 1),
        };
        Some(Permit {
            shared: Arc::clone(&self.shared),
            partition: index,
            sample,
        })
    }
}

impl Partition {
    fn new(config: AdaptiveConcurrency, pattern: Option<&str>) -> Self {
        Self {
            pattern: pattern.map(Box::from),
            count: AtomicUsize::new(0),
            limit: AtomicUsize::new(config.initial()),
            controller: Controller::new(config),
            #[cfg(feature = "metrics")]
            gauges: OnceLock::new(),
        }
    }

    /// A refusal: counted for the controller, with the `Retry-After` to answer.
    #[cold]
    #[inline(never)]
    fn refuse(&self, floor: Duration) -> Duration {
        self.controller.refused();
        let in_flight = self.count.load(Ordering::Relaxed);
        self.controller.retry_after(in_flight, floor)
    }
}

/// Wakes whoever waits for in-flight counters to fall to zero (a [`Drain`](crate::overload::Drain)), when
/// one does; costs a load only until someone waits.
#[derive(Debug, Default)]
pub(crate) struct Idle {
    /// Set by the first wait: before that, no count falling to zero takes the `Notify`'s lock.
    armed: AtomicBool,
    notify: Notify,
}

impl Idle {
    /// Waits until `idle()` is true; `idle` reads the counters this is told about.
    pub(crate) async fn wait(&self, idle: impl Fn() -> bool) {
        self.armed.store(true, Ordering::SeqCst);
        loop {
            let notified = self.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the counters are read: a fall to zero after the read wakes it.
            notified.as_mut().enable();
            fence(Ordering::SeqCst);
            if idle() {
                return;
            }
            notified.await;
        }
    }

    fn tell(&self) {
        // Pairs with the fence in `wait`: either this sees `armed`, or `wait` sees the count.
        fence(Ordering::SeqCst);
        if self.armed.load(Ordering::Relaxed) {
            self.notify.notify_waiters();
        }
    }
}

/// The partition index of a permit under a fixed limit.
const NO_PARTITION: u32 = u32::MAX;

/// One admitted request; dropping it frees the place. A sampled one measures its latency for
/// its resource's controller when it is [completed](Permit::complete), not when it is only
/// dropped, as a cancelled request is (a client that hangs up after a millisecond says nothing
/// about the service).
#[derive(Debug)]
pub(crate) struct Permit {
    shared: Arc<Shared>,
    partition: u32,
    /// The controller's start stamp when this request is timed, else 0.
    sample: u64,
}

impl Permit {
    /// The request was answered, as a failure (status 400 or more, an error, a panic, a
    /// deadline) or not: a sample measures its latency now.
    #[inline]
    pub(crate) fn complete(&mut self, failed: bool) {
        if self.sample != 0 {
            self.record(failed);
            self.sample = 0;
        }
    }

    #[cold]
    #[inline(never)]
    fn record(&self, failed: bool) {
        let Some(partition) = self.shared.partitions().get(self.partition as usize) else {
            return;
        };
        let end = tokio::time::Instant::now();
        partition
            .controller
            .record(self.sample, end, failed, &partition.limit);
        #[cfg(feature = "metrics")]
        if let Some(gauges) = partition.gauges.get() {
            gauges.limit(partition.limit.load(Ordering::Relaxed));
        }
    }
}

impl Drop for Permit {
    #[inline]
    fn drop(&mut self) {
        let shared = &*self.shared;
        if shared.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(idle) = shared.idle.get() {
                idle.tell();
            }
        }
        #[cfg(feature = "metrics")]
        if let Some(gauges) = shared.gauges.get() {
            gauges.released();
        }
        // Under a fixed limit, known without reading the partitions.
        if self.partition == NO_PARTITION {
            return;
        }
        if let Some(partition) = shared.partitions().get(self.partition as usize) {
            partition.count.fetch_sub(1, Ordering::AcqRel);
            #[cfg(feature = "metrics")]
            if let Some(gauges) = partition.gauges.get() {
                gauges.released();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_max_and_releases_on_drop() {
        let limit = InFlight::new(Limit::fixed(2));
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
        let limit = InFlight::new(Limit::fixed(0));
        assert!(limit.try_acquire(Criticality::Normal).is_none());
        assert!(limit.try_acquire(Criticality::Sheddable).is_none());
        let critical = limit.try_acquire(Criticality::Critical).unwrap();
        assert_eq!(limit.current(), 1);
        drop(critical);
        assert_eq!(limit.current(), 0);
    }

    #[test]
    fn sheddable_fills_three_quarters_and_critical_goes_over() {
        let limit = InFlight::new(Limit::fixed(8));
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
    fn sheddable_is_admitted_at_small_limits_rounding_up() {
        // Three quarters of 1, 2, 3, 4 rounded up: a sheddable request is never refused with
        // nothing in flight (rounded down, 1..=3 would refuse it always).
        for (limit, admitted) in [(1, 1), (2, 2), (3, 3), (4, 3), (5, 4)] {
            let gauge = InFlight::new(Limit::fixed(limit));
            let held: Vec<_> = std::iter::from_fn(|| gauge.try_acquire(Criticality::Sheddable))
                .take(10)
                .collect();
            assert_eq!(held.len(), admitted, "limit {limit}");
        }
    }

    #[test]
    fn the_extension_wins_over_the_route_table() {
        let limit = InFlight::new(Limit::fixed(0));
        let hints = RouteHints {
            criticality: Some(Criticality::Critical),
            ..RouteHints::default()
        };
        let plain = Request::new(());
        assert!(limit.admit(&plain, hints, None).is_ok());
        let mut marked = Request::new(());
        marked.extensions_mut().insert(Criticality::Sheddable);
        let refused = limit.admit(&marked, hints, None);
        // A fixed limit answers with the layer's own `503 overloaded`, rendered once.
        assert!(matches!(refused, Err(Shed::Overloaded)));
    }

    #[tokio::test(start_paused = true)]
    async fn each_resource_has_its_own_limit_under_one_cap() {
        let config = AdaptiveConcurrency::default().initial_limit(2).max_limit(3);
        let gauge = InFlight::new(Limit::adaptive(config));
        gauge.partition(["/a", "/b"]);
        let on = |resource: u16| RouteHints {
            resource: Some(resource),
            ..RouteHints::default()
        };
        let req = Request::new(());
        let a: Vec<_> = (0..2)
            .map(|_| gauge.admit(&req, on(0), None).unwrap())
            .collect();
        // /a is full; /b is not, and takes the last place under the cap of 3.
        assert!(gauge.admit(&req, on(0), None).is_err());
        let b = gauge.admit(&req, on(1), None).unwrap();
        assert!(gauge.admit(&req, on(1), None).is_err());
        assert_eq!(gauge.current(), 3);
        let loads: Vec<_> = gauge.resources().map(|r| (r.pattern, r.current)).collect();
        assert_eq!(loads, [(Some("/a"), 2), (Some("/b"), 1), (None, 0)]);
        drop((a, b));
        assert_eq!(gauge.current(), 0);
        assert!(gauge.resources().all(|r| r.current == 0));
    }
}
