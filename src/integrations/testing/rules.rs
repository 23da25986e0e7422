//! The rules an answer is checked against: the contract's body of an error answer, and what
//! tells the layer's own refusals.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// An answer, its body collected.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    pub(super) json: Option<Value>,
}

impl Answer {
    /// The error code of the document's body; `None` in a shape, whose code is its own.
    pub(super) fn code(&self) -> Option<&str> {
        self.json.as_ref()?.get("error")?.as_str()
    }

    /// The media type of its body, without parameters.
    fn media_type(&self) -> &str {
        let content_type = self.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
    }
}

/// A user's shape as the kit checks it: its media type, and its schema compiled.
pub(super) struct Shape {
    pub(super) media_type: String,
    pub(super) schema: jsonschema::Validator,
}

impl Shape {
    /// Whether `answer` is in this shape.
    pub(super) fn wrote(&self, answer: &Answer) -> bool {
        let essence = self.media_type.split(';').next().unwrap_or("").trim();
        answer.media_type().eq_ignore_ascii_case(essence)
    }
}

/// The layer's own 405 or 501, which an allowed method must never get: its code, or in a
/// shape, whose code the kit cannot read, its status with `Allow`.
pub(super) fn is_layer_refusal(answer: &Answer, shape: Option<&Shape>) -> bool {
    if shape.is_some_and(|shape| shape.wrote(answer)) {
        return matches!(answer.status.as_u16(), 405 | 501)
            && answer.headers.contains_key(http::header::ALLOW);
    }
    matches!(
        (answer.status.as_u16(), answer.code()),
        (405, Some("method_not_allowed")) | (501, Some("not_implemented"))
    )
}

/// What is wrong with an error answer's body: in `shape`, what its schema says; otherwise
/// what the document's body must be.
pub(super) fn body_problems(answer: &Answer, shape: Option<&Shape>) -> Vec<String> {
    let mut problems = match shape.filter(|shape| shape.wrote(answer)) {
        Some(shape) => match &answer.json {
            Some(json) => shape
                .schema
                .iter_errors(json)
                .map(|error| format!("the body violates its shape's schema: {error}"))
                .collect(),
            None => vec!["an error body that is not JSON".to_owned()],
        },
        None => document_problems(answer),
    };
    if answer.status.is_server_error() {
        const INTERNAL: [&str; 5] = ["panicked", "panic", ".rs:", "backtrace", "RUST_BACKTRACE"];
        let text = String::from_utf8_lossy(&answer.body);
        if let Some(marker) = INTERNAL.iter().find(|m| text.contains(*m)) {
            problems.push(format!("a 5xx body with internal text (`{marker}`)"));
        }
    }
    problems
}

/// What is wrong with the document's body (JSON or problem+json).
fn document_problems(answer: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    let content_type = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = answer.media_type();
    if !media.eq_ignore_ascii_case("application/json")
        && !media.eq_ignore_ascii_case("application/problem+json")
    {
        problems.push(format!(
            "an error answer with Content-Type `{content_type}`, not JSON"
        ));
        return problems;
    }
    let Some(body) = answer.json.as_ref().and_then(Value::as_object) else {
        problems.push("an error body that is not a JSON object".to_owned());
        return problems;
    };
    let mut member = |name: &str, ok: bool, what: &str| {
        if !ok {
            problems.push(format!("`{name}` must be {what}"));
        }
    };
    member("ok", body.get("ok") == Some(&Value::Bool(false)), "false");
    member(
        "status",
        body.get("status").and_then(Value::as_u64) == Some(u64::from(answer.status.as_u16())),
        "the HTTP status",
    );
    member(
        "error",
        body.get("error")
            .and_then(Value::as_str)
            .is_some_and(|code| {
                code.starts_with(|c: char| c.is_ascii_lowercase())
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            }),
        "a snake_case string",
    );
    for name in ["message", "detail"] {
        member(
            name,
            body.get(name)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "a non-empty string",
        );
    }
    member(
        "retryable",
        body.get("retryable").is_some_and(Value::is_boolean),
        "a boolean",
    );
    problems
}
