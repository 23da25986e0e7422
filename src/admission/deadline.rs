//! Deadlines: a timeout per resource, an inbound deadline header that shortens it, and
//! deadline-aware admission. Documented on
//! [`ApiErrorLayer::deadline_header`](crate::ApiErrorLayer::deadline_header).

use std::sync::OnceLock;
use std::time::Duration;

use http::header::HeaderName;
use http::Request;

use crate::respond::canned::Canned;
use crate::ApiError;

/// The longest deadline a header can ask for when nothing else bounds it.
const MAX_DEADLINE: Duration = Duration::from_secs(86_400);

/// Digits accepted in the header: 15 digits of milliseconds are 31 000 years.
const MAX_DIGITS: usize = 15;

/// The request's deadline: `configured` (the resource's or the layer's timeout), shortened by
/// the `header` when the request carries it.
#[inline(always)]
pub(crate) fn timeout<B>(
    req: &Request<B>,
    header: Option<&HeaderName>,
    configured: Option<Duration>,
) -> Result<Option<Duration>, &'static Canned> {
    match header {
        None => Ok(configured),
        Some(name) => asked(req, name, configured),
    }
}

/// [`timeout`] when the layer reads a deadline header.
fn asked<B>(
    req: &Request<B>,
    header: &HeaderName,
    configured: Option<Duration>,
) -> Result<Option<Duration>, &'static Canned> {
    let Some(value) = req.headers().get(header) else {
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

/// `400 bad_request` for a deadline header that is not a number of milliseconds.
fn malformed() -> &'static Canned {
    static MALFORMED: OnceLock<Canned> = OnceLock::new();
    MALFORMED.get_or_init(|| {
        Canned::new(
            ApiError::bad_request().with_detail(
                "The request's deadline header must be a whole number of milliseconds.",
            ),
        )
    })
}

/// `504 gateway_timeout` for a deadline shorter than the resource needs (or zero), rendered
/// once, with `retryable: false`: a client that sends deadlines too short sends many.
pub(crate) fn too_short() -> &'static Canned {
    static TOO_SHORT: OnceLock<Canned> = OnceLock::new();
    TOO_SHORT.get_or_init(|| {
        // Not retryable: the same request, with the same deadline, fails again.
        Canned::new(
            ApiError::gateway_timeout()
                .with_detail(
                    "The request's deadline is shorter than this service needs to answer; it \
                     was not attempted.",
                )
                .retryable(false),
        )
    })
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
        assert_eq!(timeout("soon", ten).unwrap_err().error().status(), 400);
    }

    #[test]
    fn without_the_header_or_its_configuration_the_timeout_is_the_configured_one() {
        let ten = Some(Duration::from_secs(10));
        assert_eq!(timeout(&with_header("1"), None, ten).unwrap(), ten);
        let other = HeaderName::from_static("grpc-timeout");
        assert_eq!(timeout(&with_header("1"), Some(&other), ten).unwrap(), ten);
    }
}
