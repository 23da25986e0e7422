//! [`Json`]: axum's JSON extractor and response, with rejections in the documented error body
//! and a field list (`errors`) saying where a body went wrong.

use std::borrow::Cow;
use std::ops::{Deref, DerefMut};

use axum_core::extract::{FromRequest, OptionalFromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize as _;
use serde::Serialize;
use serde_json::error::Category;
use serde_path_to_error::Segment;

use crate::contract::field_errors::{push_segment, FieldError};
use crate::ApiError;

/// The longest `detail` of one item the crate writes from what it parsed; longer text is cut
/// (on a character boundary), so that a hostile body cannot grow the error body.
pub(crate) const MAX_ITEM_DETAIL: usize = 256;

/// The longest `pointer` the crate writes from what it parsed: a longer one is cut back to the
/// nearest enclosing member that fits, which still contains the problem.
pub(crate) const MAX_POINTER: usize = 256;

/// A drop-in for `axum::Json<T>`: extracts `T` from a JSON body and answers with JSON, but its
/// rejections are [`ApiError`]s that say where the body went wrong.
///
/// | the request | status | `error` | `errors` |
/// |---|---|---|---|
/// | no `Content-Type`, or not `application/json` / `application/*+json` | 415 | `unsupported_media_type` | — |
/// | body over the limit (axum's `DefaultBodyLimit`, 2 MB unless changed) | 413 | `payload_too_large` | — |
/// | not JSON (`{"customer_id":`, trailing text, not UTF-8) | 400 | `bad_request` | `""` (the whole document): the detail gives the line and column |
/// | a required member missing | 400 | `missing_parameter`, with `param` (the member's name) | the missing member: `/customer_id`, `/items/0/quantity` |
/// | a value of the wrong type, a number it cannot hold (`1e400` for a `u64`), an unknown member (`deny_unknown_fields`), an unknown variant… | 400 | `invalid_body` | the value: `/items/0/quantity` |
/// | a member given twice | 400 | `invalid_body` | the member: `/customer_id` |
/// | a document of the wrong type (`42` for a struct) | 400 | `invalid_body` | `""`, the detail says what JSON was expected: `expected an object` |
///
/// Rejections are classified by what the client got wrong: a body that is not JSON is
/// `bad_request` even where it also has a member that does not fit, and a JSON document that
/// does not fit `T` is `invalid_body` at the member, even where serde_json calls it a syntax
/// error (a number out of range, a number for an enum). Details never name the server's Rust
/// types: serde's `expected struct Order`, `tuple variant Payment::Iban`, "untagged enum …"
/// are sent as the JSON expected instead (`an object`, `an array`, `an array of 2 elements`).
/// A handler's own `Deserialize` messages (custom impls, `#[serde(expecting = "…")]`) are
/// sent as written.
/// | the body could not be read | 400 | `bad_request` | — |
///
/// A body that does not match `T` is a `400`, not axum's `422`: it is as malformed as a missing
/// parameter (the API document's 400 row). `422` is kept for values that are well-formed but
/// break a handler's rules: [`ApiError::invalid_params`].
///
/// Details and pointers built from the body are cut at 256 bytes (a pointer back to the
/// nearest enclosing member that fits), so a hostile body cannot grow the error body.
///
/// ```
/// use axum::{routing::post, Router};
/// use http::{Request, StatusCode};
/// use http_body_util::BodyExt;
/// use serde::Deserialize;
/// use tower::ServiceExt;
/// use tower_api_errors::extract::Json;
///
/// #[derive(Deserialize)]
/// struct NewNote {
///     customer_id: u64,
///     body: String,
/// }
///
/// async fn create(Json(note): Json<NewNote>) -> (StatusCode, Json<serde_json::Value>) {
///     let _ = note.body;
///     (StatusCode::CREATED, Json(serde_json::json!({"ok": true, "customer": note.customer_id})))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new().route("/notes", post(create));
/// let req = Request::post("/notes")
///     .header("content-type", "application/json")
///     .body(axum::body::Body::from(r#"{"customer_id": "1001", "body": "hi"}"#))
///     .unwrap();
/// let response = app.oneshot(req).await.unwrap();
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(body["error"], "invalid_body");
/// assert_eq!(body["errors"][0]["pointer"], "/customer_id");
/// assert_eq!(body["errors"][0]["detail"], "invalid type: string \"1001\", expected u64");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| unreadable_body(rejection.status()))?;
        Self::from_bytes(&bytes)
    }
}

/// `Option<Json<T>>`: `None` without a `Content-Type` (a request without a body), as axum's.
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        if req.headers().contains_key(CONTENT_TYPE) {
            <Self as FromRequest<S>>::from_request(req, state)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<T: DeserializeOwned> Json<T> {
    /// Deserializes `bytes`, with the rejections of the extractor (400s with `errors`).
    ///
    /// ```
    /// use tower_api_errors::extract::Json;
    ///
    /// let error = Json::<Vec<u8>>::from_bytes(b"[1, 2, 300]").unwrap_err();
    /// assert_eq!(error.status(), 400);
    /// assert_eq!(error.member("errors").unwrap()[0]["pointer"], "/2");
    /// ```
    ///
    /// # Errors
    ///
    /// When `bytes` is not JSON, or not the JSON of a `T`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ApiError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| rejection(error, bytes))?;
        deserializer.end().map_err(syntax_error)?;
        Ok(Self(value))
    }
}

/// Whether `Content-Type` is `application/json` or `application/*+json`, parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    kind.eq_ignore_ascii_case("application") && (subtype == "json" || subtype.ends_with("+json"))
}

fn unsupported_media_type() -> ApiError {
    ApiError::unsupported_media_type()
        .with_detail("Expected a JSON body with `Content-Type: application/json`.")
}

/// The error for a body that failed to deserialize. Not generic, so it is compiled once.
///
/// Classified by what the client did wrong, not by where the typed parse stopped: a body that
/// is not JSON is a syntax error even when the parse first met a member that does not fit, and
/// a JSON document that does not fit `T` is `invalid_body` (or `missing_parameter`) at the
/// member, even where serde_json calls it a syntax error (`1e400` for a `u64`: "number out of
/// range"; a number for an enum: "expected value"; nesting over its recursion limit).
fn rejection(error: serde_path_to_error::Error<serde_json::Error>, bytes: &[u8]) -> ApiError {
    if let Err(syntax) = check_syntax(bytes) {
        // Where the typed parse stopped at the same place, its words (they name what was
        // expected there: "EOF while parsing a value").
        let inner = error.inner();
        let same_place = syntax.as_ref().is_some_and(|syntax| {
            (syntax.line(), syntax.column()) == (inner.line(), inner.column())
        });
        return match syntax {
            Some(_) if same_place => syntax_error(error.into_inner()),
            Some(syntax) => syntax_error(syntax),
            None => not_json(format!("invalid UTF-8 at byte {}", utf8_error(bytes))),
        };
    }
    let mut pointer = String::new();
    let mut complete = true;
    for segment in error.path() {
        match segment {
            Segment::Seq { index } => push_segment(&mut pointer, &index.to_string()),
            Segment::Map { key } => push_segment(&mut pointer, key),
            Segment::Enum { variant } => push_segment(&mut pointer, variant),
            // A place serde could not name: point at what encloses it.
            Segment::Unknown => {
                complete = false;
                break;
            }
        }
    }
    let inner = error.into_inner();
    let mut message = without_type_names(&message(&inner)).into_owned();
    if inner.classify() == Category::Syntax && message == "expected value" {
        // The document is JSON: serde_json says this of an enum given neither a variant name
        // nor an object of one member.
        message = "invalid type, expected a string or an object with one member".to_owned();
    }
    let named = |prefix| complete.then(|| quoted_after(&message, prefix)).flatten();
    if let Some(name) = named("missing field `") {
        let name = name.to_owned();
        push_segment(&mut pointer, &name);
        return ApiError::missing_parameter(name).with_field_errors([item(pointer, &message)]);
    }
    // serde reports a member given twice from the object that holds it, before the member's
    // value is read: the path ends at the object, the member is named in the message.
    let duplicate = named("duplicate field `").map(str::to_owned);
    if let Some(name) = &duplicate {
        push_segment(&mut pointer, name);
    }
    // An unknown member (`deny_unknown_fields`) is already the last segment of the path.
    let item = item(pointer, &message);
    let detail = if item.pointer().is_empty() {
        format!(
            "The body does not have the expected shape: {}.",
            item.detail()
        )
    } else if duplicate.is_some() {
        format!("The body has a duplicate member at {}.", item.pointer())
    } else {
        format!("The body has an invalid value at {}.", item.pointer())
    };
    ApiError::bad_request()
        .with_code("invalid_body")
        .with_detail(detail)
        .with_field_errors([item])
}

/// A body that could not be read: too large (413), or cut off (400).
pub(crate) fn unreadable_body(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large()
    } else {
        ApiError::bad_request().with_detail("The request body could not be read.")
    }
}

/// Whether `bytes` is one JSON text (RFC 8259): UTF-8 (`Err(None)` when not), the grammar,
/// nothing after it (`Err(Some(_))`, where it breaks). Numbers of any size and any depth are
/// JSON here (serde_json skips values without converting them and without recursion), so only
/// what the client got wrong in the syntax is refused. Run on the error path only.
fn check_syntax(bytes: &[u8]) -> Result<(), Option<serde_json::Error>> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(None);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    IgnoredAny::deserialize(&mut deserializer)
        .and_then(|_| deserializer.end())
        .map_err(Some)
}

/// The offset of the first byte that is not UTF-8.
fn utf8_error(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len)
}

fn syntax_error(error: serde_json::Error) -> ApiError {
    not_json(error.to_string())
}

fn not_json(detail: String) -> ApiError {
    let detail = shorten(&detail, MAX_ITEM_DETAIL).into_owned();
    ApiError::bad_request()
        .with_detail(format!("The body is not valid JSON: {detail}."))
        .with_field_errors([FieldError::new(Vec::<&str>::new(), detail)])
}

/// `message` without the names of the server's Rust types that serde's derived `Deserialize`
/// puts in it (`expected struct Order`, `expected tuple variant Payment::Iban`, "…of untagged
/// enum Either"): the JSON the client should have sent instead (`expected an object`).
fn without_type_names(message: &str) -> Cow<'_, str> {
    const EXPECTED: &str = ", expected ";
    if message.starts_with("data did not match any variant of untagged enum ") {
        return Cow::Borrowed("data did not match any of the accepted shapes");
    }
    // The last one: what comes before it may quote the client's text, what follows is serde's.
    let Some(at) = message.rfind(EXPECTED) else {
        return Cow::Borrowed(message);
    };
    match json_shape(&message[at + EXPECTED.len()..]) {
        Some(shape) => Cow::Owned(format!("{}{EXPECTED}{shape}", &message[..at])),
        None => Cow::Borrowed(message),
    }
}

/// The JSON shape that serde's `expecting` text of a derived type stands for: `struct Order`
/// is an object, `tuple struct Pair with 2 elements` an array of 2 elements. `None` when the
/// text names no derived type (`u64`, `a sequence`, `one of `a`, `b``).
fn json_shape(expected: &str) -> Option<Cow<'static, str>> {
    const KINDS: [(&str, &str); 8] = [
        ("struct variant ", "an object"),
        ("tuple variant ", "an array"),
        ("tuple struct ", "an array"),
        ("unit struct ", "null"),
        ("internally tagged enum ", "an object"),
        ("adjacently tagged enum ", "an object"),
        ("struct ", "an object"),
        ("enum ", "a string or an object with one member"),
    ];
    let (kind, shape) = KINDS.iter().find(|(kind, _)| expected.starts_with(kind))?;
    let rest = &expected[kind.len()..];
    let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let is_type_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == ':');
    if !is_type_name {
        return None;
    }
    // `visit_seq` of a struct or tuple that got too few elements: "… with 2 elements".
    match tail.strip_prefix("with ") {
        Some(count) => Some(Cow::Owned(format!("an array of {count}"))),
        // Anything else after the name is dropped with it.
        None => Some(Cow::Borrowed(shape)),
    }
}

/// serde_json's message without the " at line L column C" it appends.
fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_owned(),
        None => text,
    }
}

/// The name between `prefix` and the next backtick: serde's "missing field `x`".
pub(crate) fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once('`').map(|(name, _)| name)
}

/// One item, with the pointer cut back to whole segments and the detail cut to size.
pub(crate) fn item(mut pointer: String, detail: &str) -> FieldError {
    while pointer.len() > MAX_POINTER {
        let end = pointer.rfind('/').unwrap_or(0);
        pointer.truncate(end);
    }
    let detail = shorten(detail, MAX_ITEM_DETAIL).into_owned();
    FieldError::at_pointer(pointer, detail).expect("built from escaped segments")
}

/// `text` cut to at most `max` bytes, on a character boundary, with `…` when cut.
pub(crate) fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// Serializes `T` as the response body, with `Content-Type: application/json`, as axum's `Json`
/// does; a value that fails to serialize is a `500 internal_error` (the reason is logged).
///
/// ```
/// use axum::response::IntoResponse;
/// use tower_api_errors::extract::Json;
///
/// let response = Json(serde_json::json!({"ok": true})).into_response();
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = BytesMut::with_capacity(128).writer();
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                buf.into_inner().freeze(),
            )
                .into_response(),
            Err(error) => {
                tracing::error!(target: "tower_api_errors::json", %error, "a response body failed to serialize");
                ApiError::internal_error().into_response()
            }
        }
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T> From<T> for Json<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Order {
        customer_id: u64,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        sku: String,
        quantity: u32,
    }

    fn reject(body: &str) -> ApiError {
        Json::<Order>::from_bytes(body.as_bytes()).unwrap_err()
    }

    fn first(error: &ApiError) -> (String, String) {
        let item = &error.member("errors").expect("errors")[0];
        (
            item["pointer"].as_str().unwrap().to_owned(),
            item["detail"].as_str().unwrap().to_owned(),
        )
    }

    #[test]
    fn a_missing_member_points_at_itself() {
        let error = reject(r#"{"items": []}"#);
        assert_eq!(error.code(), "missing_parameter");
        assert_eq!(error.member("param"), Some(&"customer_id".into()));
        assert_eq!(
            first(&error),
            ("/customer_id".into(), "missing field `customer_id`".into())
        );
        let nested = reject(r#"{"customer_id": 1, "items": [{"sku": "a"}]}"#);
        assert_eq!(first(&nested).0, "/items/0/quantity");
    }

    #[test]
    fn a_wrong_type_points_at_the_value() {
        let error = reject(r#"{"customer_id": 1, "items": [{"sku": "a", "quantity": -1}]}"#);
        assert_eq!(error.status(), 400);
        assert_eq!(error.code(), "invalid_body");
        assert_eq!(
            first(&error),
            (
                "/items/0/quantity".into(),
                "invalid value: integer `-1`, expected u32".into()
            )
        );
        assert_eq!(
            error.detail(),
            "The body has an invalid value at /items/0/quantity."
        );
    }

    #[test]
    fn an_unknown_member_points_at_itself() {
        let error = reject(r#"{"customer_id": 1, "items": [], "a/b~": 2}"#);
        assert_eq!(error.code(), "invalid_body");
        assert_eq!(first(&error).0, "/a~1b~0");
    }

    #[test]
    fn the_wrong_document_type_points_at_the_root() {
        let error = reject("42");
        assert_eq!(first(&error).0, "");
        assert_eq!(
            error.detail(),
            "The body does not have the expected shape: invalid type: integer `42`, expected an object."
        );
    }

    #[test]
    fn type_names_become_json_shapes() {
        for (message, client) in [
            (
                "invalid type: integer `42`, expected struct Order",
                "invalid type: integer `42`, expected an object",
            ),
            (
                "invalid length 1, expected struct Order with 2 elements",
                "invalid length 1, expected an array of 2 elements",
            ),
            (
                "invalid type: integer `4`, expected tuple variant Pay::Iban",
                "invalid type: integer `4`, expected an array",
            ),
            (
                "invalid type: string \", expected struct X\", expected unit struct Unit",
                "invalid type: string \", expected struct X\", expected null",
            ),
            (
                "data did not match any variant of untagged enum Either",
                "data did not match any of the accepted shapes",
            ),
            (
                "unknown field `x`, expected one of `a`, `b`",
                "unknown field `x`, expected one of `a`, `b`",
            ),
            (
                "invalid type: string \"1\", expected u64",
                "invalid type: string \"1\", expected u64",
            ),
        ] {
            assert_eq!(without_type_names(message), client, "{message}");
        }
    }

    #[test]
    fn syntax_errors_point_at_the_document_with_the_position() {
        for (body, detail) in [
            (
                r#"{"customer_id":"#,
                "EOF while parsing a value at line 1 column 15",
            ),
            (
                r#"{"customer_id": 1, "items": []} x"#,
                "trailing characters at line 1 column 33",
            ),
            ("", "EOF while parsing a value at line 1 column 0"),
        ] {
            let error = reject(body);
            assert_eq!(error.code(), "bad_request", "{body}");
            assert_eq!(first(&error), (String::new(), detail.to_owned()), "{body}");
        }
    }

    #[test]
    fn hostile_keys_and_values_are_cut() {
        let key = "k".repeat(10_000);
        let body = format!(r#"{{"{key}": "{}"}}"#, "v".repeat(10_000));
        let error =
            Json::<std::collections::HashMap<String, u8>>::from_bytes(body.as_bytes()).unwrap_err();
        let (pointer, detail) = first(&error);
        assert_eq!(pointer, "", "cut back to the enclosing document");
        assert!(detail.len() <= MAX_ITEM_DETAIL, "{}", detail.len());
        assert!(error.detail().len() <= 512);
    }

    #[test]
    fn shorten_cuts_on_a_char_boundary() {
        let long = "é".repeat(300);
        let short = shorten(&long, 256);
        assert!(short.len() <= 256, "{}", short.len());
        assert!(short.ends_with('…'));
        assert_eq!(shorten("short", 256), "short");
    }

    #[test]
    fn content_types() {
        let headers = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            headers
        };
        for good in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "application/merge-patch+json",
        ] {
            assert!(is_json(&headers(good)), "{good}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "json",
            "application/json-seq",
        ] {
            assert!(!is_json(&headers(bad)), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
