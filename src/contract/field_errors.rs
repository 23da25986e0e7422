//! Field-level problems: the `errors` member, `[{"pointer": "/customer_id", "detail": "…"}]`.
//!
//! Each item names one place in the request's JSON content with a JSON Pointer (RFC 6901:
//! `/address/city`, `/items/0`; `""` is the whole document) and says what is wrong there. The
//! shape is RFC 9457's example of validation errors (§3), with the pointer written plainly
//! rather than as a URI fragment. [`Json`](crate::extract::Json) fills it when a body does not
//! deserialize; [`ApiError::invalid_params`] is for the rules a handler checks itself.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;
use serde_json::{Map, Value};

use crate::ApiError;

/// One problem at one place of the request's JSON content: an item of the `errors` member.
///
/// ```
/// use tower_api_errors::FieldError;
///
/// let error = FieldError::new(["address", "city"], "must not be empty");
/// assert_eq!(error.pointer(), "/address/city");
/// assert_eq!(error.detail(), "must not be empty");
///
/// // Keys are escaped as RFC 6901 says: `~` as `~0`, `/` as `~1`.
/// assert_eq!(FieldError::new(["a/b", "m~n"], "x").pointer(), "/a~1b/m~0n");
/// // Array elements are their index.
/// assert_eq!(FieldError::new(["items".to_string(), 0.to_string()], "x").pointer(), "/items/0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pointer: String,
    detail: Cow<'static, str>,
}

/// A field error's `detail` as the schemas allow it: at most
/// [`MAX_DETAIL_CHARS`](crate::body::MAX_DETAIL_CHARS) characters, and never empty (an empty one
/// would say nothing).
fn field_detail(detail: Cow<'static, str>) -> Cow<'static, str> {
    crate::contract::text::bounded(detail, "FieldError::new")
        .unwrap_or(Cow::Borrowed("Invalid value."))
}

impl FieldError {
    /// A problem at `path` (member names and array indexes, from the document's root; none for
    /// the whole document), described by `detail`.
    ///
    /// ```
    /// use tower_api_errors::FieldError;
    ///
    /// let error = FieldError::new(["items", "0", "sku"], "unknown product");
    /// assert_eq!(error.pointer(), "/items/0/sku");
    /// // Member names are escaped (RFC 6901): `/` is `~1`.
    /// assert_eq!(FieldError::new(["a/b"], "x").pointer(), "/a~1b");
    /// ```
    #[must_use]
    pub fn new(
        path: impl IntoIterator<Item = impl fmt::Display>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Self {
        let mut pointer = String::new();
        for segment in path {
            push_segment(&mut pointer, &segment.to_string());
        }
        Self {
            pointer,
            detail: field_detail(detail.into()),
        }
    }

    /// A problem at a JSON Pointer already written out (`""`, or `/` followed by escaped
    /// segments), or `None` when `pointer` is not one.
    ///
    /// ```
    /// use tower_api_errors::FieldError;
    ///
    /// assert!(FieldError::at_pointer("/items/0/sku", "unknown product").is_some());
    /// assert!(FieldError::at_pointer("items.0", "not a pointer").is_none());
    /// assert!(FieldError::at_pointer("/a~2", "bad escape").is_none());
    /// ```
    #[must_use]
    pub fn at_pointer(
        pointer: impl Into<String>,
        detail: impl Into<Cow<'static, str>>,
    ) -> Option<Self> {
        let pointer = pointer.into();
        is_pointer(&pointer).then(|| Self {
            pointer,
            detail: field_detail(detail.into()),
        })
    }

    /// The JSON Pointer (RFC 6901) to the place of the problem.
    ///
    /// ```
    /// use tower_api_errors::FieldError;
    ///
    /// assert_eq!(FieldError::new(["title"], "is empty").pointer(), "/title");
    /// ```
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// What is wrong there.
    ///
    /// ```
    /// use tower_api_errors::FieldError;
    ///
    /// assert_eq!(FieldError::new(["title"], "is empty").detail(), "is empty");
    /// ```
    pub fn detail(&self) -> &str {
        &self.detail
    }

    fn to_value(&self) -> Value {
        let mut item = Map::new();
        item.insert("pointer".to_owned(), Value::from(self.pointer.as_str()));
        item.insert("detail".to_owned(), Value::from(&*self.detail));
        Value::Object(item)
    }
}

/// Appends one segment to a JSON Pointer, escaped (RFC 6901 §3: `~` → `~0`, `/` → `~1`).
pub(crate) fn push_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Whether `pointer` is a JSON Pointer: empty, or `/`-separated segments whose `~` is always
/// followed by `0` or `1`.
fn is_pointer(pointer: &str) -> bool {
    if pointer.is_empty() {
        return true;
    }
    if !pointer.starts_with('/') {
        return false;
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

impl ApiError {
    /// `422 invalid_params`: the content is well-formed JSON of the right shape, but values in
    /// it break the rules the handler checks (RFC 9110 §15.5.21). `errors` lists each problem.
    ///
    /// A body that does not even deserialize is a `400` from [`Json`](crate::extract::Json): the
    /// request is malformed. A `422` says "well-formed, but I won't process these values", so
    /// a client can tell "fix your serializer" from "fix your input".
    ///
    /// ```
    /// use tower_api_errors::{ApiError, FieldError};
    ///
    /// let error = ApiError::invalid_params([
    ///     FieldError::new(["customer_id"], "must be positive"),
    ///     FieldError::new(["body"], "must not be empty"),
    /// ]);
    /// assert_eq!(error.status(), 422);
    /// assert_eq!(error.code(), "invalid_params");
    /// assert_eq!(
    ///     error.member("errors").unwrap(),
    ///     &serde_json::json!([
    ///         {"pointer": "/customer_id", "detail": "must be positive"},
    ///         {"pointer": "/body", "detail": "must not be empty"},
    ///     ]),
    /// );
    /// ```
    #[must_use]
    pub fn invalid_params(errors: impl IntoIterator<Item = FieldError>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY)
            .with_code("invalid_params")
            .with_detail("Some values of the request are invalid: `errors` lists them.")
            .with_field_errors(errors)
    }

    /// Sets the `errors` member: the field-level problems of this error, replacing any set
    /// before. It is the only way to set `errors` ([`ApiError::with`] ignores that key), so
    /// that the member always has the documented shape.
    ///
    /// ```
    /// use tower_api_errors::{ApiError, FieldError};
    ///
    /// let error = ApiError::missing_parameter("customer_id")
    ///     .with_field_errors([FieldError::new(["customer_id"], "missing field `customer_id`")]);
    /// assert_eq!(error.member("errors").unwrap()[0]["pointer"], "/customer_id");
    ///
    /// // A hand-made `errors` of another shape is refused.
    /// let forged = ApiError::bad_request().with("errors", "anything");
    /// assert_eq!(forged.member("errors"), None);
    /// ```
    #[must_use]
    pub fn with_field_errors(mut self, errors: impl IntoIterator<Item = FieldError>) -> Self {
        let value = Value::Array(errors.into_iter().map(|e| e.to_value()).collect());
        let members = self.members_mut();
        match members.iter_mut().find(|(k, _)| k == "errors") {
            Some((_, v)) => *v = value,
            None => members.push((Cow::Borrowed("errors"), value)),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_escaped_tilde_first() {
        // "~1" as a key must not read back as "/": `~` is escaped before anything else.
        assert_eq!(FieldError::new(["~1"], "x").pointer(), "/~01");
        assert_eq!(FieldError::new([""], "x").pointer(), "/");
        assert_eq!(FieldError::new(Vec::<String>::new(), "x").pointer(), "");
    }

    #[test]
    fn an_empty_detail_still_says_something() {
        let error = ApiError::invalid_params([FieldError::new(["a"], "")]);
        assert_eq!(
            error.member("errors").unwrap()[0]["detail"],
            "Invalid value."
        );
    }

    #[test]
    fn pointers_are_checked() {
        for good in ["", "/", "/a/0", "/~0~1", "//"] {
            assert!(is_pointer(good), "{good}");
        }
        for bad in ["a", "/~", "/~2", "#/a"] {
            assert!(!is_pointer(bad), "{bad}");
        }
    }

    #[test]
    fn field_errors_replace_each_other_and_keep_their_place() {
        let error = ApiError::bad_request()
            .with_field_errors([FieldError::new(["a"], "x")])
            .with("param", "a")
            .with_field_errors([FieldError::new(["b"], "y")]);
        let keys: Vec<_> = error.members().map(|(k, _)| k).collect();
        assert_eq!(keys, ["errors", "param"]);
        assert_eq!(error.member("errors").unwrap()[0]["pointer"], "/b");
    }
}
