//! What the layer tells about the error responses it sends: one `tracing` event each (see
//! [the crate documentation](crate#observability)) and, with the `metrics` feature, the
//! counters of [`crate::metrics`]. Both go through [`error_response`], called once per error
//! response, where it is rendered.

use std::borrow::Cow;

use http::StatusCode;
use tracing::Level;

use crate::render::RequestContext;

/// The one place every error response the layer sends goes through: its event, and its count.
/// `code` is `None` for the status's default code. Without the `metrics` feature and without a
/// subscriber that takes `WARN`, this is one relaxed load and a comparison.
#[inline(always)]
pub(crate) fn error_response(
    status: StatusCode,
    code: Option<&Cow<'static, str>>,
    ctx: &RequestContext,
) {
    if cfg!(feature = "metrics") || events_enabled() {
        report(status, code, ctx);
    }
}

// A `&Cow`, not a `&str`: a metrics label keeps a `&'static` code without copying it.
#[allow(clippy::ptr_arg)]
#[cold]
#[inline(never)]
fn report(status: StatusCode, code: Option<&Cow<'static, str>>, ctx: &RequestContext) {
    let default;
    let code = match code {
        Some(code) => code,
        None => {
            default = Cow::Borrowed(crate::catalog::lookup(status).code);
            &default
        }
    };
    #[cfg(feature = "metrics")]
    crate::metrics::error_response(status, code);
    // The fields are evaluated only when a subscriber takes the event.
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                $level,
                status = status.as_u16(),
                error = &**code,
                method = ctx.method().unwrap_or("other"),
                path = ctx.instance_path().unwrap_or_default(),
                request_id = ctx.request_id(),
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

/// Counts a refusal (`api_shed_total`); nothing without the `metrics` feature. Its error
/// response is reported by the rendering, as every other.
#[inline(always)]
pub(crate) fn shed(reason: ShedReason) {
    #[cfg(feature = "metrics")]
    crate::metrics::shed(reason);
    #[cfg(not(feature = "metrics"))]
    let _ = reason;
}
