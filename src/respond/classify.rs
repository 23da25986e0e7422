//! Turning an inner service's `Err` into an [`ApiError`].
//!
//! The layer's service never fails (`Error = Infallible`): whatever error the inner service
//! returns is handed to a [`ClassifyError`], which decides the response. The default,
//! [`DefaultClassifier`], recognizes timeouts and overload anywhere in the error's `source()`
//! chain, passes an [`ApiError`] through, and turns everything else into a 500 whose body
//! says nothing of the error (the error itself is logged).
//!
//! A closure `Fn(BoxError) -> ApiError` is a classifier too, and can fall back on the default:
//!
//! ```
//! use tower_api_errors::classify::{BoxError, ClassifyError, DefaultClassifier};
//! use tower_api_errors::{ApiError, ApiErrorLayer};
//!
//! #[derive(Debug)]
//! struct Locked;
//! impl std::fmt::Display for Locked {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
//!         f.write_str("row is locked")
//!     }
//! }
//! impl std::error::Error for Locked {}
//!
//! let layer = ApiErrorLayer::new().classify_errors(|error: BoxError| {
//!     if error.is::<Locked>() {
//!         ApiError::new(http::StatusCode::CONFLICT).with_code("locked")
//!     } else {
//!         DefaultClassifier.classify(error)
//!     }
//! });
//! # let _ = layer;
//! ```

use std::error::Error as StdError;
use std::time::Duration;

use crate::classify::BoxError;
use crate::ApiError;

/// Decides the [`ApiError`] for an error of the inner service.
pub trait ClassifyError {
    /// The error response for `error`.
    ///
    /// ```
    /// use tower_api_errors::classify::{BoxError, ClassifyError, DefaultClassifier};
    /// use tower_api_errors::ApiError;
    ///
    /// // A closure is a classifier.
    /// let teapot = |_error: BoxError| ApiError::new(http::StatusCode::IM_A_TEAPOT);
    /// assert_eq!(teapot.classify("boom".into()).status(), 418);
    /// // The default: an inner timeout is a 504, anything else a 500.
    /// let timeout: BoxError = Box::new(tower::timeout::error::Elapsed::new());
    /// assert_eq!(DefaultClassifier.classify(timeout).status(), 504);
    /// assert_eq!(DefaultClassifier.classify("boom".into()).status(), 500);
    /// ```
    fn classify(&self, error: BoxError) -> ApiError;
}

impl<F> ClassifyError for F
where
    F: Fn(BoxError) -> ApiError,
{
    fn classify(&self, error: BoxError) -> ApiError {
        self(error)
    }
}

/// The classifier the layer uses unless told otherwise.
///
/// | error (anywhere in the `source()` chain) | response |
/// |---|---|
/// | [`ApiError`] (at the top) | itself |
/// | `tower::timeout::error::Elapsed`, `tokio::time::error::Elapsed`, `io::ErrorKind::TimedOut` | 504 `gateway_timeout` |
/// | `tower::load_shed::error::Overloaded` | 503 `overloaded`, `Retry-After: 1` |
/// | anything else | 500 `internal_error`, logged at `error` level, text never sent |
///
/// ```
/// use tower_api_errors::classify::{BoxError, ClassifyError, DefaultClassifier};
///
/// let timed_out: BoxError = Box::new(std::io::Error::from(std::io::ErrorKind::TimedOut));
/// assert_eq!(DefaultClassifier.classify(timed_out).status(), 504);
///
/// let secret: BoxError = "connection to 10.0.0.7 refused".into();
/// let error = DefaultClassifier.classify(secret);
/// assert_eq!(error.status(), 500);
/// assert!(!error.detail().contains("10.0.0.7"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultClassifier;

/// `Retry-After` of a 503 caused by the inner service's own load shedding.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);

impl ClassifyError for DefaultClassifier {
    fn classify(&self, error: BoxError) -> ApiError {
        let error = match error.downcast::<ApiError>() {
            Ok(api_error) => return *api_error,
            Err(error) => error,
        };
        let mut cause: Option<&(dyn StdError + 'static)> = Some(&*error);
        while let Some(current) = cause {
            if is_timeout(current) {
                return ApiError::gateway_timeout();
            }
            if current.is::<tower::load_shed::error::Overloaded>() {
                return ApiError::overloaded(SHED_RETRY_AFTER);
            }
            cause = current.source();
        }
        tracing::error!(target: "tower_api_errors::classify", error = %error, "inner service failed; answering 500");
        ApiError::internal_error()
    }
}

fn is_timeout(error: &(dyn StdError + 'static)) -> bool {
    error.is::<tower::timeout::error::Elapsed>()
        || error.is::<tokio::time::error::Elapsed>()
        || error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(BoxError);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn recognizes_causes_deep_in_the_chain() {
        let elapsed = Wrapper(Box::new(tower::timeout::error::Elapsed::new()));
        assert_eq!(DefaultClassifier.classify(Box::new(elapsed)).status(), 504);
        let shed = Wrapper(Box::new(tower::load_shed::error::Overloaded::new()));
        let error = DefaultClassifier.classify(Box::new(shed));
        assert_eq!(error.code(), "overloaded");
        assert_eq!(error.headers()["retry-after"], "1");
    }

    #[test]
    fn api_errors_pass_through() {
        let error = DefaultClassifier.classify(Box::new(ApiError::forbidden()));
        assert_eq!(error.code(), "forbidden");
    }

    #[tokio::test]
    async fn tokio_elapsed_is_a_timeout() {
        let elapsed = tokio::time::timeout(Duration::ZERO, std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(DefaultClassifier.classify(Box::new(elapsed)).status(), 504);
    }
}
