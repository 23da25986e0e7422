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
    pub(super) fn code(&self) -> Option<&str> {
        self.json.as_ref()?.get("error")?.as_str()
    }
}

/// The layer's own 405 or 501, which an allowed method must never get.
pub(super) fn is_layer_refusal(answer: &Answer) -> bool {
    matches!(
        (answer.status.as_u16(), answer.code()),
        (405, Some("method_not_allowed")) | (501, Some("not_implemented"))
    )
}

/// What is wrong with an error answer's body.
pub(super) fn body_problems(answer: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    let content_type = answer
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
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
    if answer.status.is_server_error() {
        const INTERNAL: [&str; 5] = ["panicked", "panic", ".rs:", "backtrace", "RUST_BACKTRACE"];
        let text = String::from_utf8_lossy(&answer.body);
        if let Some(marker) = INTERNAL.iter().find(|m| text.contains(*m)) {
            problems.push(format!("a 5xx body with internal text (`{marker}`)"));
        }
    }
    problems
}
