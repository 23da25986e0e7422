//! The status table of the API document (`status-codes.txt`): for each status, the stable
//! `error` code clients switch on, the `message` (the document's Message column) and the
//! default `detail` (its Explanation column).
//!
//! Statuses the document does not list but the ecosystem emits (axum's 415/422, tower-http's
//! 408/413, a 429 from a rate limiter…) get the same treatment, so a normalized response never
//! lacks a code or a message.

use http::StatusCode;

/// The catalog entry of one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) code: &'static str,
    pub(crate) message: &'static str,
    pub(crate) explanation: &'static str,
}

const fn entry(code: &'static str, message: &'static str, explanation: &'static str) -> Entry {
    Entry {
        code,
        message,
        explanation,
    }
}

/// Looks up the entry of `status`; statuses outside the table get a generic entry named after
/// their class, with the standard reason phrase as message.
pub(crate) fn lookup(status: StatusCode) -> Entry {
    match status.as_u16() {
        // The API document's own rows, word for word.
        400 => entry(
            "bad_request",
            "Bad Request",
            "The request was unacceptable, often due to missing a required parameter.",
        ),
        401 => entry(
            "unauthorized",
            "Unauthorized",
            "You are not authenticated or authentication failed.",
        ),
        403 => entry(
            "forbidden",
            "Forbidden",
            "You don't have permission to perform an action or access a resource.",
        ),
        404 => entry(
            "not_found",
            "Not Found",
            "You requested a resource that doesn't exist.",
        ),
        405 => entry(
            "method_not_allowed",
            "Method Not Allowed",
            "You used an HTTP method we don't allow.",
        ),
        500 => entry(
            "internal_error",
            "Server Error",
            "An error occurred on our side.",
        ),
        501 => entry(
            "not_implemented",
            "Not Implemented",
            "You used an HTTP method we currently don't allow, but we will allow it in the future.",
        ),
        503 => entry(
            "service_unavailable",
            "Service Unavailable",
            "We currently can't handle your request. We may be performing maintenance, or we might have received too many requests to process at once.",
        ),
        504 => entry(
            "gateway_timeout",
            "Gateway Timeout",
            "A gateway or proxy server didn't get a response quickly enough.",
        ),
        // What the ecosystem emits besides.
        406 => entry(
            "not_acceptable",
            "Not Acceptable",
            "We can't produce a response in a format your request accepts.",
        ),
        408 => entry(
            "request_timeout",
            "Request Timeout",
            "Your request took too long to arrive.",
        ),
        409 => entry(
            "conflict",
            "Conflict",
            "Your request conflicts with the current state of the resource.",
        ),
        410 => entry(
            "gone",
            "Gone",
            "The resource you requested existed but has been removed.",
        ),
        411 => entry(
            "length_required",
            "Length Required",
            "Your request must declare its Content-Length.",
        ),
        412 => entry(
            "precondition_failed",
            "Precondition Failed",
            "A precondition of your request did not hold.",
        ),
        413 => entry(
            "payload_too_large",
            "Payload Too Large",
            "Your request body is larger than we accept.",
        ),
        414 => entry(
            "uri_too_long",
            "URI Too Long",
            "Your request URI is longer than we accept.",
        ),
        415 => entry(
            "unsupported_media_type",
            "Unsupported Media Type",
            "Your request body has a content type we don't accept.",
        ),
        422 => entry(
            "unprocessable_entity",
            "Unprocessable Entity",
            "Your request was well-formed but its content is invalid.",
        ),
        428 => entry(
            "precondition_required",
            "Precondition Required",
            "Your request must be conditional.",
        ),
        429 => entry(
            "too_many_requests",
            "Too Many Requests",
            "You sent too many requests. Wait before trying again.",
        ),
        431 => entry(
            "request_header_fields_too_large",
            "Request Header Fields Too Large",
            "Your request headers are larger than we accept.",
        ),
        502 => entry(
            "bad_gateway",
            "Bad Gateway",
            "One of our upstream systems answered with an invalid response.",
        ),
        505 => entry(
            "http_version_not_supported",
            "HTTP Version Not Supported",
            "We don't support the HTTP version of your request.",
        ),
        _ if status.is_server_error() => entry(
            "server_error",
            reason(status),
            "An error occurred on our side.",
        ),
        _ => entry(
            "client_error",
            reason(status),
            "Your request could not be processed.",
        ),
    }
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_rows_are_verbatim() {
        let e = lookup(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.message, "Server Error");
        assert_eq!(e.code, "internal_error");
        assert_eq!(
            lookup(StatusCode::NOT_IMPLEMENTED).explanation,
            "You used an HTTP method we currently don't allow, but we will allow it in the future."
        );
    }

    #[test]
    fn unknown_statuses_get_a_class_entry() {
        let teapot = lookup(StatusCode::IM_A_TEAPOT);
        assert_eq!(teapot.code, "client_error");
        assert_eq!(teapot.message, "I'm a teapot");
        let e = lookup(StatusCode::from_u16(599).unwrap());
        assert_eq!(e.code, "server_error");
        assert_eq!(e.message, "Error");
    }
}
