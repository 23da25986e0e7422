//! Error shapes: the body an API already documents, written by the layer for every failure.
//!
//! The document's flat object (`application/json`) and RFC 9457's problem document
//! (`application/problem+json`) are built in and written by the layer's own writer. An
//! [`ErrorShape`] is any other body: a company envelope, [`Aip193`](crate::shape::Aip193)
//! (`google.rpc.Status`), [`JsonApi`](crate::shape::JsonApi) error objects. The layer hands it the
//! [`ErrorFacts`] of each error response, whatever decided it (a refusal of the layer's own, a
//! handler's [`ApiError`](crate::ApiError), a normalized inner answer, a panic, a deadline, a
//! `Json` rejection); the head (status, `Allow`, `Retry-After`, `Vary`, `Content-Length`) stays the
//! layer's.
//!
//! [`ApiErrorLayer::shape`](crate::ApiErrorLayer::shape) makes a shape the default;
//! [`offer_shape`](crate::ApiErrorLayer::offer_shape) offers it to clients that ask for its
//! media type in `Accept`. A body that does not read the request's path or id is rendered once
//! per error and shape, as the document's own canned answers are.
//!
//! ```
//! use serde_json::json;
//! use tower::{service_fn, Layer, ServiceExt};
//! use tower_api_errors::shape::{shape_fn, ErrorFacts};
//! use tower_api_errors::{ApiError, ApiErrorLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let envelope = shape_fn("application/json", |e: &ErrorFacts<'_>| {
//!     json!({"success": false, "error": {"type": e.code(), "message": e.detail()}})
//! });
//! let missing = service_fn(|_req: http::Request<()>| async {
//!     Err::<http::Response<String>, _>(ApiError::not_found())
//! });
//! let app = ApiErrorLayer::new().shape(envelope).layer(missing);
//! let response = app.oneshot(http::Request::new(())).await.unwrap();
//! let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 1 << 16)
//!     .await
//!     .unwrap();
//! let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(body["error"]["type"], "not_found");
//! # }
//! ```

pub(crate) mod aip193;
pub(crate) mod facts;
pub(crate) mod json_api;
pub(crate) mod offered;

use serde_json::Value;

pub use self::facts::ErrorFacts;

/// A body format for error responses: it names its media type and writes the body of each
/// error from its [`ErrorFacts`].
///
/// [`shape_fn`] makes one from a closure; implement the trait for a shape with settings of its
/// own, or to write bytes directly.
///
/// ```
/// use tower_api_errors::shape::{ErrorFacts, ErrorShape};
///
/// /// `{"code": "not_found", "text": "…"}`
/// struct Terse;
///
/// impl ErrorShape for Terse {
///     fn media_type(&self) -> &str {
///         "application/vnd.example.error+json"
///     }
///
///     fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
///         let value = serde_json::json!({"code": error.code(), "text": error.detail()});
///         serde_json::to_writer(body, &value).expect("a JSON value serializes");
///     }
/// }
///
/// let layer = tower_api_errors::ApiErrorLayer::new().offer_shape(Terse);
/// # let _ = layer;
/// ```
pub trait ErrorShape: Send + Sync + 'static {
    /// The `Content-Type` of its bodies, and what `Accept` names to choose it (parameters
    /// are ignored for the choice). Read once, when the layer is configured.
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{ErrorFacts, ErrorShape};
    ///
    /// struct Terse;
    ///
    /// impl ErrorShape for Terse {
    ///     fn media_type(&self) -> &str {
    ///         "application/vnd.terse+json"
    ///     }
    ///     fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
    ///         serde_json::to_writer(body, &json!({"code": error.code()})).unwrap();
    ///     }
    ///     fn schema(&self) -> Value {
    ///         json!({"type": "object", "required": ["code"]})
    ///     }
    /// }
    ///
    /// assert_eq!(Terse.media_type(), "application/vnd.terse+json");
    /// ```
    fn media_type(&self) -> &str;

    /// Writes the body of one error into `body` (empty when called).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{ErrorFacts, ErrorShape};
    ///
    /// struct Terse;
    ///
    /// impl ErrorShape for Terse {
    ///     fn media_type(&self) -> &str {
    ///         "application/vnd.terse+json"
    ///     }
    ///     fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
    ///         serde_json::to_writer(body, &json!({"code": error.code()})).unwrap();
    ///     }
    ///     fn schema(&self) -> Value {
    ///         json!({"type": "object", "required": ["code"]})
    ///     }
    /// }
    ///
    /// // The layer calls `write` for each error answered in this shape.
    /// let layer = tower_api_errors::ApiErrorLayer::new().offer_shape(Terse);
    /// # let _ = layer;
    /// ```
    fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>);

    /// The JSON Schema of its bodies, for the OpenAPI components and
    /// [`check_contract`](crate::testing::check_contract) (default: any JSON object).
    ///
    /// ```
    /// use serde_json::{json, Value};
    /// use tower_api_errors::shape::{ErrorFacts, ErrorShape};
    ///
    /// struct Terse;
    ///
    /// impl ErrorShape for Terse {
    ///     fn media_type(&self) -> &str {
    ///         "application/vnd.terse+json"
    ///     }
    ///     fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
    ///         serde_json::to_writer(body, &json!({"code": error.code()})).unwrap();
    ///     }
    ///     fn schema(&self) -> Value {
    ///         json!({"type": "object", "required": ["code"]})
    ///     }
    /// }
    ///
    /// assert_eq!(Terse.schema()["required"], json!(["code"]));
    /// ```
    fn schema(&self) -> Value {
        serde_json::json!({"type": "object"})
    }
}

/// A shape from a media type and a closure that turns the facts of an error into its JSON
/// body (see the [module](crate::shape::ErrorShape) for the trait it implements).
///
/// ```
/// use serde_json::json;
/// use tower_api_errors::shape::{shape_fn, ErrorFacts};
/// use tower_api_errors::ApiErrorLayer;
///
/// let envelope = shape_fn("application/json", |e: &ErrorFacts<'_>| {
///     json!({"success": false, "error": {"type": e.code(), "message": e.detail()}})
/// })
/// .schema(json!({"type": "object", "required": ["success", "error"]}));
/// let layer = ApiErrorLayer::new().shape(envelope);
/// # let _ = layer;
/// ```
pub fn shape_fn<F>(media_type: &'static str, write: F) -> ShapeFn<F>
where
    F: Fn(&ErrorFacts<'_>) -> Value + Send + Sync + 'static,
{
    ShapeFn {
        media_type,
        write,
        schema: None,
    }
}

/// The shape [`shape_fn`] makes.
#[derive(Clone)]
pub struct ShapeFn<F> {
    media_type: &'static str,
    write: F,
    schema: Option<Value>,
}

impl<F> ShapeFn<F> {
    /// The JSON Schema of its bodies (default: any JSON object).
    ///
    /// ```
    /// use serde_json::json;
    /// use tower_api_errors::shape::{shape_fn, ErrorFacts, ErrorShape};
    ///
    /// let shape = shape_fn("application/json", |e: &ErrorFacts<'_>| json!({"code": e.code()}))
    ///     .schema(json!({"type": "object", "required": ["code"]}));
    /// assert_eq!(ErrorShape::schema(&shape)["required"], json!(["code"]));
    /// ```
    #[must_use]
    pub fn schema(mut self, schema: Value) -> Self {
        self.schema = Some(schema);
        self
    }
}

impl<F> std::fmt::Debug for ShapeFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapeFn")
            .field("media_type", &self.media_type)
            .finish_non_exhaustive()
    }
}

impl<F> ErrorShape for ShapeFn<F>
where
    F: Fn(&ErrorFacts<'_>) -> Value + Send + Sync + 'static,
{
    fn media_type(&self) -> &str {
        self.media_type
    }

    fn write(&self, error: &ErrorFacts<'_>, body: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and a `Value` always serializes.
        serde_json::to_writer(body, &(self.write)(error)).expect("a JSON value serializes");
    }

    fn schema(&self) -> Value {
        self.schema
            .clone()
            .unwrap_or_else(|| serde_json::json!({"type": "object"}))
    }
}
