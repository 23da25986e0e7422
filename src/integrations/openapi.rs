//! OpenAPI from the code (feature `utoipa`, utoipa 5): the error body's schemas, and a
//! [`Modify`] that adds to a utoipa document what the layer will answer.
//!
//! - [`ApiError`] and [`Problem`] implement `ToSchema`: their schemas are the crate's
//!   `schema/error.schema.json` and `schema/problem.schema.json` themselves (without `$schema`
//!   and `$id`), so the document and the JSON Schemas cannot drift.
//! - [`ErrorResponses`], made from the layer, adds to every operation: `500`; `504` when a
//!   [deadline](crate::ApiErrorLayer::timeout) is set; `503` with `Retry-After` when an
//!   [in-flight limit](crate::ApiErrorLayer::limit), [load
//!   shedding](crate::ApiErrorLayer::shed_when_not_ready) or a [maintenance
//!   switch](crate::ApiErrorLayer::maintenance) is on; `401` with `WWW-Authenticate` on the
//!   operations with a security requirement (their own, or the document's). Each method the
//!   [`MethodPolicy`] *plans* becomes an operation answering `501` with
//!   `Allow` (`405` with `Allow` and `planned: true` under
//!   [`planned_as_405`](crate::policy::MethodPolicyBuilder::planned_as_405)). Responses the document
//!   already has for a status are kept.
//!   A response documented with `body = ApiError` gets its `application/problem+json` form
//!   beside it, since the layer serves both; the deadline header is a parameter of every
//!   operation, with its `400`, and a strict policy's `404` is on every operation.
//! - The [shapes](crate::shape::ErrorShape) the layer offers are described beside the document's own
//!   bodies: each error response has one content per media type it can be sent in, a shape's
//!   schema ([`ErrorShape::schema`](crate::shape::ErrorShape::schema)) a component named after its
//!   media type (`Error_application_vnd.api_json` for [`JsonApi`](crate::shape::JsonApi)); a shape
//!   with the media type of a format takes its place there too. The error responses the
//!   document already describes with the JSON body get the shapes' contents as well.
//!
//! ```
//! use std::time::Duration;
//! use http::Method;
//! use tower_api_errors::openapi::ErrorResponses;
//! use tower_api_errors::policy::{MethodPolicy, Resource};
//! use tower_api_errors::ApiErrorLayer;
//! use utoipa::openapi::{OpenApiBuilder, PathItem, HttpMethod};
//! use utoipa::openapi::path::{OperationBuilder, PathsBuilder};
//! use utoipa::Modify;
//!
//! let policy = MethodPolicy::builder()
//!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
//!     .build()
//!     .unwrap();
//! let layer = ApiErrorLayer::new().timeout(Duration::from_secs(2)).method_policy(policy);
//!
//! // A user's document (usually `#[derive(OpenApi)]`), with GET /payments.
//! let list = OperationBuilder::new().operation_id(Some("listPayments")).build();
//! let mut doc = OpenApiBuilder::new()
//!     .paths(PathsBuilder::new().path("/payments", PathItem::new(HttpMethod::Get, list)))
//!     .build();
//! ErrorResponses::from_layer(&layer).modify(&mut doc);
//!
//! let payments = &doc.paths.paths["/payments"];
//! let get = payments.get.as_ref().unwrap();
//! assert!(get.responses.responses.contains_key("500"));
//! assert!(get.responses.responses.contains_key("504"));
//! let post = payments.post.as_ref().expect("the planned POST is documented");
//! assert!(post.responses.responses.contains_key("501"));
//! ```

use std::sync::OnceLock;

use http::Method;
use serde_json::Value;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Components, OpenApi, PathItem, Ref, RefOr, Required};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::methods::policy::MethodPolicy;
use crate::{ApiError, ApiErrorLayer};

/// The RFC 9457 problem document (`application/problem+json`) that the layer writes when the
/// client's `Accept` or the layer's [`Format`](crate::Format) asks for it. A name for its
/// schema: nothing of this type is ever built.
///
/// ```
/// use utoipa::{PartialSchema, ToSchema};
/// use tower_api_errors::openapi::Problem;
///
/// assert_eq!(Problem::name(), "Problem");
/// let schema = serde_json::to_value(Problem::schema()).unwrap();
/// assert_eq!(schema["required"][0], "type");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Problem {
    _private: (),
}

fn from_file(file: &str) -> RefOr<Schema> {
    from_value(serde_json::from_str(file).expect("the schema is JSON"))
}

/// A JSON Schema as a component: everything it says but its identity.
fn from_value(schema: Value) -> RefOr<Schema> {
    let Value::Object(mut members) = schema else {
        let mut object = Object::with_type(SchemaType::AnyValue);
        object.extensions = Some(
            [("allOf".to_owned(), Value::from(vec![schema]))]
                .into_iter()
                .collect(),
        );
        return RefOr::T(Schema::Object(object));
    };
    // `$id` would make the schema a resource of its own inside the document, and `$schema` is
    // the document's to say.
    members.remove("$schema");
    members.remove("$id");
    // A typeless object whose members are the file's: serialized, it is the file itself.
    let mut object = Object::with_type(SchemaType::AnyValue);
    object.extensions = Some(members.into_iter().collect());
    RefOr::T(Schema::Object(object))
}

/// The schema of the JSON error body: `schema/error.schema.json`.
///
/// ```
/// use utoipa::{PartialSchema, ToSchema};
/// use tower_api_errors::ApiError;
///
/// assert_eq!(ApiError::name(), "ApiError");
/// let schema = serde_json::to_value(ApiError::schema()).unwrap();
/// assert_eq!(schema["properties"]["ok"]["const"], false);
/// ```
impl PartialSchema for ApiError {
    fn schema() -> RefOr<Schema> {
        static SCHEMA: OnceLock<RefOr<Schema>> = OnceLock::new();
        SCHEMA
            .get_or_init(|| from_file(include_str!("../../schema/error.schema.json")))
            .clone()
    }
}

impl ToSchema for ApiError {}

/// The schema of the problem document: `schema/problem.schema.json`.
impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        static SCHEMA: OnceLock<RefOr<Schema>> = OnceLock::new();
        SCHEMA
            .get_or_init(|| from_file(include_str!("../../schema/problem.schema.json")))
            .clone()
    }
}

impl ToSchema for Problem {}

/// A [`Modify`] that documents what an [`ApiErrorLayer`] answers; see the [module
/// documentation](self).
#[derive(Debug, Clone)]
#[must_use]
pub struct ErrorResponses {
    timeout: bool,
    unavailable: bool,
    /// What a `503` can be: `overloaded`, `maintenance`, `shutting_down`.
    unavailable_codes: Vec<&'static str>,
    /// The request's deadline header, a parameter of every operation (its `400` too).
    deadline_header: Option<String>,
    /// A path no resource matches is the layer's `404`.
    strict: bool,
    /// The layer [watches request bodies](crate::ApiErrorLayer::watch_request_body) under a
    /// deadline: an operation that takes a body can be `408`.
    request_timeout: bool,
    /// Each planned method: the OpenAPI path, the method, and the `Allow` of its 501.
    planned: Vec<(String, Method, String)>,
    /// Each shape offered: its media type, the name of its schema's component, the schema.
    shapes: Vec<(String, String, Value)>,
    /// `501`, or `405` under [`planned_as_405`](crate::policy::MethodPolicyBuilder::planned_as_405).
    planned_status: u16,
    /// The statuses [reworded](crate::ApiErrorLayer::reword) and their messages: the schemas'
    /// `message` (and, with a problem type base, `title`) follow them.
    words: Vec<(u16, String)>,
    titles_follow: bool,
}

impl ErrorResponses {
    /// What `layer`, as configured, answers.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::openapi::ErrorResponses;
    /// use tower_api_errors::ApiErrorLayer;
    /// use utoipa::openapi::OpenApiBuilder;
    /// use utoipa::Modify;
    ///
    /// let layer = ApiErrorLayer::new().timeout(Duration::from_secs(2));
    /// let mut doc = OpenApiBuilder::new().build();
    /// ErrorResponses::from_layer(&layer).modify(&mut doc);
    /// let schemas = &doc.components.as_ref().unwrap().schemas;
    /// assert!(schemas.contains_key("ApiError"));
    /// ```
    pub fn from_layer<C>(layer: &ApiErrorLayer<C>) -> Self {
        let config = layer.config();
        let mut planned = Vec::new();
        if let Some(policy) = &config.policy {
            for (pattern, _allowed, methods, allow) in policy.resources() {
                let allow = allow.to_str().unwrap_or_default();
                for method in methods {
                    planned.push((openapi_path(pattern), method.clone(), allow.to_owned()));
                }
            }
        }
        // A deadline from the layer, a resource, or the request's own header.
        let timeout = config.timeout.is_some()
            || config.deadline_header.is_some()
            || config
                .policy
                .as_ref()
                .is_some_and(MethodPolicy::has_timeouts);
        let mut unavailable_codes = Vec::new();
        if config.in_flight.is_some() || config.shed_when_not_ready {
            unavailable_codes.push("overloaded");
        }
        if config.maintenance.is_some() {
            unavailable_codes.push("maintenance");
        }
        if config.drain.is_some() {
            unavailable_codes.push("shutting_down");
        }
        Self {
            unavailable_codes,
            deadline_header: config
                .deadline_header
                .as_ref()
                .map(|h| h.as_str().to_owned()),
            strict: config.policy.as_ref().is_some_and(MethodPolicy::is_strict),
            request_timeout: config.watch_body && timeout,
            timeout,
            unavailable: config.counts()
                || config.maintenance.is_some()
                || config.shed_when_not_ready,
            planned,
            shapes: config
                .rendering
                .shapes
                .iter()
                .map(|shape| {
                    let media_type = shape.content_type().to_str().unwrap_or_default();
                    let name: String = media_type
                        .chars()
                        .map(|c| match c {
                            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
                            _ => '_',
                        })
                        .collect();
                    (
                        media_type.to_owned(),
                        format!("Error_{name}"),
                        shape.schema(),
                    )
                })
                .collect(),
            planned_status: config
                .policy
                .as_ref()
                .map_or(501, |policy| policy.planned_status().as_u16()),
            words: config
                .rendering
                .wording
                .iter()
                .map(|w| (w.status.as_u16(), w.message.clone().into_owned()))
                .collect(),
            titles_follow: config.rendering.problem_type_base.is_some(),
        }
    }

    /// The two error schemas, in the layer's words.
    fn schemas(&self) -> (RefOr<Schema>, RefOr<Schema>) {
        if self.words.is_empty() {
            return (ApiError::schema(), Problem::schema());
        }
        let error = include_str!("../../schema/error.schema.json");
        let problem = include_str!("../../schema/problem.schema.json");
        (
            from_value(self.reworded(error, false)),
            from_value(self.reworded(problem, self.titles_follow)),
        )
    }

    /// The schema `file` with each reworded status's `message` (and `title`) constant.
    fn reworded(&self, file: &str, titles: bool) -> Value {
        let mut schema: Value = serde_json::from_str(file).expect("the schema is JSON");
        let Some(conditions) = schema.get_mut("allOf").and_then(Value::as_array_mut) else {
            return schema;
        };
        for condition in conditions {
            let status = condition["if"]["properties"]["status"]["const"].as_u64();
            let Some((_, message)) = self
                .words
                .iter()
                .find(|(s, _)| Some(u64::from(*s)) == status)
            else {
                continue;
            };
            let Some(then) = condition["then"]["properties"].as_object_mut() else {
                continue;
            };
            let mut members = vec!["message"];
            if titles {
                members.push("title");
            }
            for member in members {
                if then.contains_key(member) {
                    then.insert(member.to_owned(), serde_json::json!({"const": message}));
                }
            }
        }
        schema
    }

    /// `response` with a content per shape offered, in place of a format's of the same type.
    fn shaped(&self, mut response: Response) -> Response {
        for (media_type, name, _) in &self.shapes {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(name)))
                .build();
            response.content.insert(media_type.clone(), content);
        }
        response
    }
}

/// Names of the response components this modifier adds.
const INTERNAL_ERROR: &str = "ApiErrorInternal";
const GATEWAY_TIMEOUT: &str = "ApiErrorGatewayTimeout";
const UNAVAILABLE: &str = "ApiErrorServiceUnavailable";
const UNAUTHORIZED: &str = "ApiErrorUnauthorized";
const BAD_DEADLINE: &str = "ApiErrorBadDeadline";
const NOT_FOUND: &str = "ApiErrorNotFound";
const REQUEST_TIMEOUT: &str = "ApiErrorRequestTimeout";

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::new);
        let (error_schema, problem_schema) = self.schemas();
        components
            .schemas
            .insert(ApiError::name().into_owned(), error_schema);
        components
            .schemas
            .insert(Problem::name().into_owned(), problem_schema);
        for (_, name, schema) in &self.shapes {
            components
                .schemas
                .insert(name.clone(), from_value(schema.clone()));
        }
        let mut responses = vec![(INTERNAL_ERROR, error_response(500, "Server Error: an error occurred on our side (a panic, an unknown error); nothing internal in the body.", &[]))];
        if self.timeout {
            responses.push((
                GATEWAY_TIMEOUT,
                error_response(
                    504,
                    "Gateway Timeout: the handler did not answer before the deadline.",
                    &[],
                ),
            ));
        }
        if let Some(header) = &self.deadline_header {
            let description =
                format!("Bad Request: `{header}` is not a whole number of milliseconds.");
            responses.push((BAD_DEADLINE, error_response(400, &description, &[])));
        }
        if self.request_timeout {
            let description = "Request Timeout: the deadline passed while the handler was still waiting for the request body.";
            responses.push((REQUEST_TIMEOUT, error_response(408, description, &[])));
        }
        if self.strict {
            let description = "Not Found: the path matches no resource of the route table.";
            responses.push((NOT_FOUND, error_response(404, description, &[])));
        }
        let unavailable = unavailable_description(&self.unavailable_codes);
        if self.unavailable {
            responses.push((
                UNAVAILABLE,
                error_response(
                    503,
                    &unavailable,
                    &[(
                        "Retry-After",
                        "Delta-seconds to wait before retrying (RFC 9110 §10.2.3).",
                        pattern("^[0-9]+$"),
                    )],
                ),
            ));
        }
        for (name, response) in responses {
            components
                .responses
                .entry(name.to_owned())
                .or_insert(self.shaped(response).into());
        }

        for (path, method, allow) in &self.planned {
            let item = openapi.paths.paths.entry(path.clone()).or_default();
            // What the resource's documented operations say of it: its tags, and the types of
            // its path parameters (one path, one signature for a generated client).
            let sibling = operations_mut(item).next().cloned();
            if let Some(slot) = operation_mut(item, method) {
                let status = self.planned_status;
                let operation =
                    slot.get_or_insert_with(|| planned_operation(path, method, status, &sibling));
                let description = if status == 405 {
                    format!("Method Not Allowed: {method} is planned but not available yet (`planned: true`); `Allow` says what works today.")
                } else {
                    format!("Not Implemented: {method} is planned but not implemented yet; `Allow` says what works today.")
                };
                // Inline: `Allow` is the resource's own.
                let not_implemented = planned_response(
                    status,
                    &description,
                    &[
                        (
                            "Allow",
                            "The methods the resource supports today (RFC 9110 §10.2.1).",
                            pattern(&format!("^{}$", regex_escape(allow))),
                        ),
                        (
                            "Cache-Control",
                            "The answer will change: caches must not keep it.",
                            pattern("^no-store$"),
                        ),
                    ],
                );
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(RefOr::T(self.shaped(not_implemented)));
            }
        }

        let document_secured = openapi.security.as_deref().is_some_and(secured);
        let mut any_secured = false;
        for item in openapi.paths.paths.values_mut() {
            for operation in operations_mut(item) {
                add_problem_content(operation);
                if !self.shapes.is_empty() {
                    // The errors the document describes itself are sent in every shape too.
                    for (status, response) in &mut operation.responses.responses {
                        if let (true, RefOr::T(response)) =
                            (status.starts_with(['4', '5']), response)
                        {
                            if response.content.contains_key("application/json") {
                                *response = self.shaped(std::mem::take(response));
                            }
                        }
                    }
                }
                add_response(operation, 500, INTERNAL_ERROR);
                if self.timeout {
                    add_response(operation, 504, GATEWAY_TIMEOUT);
                }
                if self.unavailable {
                    add_response(operation, 503, UNAVAILABLE);
                }
                if let Some(header) = &self.deadline_header {
                    add_deadline_parameter(operation, header);
                    add_response(operation, 400, BAD_DEADLINE);
                }
                if self.strict {
                    add_response(operation, 404, NOT_FOUND);
                }
                if self.request_timeout && operation.request_body.is_some() {
                    add_response(operation, 408, REQUEST_TIMEOUT);
                }
                let own = operation.security.as_deref();
                if own.map_or(document_secured, secured) {
                    add_response(operation, 401, UNAUTHORIZED);
                    any_secured = true;
                }
            }
        }
        if any_secured {
            let unauthorized = error_response(
                401,
                "Unauthorized: not authenticated, or authentication failed.",
                &[(
                    "WWW-Authenticate",
                    "The challenge (RFC 9110 §11.6.1).",
                    pattern("^.+$"),
                )],
            );
            openapi
                .components
                .get_or_insert_with(Components::new)
                .responses
                .entry(UNAUTHORIZED.to_owned())
                .or_insert(self.shaped(unauthorized).into());
        }
    }
}

/// Whether a list of requirements asks for credentials: an empty requirement (`{}`) means
/// "none needed", so only a non-empty one counts.
fn secured(requirements: &[utoipa::openapi::security::SecurityRequirement]) -> bool {
    requirements.iter().any(|requirement| {
        serde_json::to_value(requirement)
            .is_ok_and(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    })
}

/// A response with the error body in both formats and `headers`.
/// `text` with the regular-expression metacharacters escaped (an `Allow` value has none but
/// is escaped all the same).
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A string schema with `pattern`, for a header.
fn pattern(pattern: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .build()
}

fn error_response(status: u16, description: &str, headers: &[(&str, &str, Object)]) -> Response {
    let narrowed = serde_json::json!({"properties": {"status": {"const": status}}});
    documented(&narrowed, description, headers)
}

/// The answer to a planned method: `allowed` is required, and under `planned_as_405` the
/// `planned` member that tells it from a method that will never come.
fn planned_response(status: u16, description: &str, headers: &[(&str, &str, Object)]) -> Response {
    let narrowed = if status == 405 {
        serde_json::json!({
            "properties": {"status": {"const": status}, "planned": {"const": true}},
            "required": ["allowed", "planned"],
        })
    } else {
        serde_json::json!({"properties": {"status": {"const": status}}, "required": ["allowed"]})
    };
    documented(&narrowed, description, headers)
}

/// A response whose bodies are the error schemas narrowed by `narrowed`.
fn documented(narrowed: &Value, description: &str, headers: &[(&str, &str, Object)]) -> Response {
    let json = ContentBuilder::new()
        .schema(Some(status_schema(ApiError::name().as_ref(), narrowed)))
        .build();
    let problem = ContentBuilder::new()
        .schema(Some(status_schema(Problem::name().as_ref(), narrowed)))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", json)
        .content("application/problem+json", problem)
        .build();
    if headers.is_empty() {
        return response;
    }
    // The layer sends each of these headers with every such answer, so each is `required`
    // (OpenAPI's Header Object takes it, as a Parameter Object does); utoipa 5's `Header` has no
    // field for it, so the response's headers are written as the JSON they serialize to, under
    // the key the Response Object gives them (its `headers` map stays empty, and unwritten).
    let mut documented = serde_json::Map::new();
    for (name, description, schema) in headers {
        let header = HeaderBuilder::new()
            .schema(schema.clone())
            .description(Some(*description))
            .build();
        let mut header = serde_json::to_value(header).expect("a header serializes");
        header["required"] = Value::Bool(true);
        documented.insert((*name).to_owned(), header);
    }
    response
        .extensions
        .get_or_insert_with(Default::default)
        .insert("headers".to_owned(), Value::Object(documented));
    response
}

/// `{"allOf": [{"$ref": schema}, narrowed]}`.
fn status_schema(schema: &str, narrowed: &Value) -> RefOr<Schema> {
    let mut members = serde_json::Map::new();
    members.insert(
        "allOf".to_owned(),
        serde_json::json!([Ref::from_schema_name(schema), narrowed.clone()]),
    );
    let mut object = Object::with_type(SchemaType::AnyValue);
    object.extensions = Some(members.into_iter().collect());
    RefOr::T(Schema::Object(object))
}

/// A response the user documented with `body = ApiError` (`application/json`) gets the
/// `application/problem+json` form beside it, as the layer serves both (by `Accept`): one
/// `body = ApiError` in `#[utoipa::path(responses(..))]` is enough.
fn add_problem_content(operation: &mut Operation) {
    let api_error = Ref::from_schema_name(ApiError::name());
    for response in operation.responses.responses.values_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let is_error = response
            .content
            .get("application/json")
            .and_then(|content| content.schema.as_ref())
            .is_some_and(|schema| matches!(schema, RefOr::Ref(r) if *r == api_error));
        if is_error && !response.content.contains_key("application/problem+json") {
            let problem = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(Problem::name())))
                .build();
            response
                .content
                .insert("application/problem+json".to_owned(), problem);
        }
    }
}

/// What a `503` of the layer can be, for its description.
fn unavailable_description(codes: &[&str]) -> String {
    let reasons: Vec<&str> = codes
        .iter()
        .map(|code| match *code {
            "overloaded" => "too many requests at once (`overloaded`)",
            "maintenance" => "maintenance (`maintenance`)",
            _ => "the server is shutting down (`shutting_down`)",
        })
        .collect();
    format!(
        "Service Unavailable: {}; retry after `Retry-After`.",
        reasons.join(", or ")
    )
}

/// The request's deadline header, a header parameter of `operation` (unless it has it).
fn add_deadline_parameter(operation: &mut Operation, header: &str) {
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    if parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name.eq_ignore_ascii_case(header))
    {
        return;
    }
    parameters.push(
        ParameterBuilder::new()
            .name(header)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "How long the client will wait, in milliseconds (at most 15 digits; a day or the \
                 layer's own deadline is the most it gets): the layer answers 504 when the \
                 handler is not done by then, and at once when it cannot be (0 included).",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    // 0 is taken too, and answered 504 at once: no success to document. More
                    // than 15 digits is a 400 (`deadline::parse_millis`).
                    .minimum(Some(1))
                    .maximum(Some(999_999_999_999_999_u64)),
            ))
            .build(),
    );
}

fn add_response(operation: &mut Operation, status: u16, component: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(component)));
}

/// An operation for a planned method (`status`: 501, or 405): an id made from the method and
/// the path, the tags and path parameters of `sibling` (a documented operation of the same
/// resource), and nothing else but the answer.
fn planned_operation(
    path: &str,
    method: &Method,
    status: u16,
    sibling: &Option<Operation>,
) -> Operation {
    let documented = |name: &str| {
        sibling
            .iter()
            .flat_map(|op| op.parameters.iter().flatten())
            .find(|p| p.name == name && p.parameter_in == ParameterIn::Path)
            .cloned()
    };
    let parameters = path_parameters(path)
        .map(|name| {
            documented(name).unwrap_or_else(|| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build()
            })
        })
        .collect::<Vec<_>>();
    let words = format!("{}{path}", method.as_str().to_ascii_lowercase());
    let words: Vec<&str> = words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    OperationBuilder::new()
        .operation_id(Some(format!("{}_planned", words.join("_"))))
        .tags(sibling.as_ref().and_then(|op| op.tags.clone()))
        .description(Some(format!(
            "Planned for this resource: the layer answers {status} with `Allow` (what works today) and `Cache-Control: no-store` until the method comes."
        )))
        .summary(Some(format!(
            "{method} is planned: {status} until it comes."
        )))
        .parameters((!parameters.is_empty()).then_some(parameters))
        .extensions(Some(
            [("x-planned", Value::Bool(true))].into_iter().collect(),
        ))
        .build()
}

/// The names of `{name}` segments of an OpenAPI path.
fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// axum's pattern as an OpenAPI path: `{*rest}` is `{rest}` (OpenAPI has no wildcard).
fn openapi_path(pattern: &str) -> String {
    pattern.replace("{*", "{")
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Option<Operation>> {
    Some(match *method {
        Method::GET => &mut item.get,
        Method::PUT => &mut item.put,
        Method::POST => &mut item.post,
        Method::DELETE => &mut item.delete,
        Method::OPTIONS => &mut item.options,
        Method::HEAD => &mut item.head,
        Method::PATCH => &mut item.patch,
        Method::TRACE => &mut item.trace,
        _ => return None,
    })
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Value {
        let mut value: Value = serde_json::from_str(text).unwrap();
        let members = value.as_object_mut().unwrap();
        members.remove("$schema");
        members.remove("$id");
        value
    }

    #[test]
    fn the_schemas_are_the_json_schema_files() {
        assert_eq!(
            serde_json::to_value(ApiError::schema()).unwrap(),
            file(include_str!("../../schema/error.schema.json"))
        );
        assert_eq!(
            serde_json::to_value(Problem::schema()).unwrap(),
            file(include_str!("../../schema/problem.schema.json"))
        );
    }

    #[test]
    fn paths_and_their_parameters() {
        assert_eq!(openapi_path("/files/{*path}"), "/files/{path}");
        let names: Vec<_> = path_parameters("/a/{id}/b/{key}").collect();
        assert_eq!(names, ["id", "key"]);
    }
}
