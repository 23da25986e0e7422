//! The methods the server recognizes and the methods a route table can name; the `501` for
//! any other.

use std::sync::OnceLock;

use http::Method;

use crate::contract::method_id::STANDARD;
use crate::respond::canned::Canned;
use crate::ApiError;

/// The methods the server recognizes: RFC 9110's, `PATCH` and `QUERY`, plus the ones added.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecognizedMethods {
    extensions: Vec<Method>,
}

impl RecognizedMethods {
    pub(crate) fn add(&mut self, method: Method) {
        if !self.recognizes(&method) {
            self.extensions.push(method);
        }
    }

    pub(crate) fn recognizes(&self, method: &Method) -> bool {
        // Most traffic is GET: one comparison.
        *method == Method::GET
            || STANDARD.contains(method)
            // QUERY: safe and idempotent, registered with IANA (draft-ietf-httpbis-safe-method-w-body).
            || method.as_str() == "QUERY"
            || self.extensions.contains(method)
    }
}

/// The methods a resource can route, plan or refuse: not `HEAD` (it follows `GET`), `OPTIONS`
/// (the layer answers it from the inner service's 405), `CONNECT` or extension methods (left
/// to the inner service). Named by the integrations that route (axum) or probe (testing).
#[cfg(any(feature = "axum", feature = "testing"))]
pub(crate) const ROUTABLE: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::TRACE,
];

/// The `501 not_implemented` for a method the server does not recognize. Its detail does not
/// echo the method: one answer, rendered once, whatever a scanner sends.
pub(crate) fn unrecognized() -> &'static Canned {
    static UNRECOGNIZED: OnceLock<Canned> = OnceLock::new();
    UNRECOGNIZED.get_or_init(|| {
        Canned::new(
            ApiError::not_implemented()
                .with_detail("The request's method is not one this server recognizes."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognized_methods_are_case_sensitive_and_include_query() {
        let mut recognized = RecognizedMethods::default();
        assert!(recognized.recognizes(&Method::PATCH));
        assert!(!recognized.recognizes(&Method::from_bytes(b"get").unwrap()));
        assert!(recognized.recognizes(&Method::from_bytes(b"QUERY").unwrap()));
        let brew = Method::from_bytes(b"BREW").unwrap();
        assert!(!recognized.recognizes(&brew));
        recognized.add(brew.clone());
        assert!(recognized.recognizes(&brew));
    }
}
