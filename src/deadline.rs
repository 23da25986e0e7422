//! Deadlines: a timeout per resource, an inbound deadline header that shortens it, and
//! admission that refuses at once a request whose deadline is already too short.
//!
//! A request's deadline is, in order: the [resource's timeout](crate::Resource::timeout) in
//! the route table, else the [layer's](crate::ApiErrorLayer::timeout); then, when the layer
//! reads a [deadline header](crate::ApiErrorLayer::deadline_header) and the request has one,
//! the smaller of that and the header's value. A client can only shorten the server's
//! deadline, never lengthen it (without any timeout configured, the header is clamped to a
//! day). The header holds whole milliseconds, ASCII digits only: anything else (a sign, a
//! space, a unit, an empty value, more than 15 digits) is `400 bad_request`, since a client
//! that sends a deadline relies on it and must learn that it was not understood.
//!
//! # Deadline-aware admission: 504, not 503
//!
//! With the [adaptive limit](crate::AdaptiveConcurrency), the layer knows the service's
//! latency with no queue. A request whose deadline is shorter than that (or zero) is refused
//! at once, before it takes a place or any work is done, with `504 gateway_timeout`: the same
//! answer the client would get after the work, only sooner. It is not `503`: nothing is
//! overloaded, `Retry-After` would promise something false (the same request fails again
//! until its deadline grows), and clients and proxies read 503 as a signal to back off from
//! the server. gRPC makes the same choice (`DEADLINE_EXCEEDED`, mapped to 504). Critical
//! requests are exempt, but for a zero deadline: the baseline is the layer's, measured on the
//! normal traffic, and a health check is usually much faster than that.
//!
//! ```
//! use std::time::Duration;
//! use axum::{routing::get, Router};
//! use http::{Method, Request};
//! use tower::{Layer, ServiceExt};
//! use tower_api_errors::{ApiErrorLayer, MethodPolicy, Resource};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let router = Router::new().route(
//!     "/reports/{id}/result",
//!     get(|| async {
//!         tokio::time::sleep(Duration::from_secs(5)).await;
//!         "done"
//!     }),
//! );
//! let policy = MethodPolicy::builder()
//!     .resource(
//!         "/reports/{id}/result",
//!         Resource::allow([Method::GET]).timeout(Duration::from_secs(10)),
//!     )
//!     .build()
//!     .unwrap();
//! let app = ApiErrorLayer::new()
//!     .timeout(Duration::from_secs(2)) // everywhere else
//!     .deadline_header("x-request-timeout-ms")
//!     .method_policy(policy)
//!     .layer(router);
//!
//! let get = |deadline: &str| {
//!     Request::get("/reports/1/result")
//!         .header("x-request-timeout-ms", deadline)
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! // The resource's 10 s apply; the client asked for less, and gets a 504 after 1 s.
//! assert_eq!(app.clone().oneshot(get("1000")).await.unwrap().status(), 504);
//! // Asking for more than 10 s does not lengthen it: 5 s is within, so 200.
//! assert_eq!(app.clone().oneshot(get("60000")).await.unwrap().status(), 200);
//! // Garbage is refused.
//! assert_eq!(app.oneshot(get("1s")).await.unwrap().status(), 400);
//! # }
//! ```

use std::time::Duration;

use http::header::HeaderName;
use http::Request;

use crate::ApiError;

/// The longest deadline a header can ask for when nothing else bounds it.
const MAX_DEADLINE: Duration = Duration::from_secs(86_400);

/// Digits accepted in the header: 15 digits of milliseconds are 31 000 years.
const MAX_DIGITS: usize = 15;

/// The request's deadline: `configured` (the resource's or the layer's timeout), shortened by
/// the `header` when the request carries it.
#[inline]
pub(crate) fn timeout<B>(
    req: &Request<B>,
    header: Option<&HeaderName>,
    configured: Option<Duration>,
) -> Result<Option<Duration>, ApiError> {
    let Some(value) = header.and_then(|name| req.headers().get(name)) else {
        return Ok(configured);
    };
    let millis = parse_millis(value.as_bytes()).ok_or_else(malformed)?;
    let asked = Duration::from_millis(millis);
    Ok(Some(asked.min(configured.unwrap_or(MAX_DEADLINE))))
}

/// Whole milliseconds: 1 to 15 ASCII digits, nothing else. No allocation, no `str`.
pub(crate) fn parse_millis(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > MAX_DIGITS {
        return None;
    }
    bytes.iter().try_fold(0_u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

fn malformed() -> ApiError {
    ApiError::bad_request()
        .with_detail("The request's deadline header must be a whole number of milliseconds.")
}

/// `504 gateway_timeout` for a deadline shorter than the service needs.
pub(crate) fn too_short() -> ApiError {
    ApiError::gateway_timeout().with_detail(
        "The request's deadline is shorter than this service needs to answer; it was not attempted.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_milliseconds_only() {
        assert_eq!(parse_millis(b"0"), Some(0));
        assert_eq!(parse_millis(b"1500"), Some(1500));
        assert_eq!(parse_millis(b"007"), Some(7));
        assert_eq!(parse_millis(b"999999999999999"), Some(999_999_999_999_999));
        for garbage in [
            &b""[..],
            b"1000000000000000",
            b"-1",
            b"+1",
            b" 1",
            b"1 ",
            b"1.5",
            b"1s",
            b"1e3",
            b"0x10",
            b"\xd9\xa1",
        ] {
            assert_eq!(parse_millis(garbage), None, "{garbage:?}");
        }
    }

    fn with_header(value: &'static str) -> Request<()> {
        Request::builder()
            .header("x-request-timeout-ms", value)
            .body(())
            .unwrap()
    }

    #[test]
    fn the_header_shortens_and_never_lengthens() {
        let name = HeaderName::from_static("x-request-timeout-ms");
        let ten = Some(Duration::from_secs(10));
        let timeout = |value, configured| timeout(&with_header(value), Some(&name), configured);
        assert_eq!(
            timeout("250", ten).unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(timeout("60000", ten).unwrap(), ten);
        assert_eq!(timeout("0", ten).unwrap(), Some(Duration::ZERO));
        // Nothing configured: the header is clamped to a day.
        assert_eq!(timeout("5", None).unwrap(), Some(Duration::from_millis(5)));
        assert_eq!(
            timeout("999999999999999", None).unwrap(),
            Some(MAX_DEADLINE)
        );
        assert_eq!(timeout("soon", ten).unwrap_err().status(), 400);
    }

    #[test]
    fn without_the_header_or_its_configuration_the_timeout_is_the_configured_one() {
        let ten = Some(Duration::from_secs(10));
        assert_eq!(timeout(&with_header("1"), None, ten).unwrap(), ten);
        let other = HeaderName::from_static("grpc-timeout");
        assert_eq!(timeout(&with_header("1"), Some(&other), ten).unwrap(), ten);
    }
}
