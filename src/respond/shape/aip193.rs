//! [`Aip193`]: Google's error model (AIP-193), a `google.rpc.Status` in its JSON form.

use std::borrow::Cow;

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::respond::shape::{ErrorFacts, ErrorShape};

/// Error bodies as Google APIs send them ([AIP-193](https://google.aip.dev/193)): a
/// `google.rpc.Status` in its JSON form, with the details a client library reads.
///
/// ```json
/// {"error": {
///   "code": 503,
///   "message": "The server is overloaded; retry after the time in Retry-After.",
///   "status": "UNAVAILABLE",
///   "details": [
///     {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
///      "reason": "OVERLOADED", "domain": "api.example.com", "metadata": {"retryable": "true"}},
///     {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
///   ]}}
/// ```
///
/// - `code` is the HTTP status, `status` the `google.rpc.Code` that goes with it (the mapping
///   of `google/rpc/code.proto`; another 4xx is `FAILED_PRECONDITION`, another 5xx `INTERNAL`),
///   `message` the error's detail.
/// - `ErrorInfo`, always: `reason` is the error code in UPPER_SNAKE_CASE, `domain` the one
///   configured, `metadata` (strings only) says `retryable`, the `allowed` methods of a 405 or a
///   501, and the error's own members (keys in lowerCamelCase, values that are not strings as
///   JSON text).
/// - `BadRequest` with a `fieldViolation` per field error (`field` as a path:
///   `items[0].sku`), `RetryInfo` from `Retry-After`, `RequestInfo` with the request's
///   `x-request-id`: when there is one.
///
/// Its schema is `schema/aip193.schema.json`; the test suite also reads every answer of the
/// demo with the `googleapis-common-protos` definitions.
///
/// ```
/// use tower_api_errors::shape::Aip193;
/// use tower_api_errors::ApiErrorLayer;
///
/// let layer = ApiErrorLayer::new().offer_shape(Aip193::new("api.example.com"));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct Aip193 {
    domain: Cow<'static, str>,
    media_type: Cow<'static, str>,
}

impl Aip193 {
    /// Its media type unless [set](Self::media_type): there is no registered one, and Google
    /// serves `application/json`.
    pub const MEDIA_TYPE: &'static str = "application/vnd.google.rpc.status+json";

    /// Errors of the service `domain` (the `ErrorInfo.domain`, e.g. `api.example.com`).
    ///
    /// ```
    /// use tower_api_errors::shape::{Aip193, ErrorShape};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let shape = Aip193::new("api.example.com");
    /// assert_eq!(ErrorShape::media_type(&shape), Aip193::MEDIA_TYPE);
    /// let layer = ApiErrorLayer::new().offer_shape(shape);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn new(domain: impl Into<Cow<'static, str>>) -> Self {
        Self {
            domain: domain.into(),
            media_type: Cow::Borrowed(Self::MEDIA_TYPE),
        }
    }

    /// The media type it is sent as and chosen by (default [`Aip193::MEDIA_TYPE`]);
    /// `application/json` makes it the API's JSON.
    ///
    /// ```
    /// use tower_api_errors::shape::{Aip193, ErrorShape};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// // As Google serves it: the API's JSON is google.rpc.Status.
    /// let shape = Aip193::new("api.example.com").media_type("application/json");
    /// assert_eq!(ErrorShape::media_type(&shape), "application/json");
    /// let layer = ApiErrorLayer::new().shape(shape);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn media_type(mut self, media_type: impl Into<Cow<'static, str>>) -> Self {
        self.media_type = media_type.into();
        self
    }
}

impl ErrorShape for Aip193 {
    fn media_type(&self) -> &str {
        &self.media_type
    }

    fn write(&self, e: &ErrorFacts<'_>, body: &mut Vec<u8>) {
        let mut metadata = Map::new();
        metadata.insert("retryable".into(), e.is_retryable().to_string().into());
        let allowed = e.allowed_methods();
        if !allowed.is_empty() {
            metadata.insert("allowed".into(), allowed.join(", ").into());
        }
        for (key, value) in e.members() {
            if let Some(key) = metadata_key(key) {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                metadata.insert(key, text.into());
            }
        }
        let mut details = vec![json!({
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason(e.code()),
            "domain": self.domain,
            "metadata": metadata,
        })];
        let violations: Vec<Value> = e
            .field_errors()
            .map(|(pointer, detail)| json!({"field": field_path(pointer), "description": detail}))
            .collect();
        if !violations.is_empty() {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": violations,
            }));
        }
        if let Some(delay) = e.retry_after() {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{}s", delay.as_secs()),
            }));
        }
        if let Some(id) = e.request_id() {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RequestInfo",
                "requestId": id,
            }));
        }
        let status = json!({"error": {
            "code": e.status().as_u16(),
            "message": e.detail(),
            "status": rpc_code(e.status()),
            "details": details,
        }});
        // Writing into a Vec cannot fail, and a `Value` always serializes.
        serde_json::to_writer(body, &status).expect("a JSON value serializes");
    }

    fn schema(&self) -> Value {
        serde_json::from_str(include_str!("../../../schema/aip193.schema.json"))
            .expect("schema/aip193.schema.json is JSON")
    }
}

/// The `google.rpc.Code` of an HTTP status, as `google/rpc/code.proto` maps them.
fn rpc_code(status: StatusCode) -> &'static str {
    if !status.is_client_error() {
        return match status.as_u16() {
            501 => "UNIMPLEMENTED",
            503 => "UNAVAILABLE",
            504 => "DEADLINE_EXCEEDED",
            _ => "INTERNAL",
        };
    }
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        408 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        416 => "OUT_OF_RANGE",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        // 412 and every other 4xx.
        _ => "FAILED_PRECONDITION",
    }
}

/// An `ErrorInfo.reason`: `[A-Z][A-Z0-9_]+[A-Z0-9]`, at most 63 characters (AIP-193).
fn reason(code: &str) -> String {
    let mut reason = String::with_capacity(code.len());
    for c in code.chars() {
        if c.is_ascii_alphanumeric() {
            reason.push(c.to_ascii_uppercase());
        } else if !reason.is_empty() && !reason.ends_with('_') {
            reason.push('_');
        }
    }
    if !reason.starts_with(|c: char| c.is_ascii_uppercase()) {
        reason.insert_str(0, "ERROR_");
    }
    reason.truncate(63);
    while reason.ends_with('_') {
        reason.pop();
    }
    if reason.len() < 3 {
        reason.push_str("_ERROR");
    }
    reason
}

/// A metadata key in lowerCamelCase (`retry_in` becomes `retryIn`), or `None` when nothing of
/// `key` can be one (`[a-z][a-zA-Z0-9]*`, at most 64 characters).
fn metadata_key(key: &str) -> Option<String> {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            upper = !out.is_empty();
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    let valid = out.starts_with(|c: char| c.is_ascii_lowercase()) && out.len() <= 64;
    valid.then_some(out)
}

/// A JSON Pointer as the path of a field: `/items/0/sku` is `items[0].sku`.
fn field_path(pointer: &str) -> String {
    let mut path = String::with_capacity(pointer.len());
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !path.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) && !segment.is_empty() {
            path.push('[');
            path.push_str(&segment);
            path.push(']');
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&segment);
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_upper_snake_case() {
        assert_eq!(reason("not_found"), "NOT_FOUND");
        assert_eq!(reason("method-not-allowed"), "METHOD_NOT_ALLOWED");
        assert_eq!(reason("v2.quota__exceeded_"), "V2_QUOTA_EXCEEDED");
        assert_eq!(reason("404"), "ERROR_404");
        assert_eq!(reason("x"), "X_ERROR");
        assert_eq!(reason(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn metadata_keys_are_lower_camel_case() {
        assert_eq!(metadata_key("retry_in").as_deref(), Some("retryIn"));
        assert_eq!(metadata_key("quota").as_deref(), Some("quota"));
        assert_eq!(metadata_key("_x").as_deref(), Some("x"));
        assert_eq!(metadata_key("Upper"), None);
        assert_eq!(metadata_key("9lives"), None);
    }

    #[test]
    fn field_paths_index_arrays() {
        assert_eq!(field_path("/items/0/sku"), "items[0].sku");
        assert_eq!(field_path("/address/city"), "address.city");
        assert_eq!(field_path("/a~1b/m~0n"), "a/b.m~n");
        assert_eq!(field_path(""), "");
    }
}
