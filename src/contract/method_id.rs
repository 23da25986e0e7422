//! Request methods as the layer keeps them: a [`MethodId`] (one byte, computed once per
//! request) and the `Allow` values written from lists of methods.

use http::{HeaderValue, Method};

/// RFC 9110's methods and `PATCH`, in the order of the names errors quote.
pub(crate) const STANDARD: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::CONNECT,
    Method::TRACE,
];

/// A request method as its index in [`STANDARD`] (then `QUERY`), computed once per request so
/// that every later check is an integer comparison or a bit test, and an error can quote the
/// method's name without keeping the request's `Method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MethodId(u8);

/// The names of the methods a [`MethodId`] knows, in its order.
const NAMES: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "QUERY",
];

impl MethodId {
    pub(crate) const HEAD: Self = Self(1);
    pub(crate) const OPTIONS: Self = Self(6);
    /// An extension method other than `QUERY`.
    pub(crate) const OTHER: Self = Self(u8::MAX);

    #[inline]
    pub(crate) fn of(method: &Method) -> Self {
        // `STANDARD` lists the methods in `NAMES`' order; GET, the most common, comes first.
        match STANDARD.iter().position(|m| m == method) {
            Some(i) => Self(i as u8),
            None if method.as_str() == "QUERY" => Self(9),
            None => Self::OTHER,
        }
    }

    /// The method's name, unless it is an extension method other than `QUERY`.
    pub(crate) fn name(self) -> Option<&'static str> {
        NAMES.get(usize::from(self.0)).copied()
    }

    /// The method's bit in a [`MethodPolicy`](crate::policy::MethodPolicy)'s set of methods passed everywhere (none for an
    /// extension method).
    pub(crate) fn bit(self) -> u16 {
        1u16.checked_shl(u32::from(self.0)).unwrap_or(0)
    }
}

/// The `Allow` value for `methods`, in the order given, without duplicates.
pub(crate) fn allow_header(methods: impl IntoIterator<Item = Method>) -> HeaderValue {
    let mut seen: Vec<Method> = Vec::new();
    for method in methods {
        if !seen.contains(&method) {
            seen.push(method);
        }
    }
    let joined = seen
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    // Methods are tokens, so the joined list is always a valid header value.
    HeaderValue::try_from(joined).expect("method tokens form a valid header value")
}

/// The `detail` of a 405: the API document's own words for it.
pub(crate) fn not_supported_detail(method: &str) -> String {
    format!("{method} is not supported for this resource.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_header_drops_duplicates() {
        let value = allow_header([Method::GET, Method::HEAD, Method::GET]);
        assert_eq!(value, "GET, HEAD");
    }
}
