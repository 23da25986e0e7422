//! [`JsonApi`]: JSON:API error objects.

use serde_json::{json, Map, Value};

use crate::respond::shape::{ErrorFacts, ErrorShape};

/// Error bodies as [JSON:API](https://jsonapi.org/format/#error-objects) sends them, as
/// `application/vnd.api+json`: a top-level `errors` array.
///
/// ```json
/// {"errors": [{
///   "status": "422", "code": "invalid_params", "title": "The request content is invalid.",
///   "detail": "must not be empty", "source": {"pointer": "/address/city"},
///   "meta": {"retryable": false}
/// }]}
/// ```
///
/// One error object per field error, its `source.pointer` the field's JSON Pointer into the
/// request's content; otherwise one error object. `status` is the HTTP status as a string,
/// `code` the error code, `title` the document's message, `detail` the detail (a field error's
/// own), `id` the request's `x-request-id` when it sent one, and `meta` says `retryable`,
/// `retry_after` (seconds), the `allowed` methods of a 405 or a 501 and the error's own
/// members.
///
/// Its schema is `schema/json-api.schema.json`.
///
/// ```
/// use tower_api_errors::shape::JsonApi;
/// use tower_api_errors::ApiErrorLayer;
///
/// let layer = ApiErrorLayer::new().offer_shape(JsonApi);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonApi;

impl JsonApi {
    /// The media type of JSON:API documents.
    pub const MEDIA_TYPE: &'static str = "application/vnd.api+json";
}

impl ErrorShape for JsonApi {
    fn media_type(&self) -> &str {
        Self::MEDIA_TYPE
    }

    fn write(&self, e: &ErrorFacts<'_>, body: &mut Vec<u8>) {
        let mut meta = Map::new();
        meta.insert("retryable".into(), e.is_retryable().into());
        if let Some(delay) = e.retry_after() {
            meta.insert("retry_after".into(), delay.as_secs().into());
        }
        let allowed = e.allowed_methods();
        if !allowed.is_empty() {
            meta.insert("allowed".into(), allowed.into());
        }
        for (key, value) in e.members() {
            meta.insert(key.into(), value.clone());
        }
        let object = |detail: &str| {
            let mut object = Map::new();
            if let Some(id) = e.request_id() {
                object.insert("id".into(), id.into());
            }
            object.insert("status".into(), e.status().as_str().into());
            object.insert("code".into(), e.code().into());
            object.insert("title".into(), e.message().into());
            object.insert("detail".into(), detail.into());
            object
        };
        let mut errors: Vec<Value> = e
            .field_errors()
            .map(|(pointer, detail)| {
                let mut object = object(detail);
                object.insert("source".into(), json!({ "pointer": pointer }));
                object.insert("meta".into(), meta.clone().into());
                object.into()
            })
            .collect();
        if errors.is_empty() {
            let mut object = object(e.detail());
            object.insert("meta".into(), meta.into());
            errors.push(object.into());
        }
        // Writing into a Vec cannot fail, and a `Value` always serializes.
        serde_json::to_writer(body, &json!({ "errors": errors })).expect("a JSON value serializes");
    }

    fn schema(&self) -> Value {
        serde_json::from_str(include_str!("../../../schema/json-api.schema.json"))
            .expect("schema/json-api.schema.json is JSON")
    }
}
