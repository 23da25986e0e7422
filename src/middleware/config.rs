//! [`Config`]: what the services of one layer share, built by
//! [`ApiErrorLayer`](crate::ApiErrorLayer)'s methods and read by the service on every call.

use std::time::Duration;

use http::header::HeaderName;

use crate::admission::drain::Drain;
use crate::admission::maintenance::Maintenance;
use crate::admission::overload::InFlight;
use crate::methods::policy::MethodPolicy;
use crate::methods::recognized::RecognizedMethods;
use crate::respond::canned::Canned;
use crate::respond::settings::Rendering;
use crate::ApiError;

/// Everything a layer's services share but the classifier.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) rendering: &'static Rendering,
    pub(crate) timeout: Option<Duration>,
    pub(crate) in_flight: Option<InFlight>,
    /// An adaptive limit with a route table: every request's resource is looked up, even for a
    /// method every resource allows.
    pub(crate) partitioned: bool,
    pub(crate) shed_when_not_ready: bool,
    /// The `Retry-After` of `503 overloaded` (the least an adaptive limit sends).
    pub(crate) retry_after: Duration,
    /// The `503 overloaded` of a fixed in-flight limit and of shedding, rendered once.
    pub(crate) overloaded: Canned,
    pub(crate) maintenance: Option<Maintenance>,
    pub(crate) recognized: RecognizedMethods,
    pub(crate) policy: Option<MethodPolicy>,
    /// The policy's refusals are answered by the routes themselves (an
    /// [`ApiRouter`](crate::routing::ApiRouter)'s), inside the layers added to them: the layer
    /// passes them on instead of answering first.
    pub(crate) routes_answer: bool,
    pub(crate) deadline_header: Option<HeaderName>,
    pub(crate) drain: Option<Drain>,
}

impl Config {
    /// Whether requests are admitted per resource: an adaptive limit with a route table.
    pub(crate) fn partition(&mut self) {
        let adaptive = self.in_flight.as_ref().is_some_and(InFlight::is_adaptive);
        self.partitioned = adaptive && self.policy.is_some();
    }
}

impl Default for Config {
    /// No deadline, no in-flight limit, no maintenance switch and no method policy.
    fn default() -> Self {
        Self {
            rendering: Rendering::default().kept(),
            timeout: None,
            in_flight: None,
            partitioned: false,
            shed_when_not_ready: false,
            retry_after: Duration::from_secs(1),
            overloaded: Canned::new(ApiError::overloaded(Duration::from_secs(1))),
            maintenance: None,
            recognized: RecognizedMethods::default(),
            policy: None,
            routes_answer: false,
            deadline_header: None,
            drain: None,
        }
    }
}
