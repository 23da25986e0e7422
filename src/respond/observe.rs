//! What the layer tells about the error responses it sends: one `tracing` event each (see
//! [the crate documentation](crate#observability)) and, with the `metrics` feature, the
//! counters and gauges of [`crate::api_metrics`]. The event and the counters are recorded from
//! [`error_response`], which only the [one exit](crate::respond::exit) calls, once per error
//! response; a refusal's reason reaches [`shed`] the same way.

use std::any::Any;
use std::borrow::Cow;

use http::StatusCode;
use tracing::Level;

/// What is told about one error response.
pub(crate) struct ErrorReport<'a> {
    pub(crate) status: StatusCode,
    /// `None` for the status's default code.
    pub(crate) code: Option<&'a Cow<'static, str>>,
    /// The request method's name, unless it is an extension method other than `QUERY`.
    pub(crate) method: Option<&'static str>,
    /// The request's path, without the query, when it was kept.
    pub(crate) path: Option<&'a str>,
    pub(crate) request_id: Option<&'a str>,
    /// What caused the error ([`ApiError::with_source`](crate::ApiError::with_source)).
    pub(crate) source: Option<&'a (dyn std::error::Error + 'static)>,
}

/// Reports one error response: its event, and its count. `report` is called only when someone
/// listens: without the `metrics` feature and without a subscriber that takes `WARN`, this is
/// one relaxed load and a comparison.
#[inline(always)]
pub(crate) fn error_response<'a>(report: impl FnOnce() -> ErrorReport<'a>) {
    if cfg!(feature = "metrics") || events_enabled() {
        record(&report());
    }
}

#[cold]
#[inline(never)]
fn record(report: &ErrorReport<'_>) {
    let status = report.status;
    let default;
    let code = match report.code {
        Some(code) => code,
        None => {
            default = Cow::Borrowed(crate::contract::catalog::lookup(status).code);
            &default
        }
    };
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "api_errors_total",
        "status" => crate::contract::numbers::status_digits(status),
        // A `&'static` code is kept without copying it.
        "error" => code.clone(),
    )
    .increment(1);
    // The fields are evaluated only when a subscriber takes the event. The target is the one
    // documented (and filtered on) since the event was first written.
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "tower_api_errors::observe",
                $level,
                status = status.as_u16(),
                error = &**code,
                method = report.method.unwrap_or("other"),
                path = report.path.unwrap_or_default(),
                request_id = report.request_id,
                source = report.source.map(|source| tracing::field::display(Chain(source))),
                "error response"
            )
        };
    }
    if status.is_server_error() {
        event!(Level::WARN);
    } else {
        event!(Level::DEBUG);
    }
}

/// An error and its sources, `: `-separated, as one field of the event.
struct Chain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(source) = next {
            write!(f, ": {source}")?;
            next = source.source();
        }
        Ok(())
    }
}

/// Whether an error event could be recorded at all (a subscriber takes `WARN` or more): only
/// then does the request's path need keeping for it.
#[inline(always)]
pub(crate) fn events_enabled() -> bool {
    tracing::level_enabled!(Level::WARN)
}

/// Why the layer refused a request before calling the inner service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShedReason {
    /// Over the in-flight limit, or the inner service not ready (when shedding).
    Overloaded,
    /// The maintenance switch is on.
    Maintenance,
    /// The request's deadline is shorter than the service needs.
    Deadline,
    /// The drain was triggered.
    ShuttingDown,
}

impl ShedReason {
    /// The `reason` label of `api_shed_total`.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn label(self) -> &'static str {
        match self {
            ShedReason::Overloaded => "overloaded",
            ShedReason::Maintenance => "maintenance",
            ShedReason::Deadline => "deadline",
            ShedReason::ShuttingDown => "shutting_down",
        }
    }
}

/// Counts a refusal (`api_shed_total`); nothing without the `metrics` feature. Its error
/// response is reported by the exit, as every other.
#[inline(always)]
pub(crate) fn shed(reason: ShedReason) {
    #[cfg(feature = "metrics")]
    metrics::counter!("api_shed_total", "reason" => reason.label()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}

/// Describes the layer's metrics to the recorder current now (`# HELP` and the unit in
/// Prometheus text, which `promtool check metrics` asks for): when a layer makes a service, as
/// the gauges are registered.
#[cfg(feature = "metrics")]
pub(crate) fn describe_metrics() {
    use metrics::{describe_counter, describe_gauge, Unit};
    describe_counter!(
        "api_errors_total",
        Unit::Count,
        "Error responses the layer sent (its own answers, rendered ApiErrors, normalized inner \
         error responses), by status and error code."
    );
    describe_counter!(
        "api_shed_total",
        Unit::Count,
        "Requests the layer refused before calling the inner service, by reason."
    );
    describe_gauge!(
        "api_in_flight",
        Unit::Count,
        "Requests in flight: admitted, response head not sent yet."
    );
    describe_gauge!(
        "api_concurrency_limit",
        Unit::Count,
        "The in-flight limit: the fixed one, or where the adaptive controller has put it."
    );
}

/// The `resource` label of the requests no resource of the route table matches.
#[cfg(feature = "metrics")]
pub(crate) const UNMATCHED: &str = "(unmatched)";

/// The gauge handles of one in-flight limit (a layer's, or one resource's), registered when the
/// layer makes its first service.
#[cfg(feature = "metrics")]
#[derive(Debug, Clone)]
pub(crate) struct Gauges {
    in_flight: metrics::Gauge,
    limit: metrics::Gauge,
}

#[cfg(feature = "metrics")]
impl Gauges {
    /// The gauges, labelled with `resource` when there is one; showing `limit` and nothing in
    /// flight.
    pub(crate) fn register(resource: Option<&str>, limit: usize) -> Self {
        let gauges = match resource {
            None => Self {
                in_flight: metrics::gauge!("api_in_flight"),
                limit: metrics::gauge!("api_concurrency_limit"),
            },
            Some(resource) => {
                let resource = resource.to_owned();
                Self {
                    in_flight: metrics::gauge!("api_in_flight", "resource" => resource.clone()),
                    limit: metrics::gauge!("api_concurrency_limit", "resource" => resource),
                }
            }
        };
        gauges.in_flight.set(0.0);
        gauges.limit(limit);
        gauges
    }

    /// One more in flight. An increment, not a `set` of the count read before: two requests
    /// admitted and released at once on two threads can never leave a stale value behind.
    pub(crate) fn admitted(&self) {
        self.in_flight.increment(1.0);
    }

    /// One fewer in flight.
    pub(crate) fn released(&self) {
        self.in_flight.decrement(1.0);
    }

    pub(crate) fn limit(&self, limit: usize) {
        // An unlimited count (for a drain only) has no limit to show.
        if limit != usize::MAX {
            self.limit.set(limit as f64);
        }
    }
}

/// Logs a caught panic's message; it never goes into a response.
pub(crate) fn log_panic(panic: &(dyn Any + Send)) {
    tracing::error!(
        target: "tower_api_errors::future",
        panic = panic_message(panic),
        "inner service panicked; answering 500"
    );
}

/// Logs a panic caught while dropping `what` (a cancelled handler's future, a replaced body):
/// the answer already decided leaves as it is, since it is right about what the client asked.
pub(crate) fn log_panic_in_drop(panic: &(dyn Any + Send), what: &'static str) {
    tracing::error!(
        target: "tower_api_errors::future",
        panic = panic_message(panic),
        dropped = what,
        "panicked when dropped; the answer stands"
    );
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}
