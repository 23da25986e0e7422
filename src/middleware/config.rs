//! [`Config`]: what the services of one layer share, built by
//! [`ApiErrorLayer`](crate::ApiErrorLayer)'s methods and read by the service on every call.

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;

use crate::admission::drain::Drain;
use crate::admission::maintenance::Maintenance;
use crate::admission::overload::{InFlight, Limit};
use crate::methods::policy::MethodPolicy;
use crate::methods::recognized::RecognizedMethods;
use crate::respond::canned::Canned;
use crate::respond::settings::SharedRendering;
use crate::ApiError;

/// Everything a layer's services share but the classifier.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) rendering: SharedRendering,
    pub(crate) timeout: Option<Duration>,
    /// The limit each service gets a count of its own under (see [`Config::for_service`]).
    pub(crate) limit: Option<Limit>,
    /// The count: the one handle given to several layers
    /// ([`shared_limit`](crate::ApiErrorLayer::shared_limit)), or in a service's own
    /// configuration the count made for it.
    pub(crate) in_flight: Option<InFlight>,
    /// An adaptive limit with a route table: every request's resource is looked up, even for a
    /// method every resource allows.
    pub(crate) partitioned: bool,
    pub(crate) shed_when_not_ready: bool,
    /// The `503 overloaded` of shedding without a limit, rendered once (with a limit, the
    /// limit's own).
    pub(crate) overloaded: Canned,
    pub(crate) maintenance: Option<Maintenance>,
    pub(crate) recognized: RecognizedMethods,
    pub(crate) policy: Option<MethodPolicy>,
    /// The policy's refusals are answered by the routes themselves (an
    /// [`ApiRouter`](crate::routing::ApiRouter)'s), inside the layers added to them: the layer
    /// passes them on instead of answering first.
    pub(crate) routes_answer: bool,
    pub(crate) deadline_header: Option<HeaderName>,
    /// Each request carries a [`BodyWait`](crate::admission::slow_client::BodyWait) for a
    /// [`SlowClientLayer`](crate::overload::SlowClientLayer) inside.
    pub(crate) watch_body: bool,
    pub(crate) drain: Option<Drain>,
}

impl Config {
    /// Whether requests are admitted per resource: an adaptive limit with a route table.
    pub(crate) fn partition(&mut self) {
        let adaptive = match (&self.in_flight, self.limit) {
            (Some(in_flight), _) => in_flight.is_adaptive(),
            (None, Some(limit)) => limit.adaptive.is_some(),
            (None, None) => false,
        };
        self.partitioned = adaptive && self.policy.is_some();
    }

    /// Whether the layer counts (and maybe limits) requests in flight.
    #[cfg(feature = "utoipa")]
    pub(crate) fn counts(&self) -> bool {
        self.in_flight.is_some() || self.limit.is_some() || self.drain.is_some()
    }

    /// The configuration of one service the layer makes: with a [`Limit`], a count of its
    /// own, as tower's `ConcurrencyLimitLayer` makes a semaphore per service (layers derived
    /// from one base configuration share no place); with a drain and no limit, a count for
    /// the drain; else the layer's configuration itself.
    pub(crate) fn for_service(self: &Arc<Self>) -> Arc<Self> {
        let own = match (&self.in_flight, self.limit) {
            (Some(_), _) => None,
            (None, Some(limit)) => Some(limit),
            (None, None) => self.drain.is_some().then(Limit::counting),
        };
        let Some(limit) = own else {
            return Arc::clone(self);
        };
        let mut config = Config::clone(self);
        config.in_flight = Some(InFlight::new(limit));
        Arc::new(config)
    }
}

impl Default for Config {
    /// No deadline, no in-flight limit, no maintenance switch and no method policy.
    fn default() -> Self {
        Self {
            rendering: SharedRendering::default(),
            timeout: None,
            limit: None,
            in_flight: None,
            partitioned: false,
            shed_when_not_ready: false,
            overloaded: Canned::new(ApiError::overloaded(Limit::DEFAULT_RETRY_AFTER)),
            maintenance: None,
            recognized: RecognizedMethods::default(),
            policy: None,
            routes_answer: false,
            deadline_header: None,
            watch_body: false,
            drain: None,
        }
    }
}
