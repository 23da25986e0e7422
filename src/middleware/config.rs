//! [`Config`]: what the services of one layer share, built by
//! [`ApiErrorLayer`](crate::ApiErrorLayer)'s methods and read by the service on every call.

use std::time::Duration;

use http::header::HeaderName;

use crate::admission::drain::Drain;
use crate::admission::maintenance::Maintenance;
use crate::methods::policy::MethodPolicy;
use crate::methods::recognized::RecognizedMethods;
use crate::overload::InFlight;
use crate::respond::canned::Canned;
use crate::respond::settings::Rendering;
use crate::ApiError;

/// Everything a layer's services share but the classifier.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) rendering: &'static Rendering,
    pub(crate) timeout: Option<Duration>,
    pub(crate) in_flight: Option<InFlight>,
    pub(crate) shed_when_not_ready: bool,
    /// The `Retry-After` of `503 overloaded` (the least an adaptive limit sends).
    pub(crate) retry_after: Duration,
    /// The `503 overloaded` of a fixed in-flight limit and of shedding, rendered once.
    pub(crate) overloaded: Canned,
    pub(crate) maintenance: Option<Maintenance>,
    pub(crate) recognized: RecognizedMethods,
    pub(crate) policy: Option<MethodPolicy>,
    pub(crate) deadline_header: Option<HeaderName>,
    pub(crate) drain: Option<Drain>,
}

impl Default for Config {
    /// No deadline, no in-flight limit, no maintenance switch and no method policy.
    fn default() -> Self {
        Self {
            rendering: Rendering::default().kept(),
            timeout: None,
            in_flight: None,
            shed_when_not_ready: false,
            retry_after: Duration::from_secs(1),
            overloaded: Canned::new(ApiError::overloaded(Duration::from_secs(1))),
            maintenance: None,
            recognized: RecognizedMethods::default(),
            policy: None,
            deadline_header: None,
            drain: None,
        }
    }
}
