//! Method policy: 405 versus 501, per resource, declared once in a route table.
//!
//! The API document draws a line between two answers to a method a resource does not take:
//!
//! - **405 Method Not Allowed**: the resource does not support the method and won't
//!   (`POST /reports/1234/result`). `Allow` lists what it supports (RFC 9110 §15.5.6).
//! - **501 Not Implemented**: the method is *planned* for the resource and will come
//!   (`POST /payments`). `Allow` lists what works today, and `Cache-Control: no-store` keeps
//!   caches from remembering an answer that will change (501 is heuristically cacheable).
//!
//! A method the server does not recognize at all (`BREW`, or `get` in lower case: methods are
//! case-sensitive) is 501 on every path (RFC 9110 §9.1), while a recognized method that a
//! resource neither allows nor plans is 405: the origin server knows it, the resource does not
//! support it.
//!
//! Patterns use axum's syntax (`/reports/{id}/result`, `/files/{*path}`) and axum's own matcher,
//! [`matchit`]. `HEAD` is allowed wherever `GET` is. `OPTIONS` is answered `204` with `Allow`
//! unless the resource allows `OPTIONS` itself (then the inner service answers) or the request
//! is a CORS preflight (it goes to the inner service, where a CORS layer can answer it). A path
//! no resource matches is left to the inner service, or answered 404 in
//! [strict](MethodPolicyBuilder::strict) mode.
//!
//! ```
//! use http::Method;
//! use tower_api_errors::{MethodPolicy, Resource};
//!
//! let policy = MethodPolicy::builder()
//!     .resource("/reports/{id}/result", Resource::allow([Method::GET]))
//!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
//!     .build()
//!     .expect("a valid route table");
//! # let _ = policy;
//! ```
//!
//! Mistakes in the table are reported when it is built:
//!
//! ```
//! use http::Method;
//! use tower_api_errors::{MethodPolicy, Resource};
//!
//! let error = MethodPolicy::builder()
//!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::GET]))
//!     .build()
//!     .unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "/payments: GET is both allowed and planned"
//! );
//! ```

use std::fmt;
use std::time::Duration;

use http::header::{ALLOW, CACHE_CONTROL};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};

use crate::body::ErrorBody;
use crate::error::allow_header;
use crate::overload::{Criticality, RouteHints};
use crate::ApiError;

/// The methods one resource allows today and the ones planned for it.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    allowed: Vec<Method>,
    planned: Vec<Method>,
    hints: RouteHints,
}

impl Resource {
    /// A resource that allows `methods` (and `HEAD` when `GET` is among them).
    #[must_use]
    pub fn allow(methods: impl IntoIterator<Item = Method>) -> Self {
        Self {
            allowed: methods.into_iter().collect(),
            planned: Vec::new(),
            hints: RouteHints::default(),
        }
    }

    /// Methods that will come: until then they get 501 instead of 405.
    #[must_use]
    pub fn plan(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.planned.extend(methods);
        self
    }

    /// This resource's deadline, instead of the layer's [`timeout`](crate::ApiErrorLayer::timeout)
    /// (see [deadlines](crate::deadline)).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.hints.timeout = Some(timeout);
        self
    }

    /// Never refused by the in-flight limit: health checks, admin ([`Criticality::Critical`]).
    #[must_use]
    pub fn critical(mut self) -> Self {
        self.hints.criticality = Some(Criticality::Critical);
        self
    }

    /// Refused first when the in-flight limit tightens ([`Criticality::Sheddable`]).
    #[must_use]
    pub fn sheddable(mut self) -> Self {
        self.hints.criticality = Some(Criticality::Sheddable);
        self
    }
}

/// A mistake in a route table, found by [`MethodPolicyBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pattern: String,
    reason: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for PolicyError {}

/// Builds a [`MethodPolicy`]; see the [module documentation](self).
#[derive(Debug, Default)]
#[must_use]
pub struct MethodPolicyBuilder {
    resources: Vec<(String, Resource)>,
    strict: bool,
    answer_options: bool,
}

impl MethodPolicyBuilder {
    /// Declares the resource at `pattern` (axum syntax: `/notes/{id}`, `/files/{*path}`).
    pub fn resource(mut self, pattern: impl Into<String>, resource: Resource) -> Self {
        self.resources.push((pattern.into(), resource));
        self
    }

    /// Paths that match no resource get `404 not_found` from the layer instead of going to the
    /// inner service.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether the layer answers `OPTIONS` with `204` and `Allow` (default: yes). Turn it off
    /// when the inner service answers `OPTIONS` itself.
    pub fn answer_options(mut self, answer: bool) -> Self {
        self.answer_options = answer;
        self
    }

    /// Checks the table and compiles it.
    ///
    /// # Errors
    ///
    /// A pattern that is invalid or conflicts with another, a method both allowed and planned,
    /// or a resource that allows no method.
    pub fn build(self) -> Result<MethodPolicy, PolicyError> {
        let mut router = matchit::Router::new();
        let mut resources = Vec::with_capacity(self.resources.len());
        for (pattern, resource) in self.resources {
            let error = |reason: String| PolicyError {
                pattern: pattern.clone(),
                reason,
            };
            if let Some(both) = resource
                .allowed
                .iter()
                .find(|m| resource.planned.contains(m))
            {
                return Err(error(format!("{both} is both allowed and planned")));
            }
            if resource.allowed.is_empty() && resource.planned.is_empty() {
                return Err(error("no method is allowed or planned".to_owned()));
            }
            router
                .insert(pattern.as_str(), resources.len())
                .map_err(|e| error(e.to_string()))?;
            resources.push(CompiledResource::new(resource, self.answer_options));
        }
        Ok(MethodPolicy {
            router,
            resources,
            strict: self.strict,
            answer_options: self.answer_options,
        })
    }
}

/// A compiled route table of allowed and planned methods. Cheap to look up: one `matchit`
/// match per request, no allocation.
#[derive(Debug, Clone)]
pub struct MethodPolicy {
    router: matchit::Router<usize>,
    resources: Vec<CompiledResource>,
    strict: bool,
    answer_options: bool,
}

#[derive(Debug, Clone)]
struct CompiledResource {
    allowed: Vec<Method>,
    planned: Vec<Method>,
    /// What `Allow` says: the allowed methods, `HEAD` with `GET`, `OPTIONS` when answered.
    allow: HeaderValue,
    hints: RouteHints,
}

impl CompiledResource {
    fn new(resource: Resource, answer_options: bool) -> Self {
        let mut listed = resource.allowed.clone();
        if listed.contains(&Method::GET) {
            listed.push(Method::HEAD);
        }
        if answer_options {
            listed.push(Method::OPTIONS);
        }
        Self {
            allow: allow_header(listed),
            allowed: resource.allowed,
            planned: resource.planned,
            hints: resource.hints,
        }
    }

    fn allows(&self, method: &Method) -> bool {
        listed(&self.allowed, method)
    }

    fn plans(&self, method: &Method) -> bool {
        listed(&self.planned, method)
    }
}

/// Whether `methods` lists `method`; `HEAD` goes with `GET` (RFC 9110 §9.3.2).
fn listed(methods: &[Method], method: &Method) -> bool {
    methods.contains(method) || (*method == Method::HEAD && methods.contains(&Method::GET))
}

/// What the policy decides for a request.
pub(crate) enum Decision {
    /// Let the inner service answer; the resource's timeout and criticality.
    Pass(RouteHints),
    /// Answer `OPTIONS` with this response.
    Answer(Response<ErrorBody>),
    /// Refuse the request with this error.
    Refuse(ApiError),
}

impl MethodPolicy {
    /// Starts a table: no resource, not strict, answering `OPTIONS`.
    pub fn builder() -> MethodPolicyBuilder {
        MethodPolicyBuilder {
            answer_options: true,
            ..MethodPolicyBuilder::default()
        }
    }

    pub(crate) fn decide<B>(&self, req: &Request<B>) -> Decision {
        let path = req.uri().path();
        let Ok(matched) = self.router.at(path) else {
            return if self.strict {
                Decision::Refuse(ApiError::not_found())
            } else {
                Decision::Pass(RouteHints::default())
            };
        };
        let resource = &self.resources[*matched.value];
        let method = req.method();
        if resource.allows(method) {
            return Decision::Pass(resource.hints);
        }
        if *method == Method::OPTIONS && self.answer_options {
            if is_preflight(req.headers()) {
                return Decision::Pass(resource.hints);
            }
            let mut response = Response::new(ErrorBody::default());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response.headers_mut().insert(ALLOW, resource.allow.clone());
            return Decision::Answer(response);
        }
        // A HEAD answer describes the GET answer: same text, so the same Content-Length
        // (RFC 9110 §8.6 forbids any other).
        let named = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        let error = if resource.plans(method) {
            ApiError::not_implemented()
                .with_detail(format!(
                    "{named} is planned for {} but not implemented yet.",
                    shorten(path)
                ))
                .with_header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
        } else {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED)
                .with_detail(format!("{named} is not supported for {}.", shorten(path)))
        };
        Decision::Refuse(error.with_header(ALLOW, resource.allow.clone()))
    }
}

fn is_preflight(headers: &HeaderMap) -> bool {
    headers.contains_key(http::header::ORIGIN)
        && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The methods the server recognizes: RFC 9110's and `PATCH`, plus the ones added.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecognizedMethods {
    extensions: Vec<Method>,
}

const STANDARD: [Method; 9] = [
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

impl RecognizedMethods {
    pub(crate) fn add(&mut self, method: Method) {
        if !self.recognizes(&method) {
            self.extensions.push(method);
        }
    }

    pub(crate) fn recognizes(&self, method: &Method) -> bool {
        STANDARD.contains(method) || self.extensions.contains(method)
    }
}

/// `501 not_implemented` for a method the server does not recognize.
pub(crate) fn unrecognized(method: &Method) -> ApiError {
    ApiError::not_implemented().with_detail(format!(
        "{} is not a method this server recognizes.",
        shorten(method.as_str())
    ))
}

/// Echoed request text (paths, methods) is cut to keep error bodies small.
fn shorten(text: &str) -> &str {
    const MAX: usize = 256;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> MethodPolicy {
        MethodPolicy::builder()
            .resource("/reports/{id}/result", Resource::allow([Method::GET]))
            .resource(
                "/payments",
                Resource::allow([Method::GET]).plan([Method::POST]),
            )
            .resource(
                "/files/{*path}",
                Resource::allow([Method::GET, Method::PUT]),
            )
            .build()
            .unwrap()
    }

    fn decide(method: &str, path: &str) -> Result<StatusCode, ()> {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap();
        match policy().decide(&req) {
            Decision::Pass(_) => Err(()),
            Decision::Answer(response) => Ok(response.status()),
            Decision::Refuse(error) => Ok(error.status()),
        }
    }

    #[test]
    fn allowed_and_head_pass() {
        assert_eq!(decide("GET", "/reports/1234/result"), Err(()));
        assert_eq!(decide("HEAD", "/reports/1234/result"), Err(()));
        assert_eq!(decide("PUT", "/files/a/b/c.txt"), Err(()));
    }

    #[test]
    fn head_follows_get_when_get_is_planned() {
        let policy = MethodPolicy::builder()
            .resource(
                "/notes",
                Resource::allow([Method::POST]).plan([Method::GET]),
            )
            .build()
            .unwrap();
        let req = Request::head("/notes").body(()).unwrap();
        assert!(matches!(
            policy.decide(&req),
            Decision::Refuse(e) if e.status() == StatusCode::NOT_IMPLEMENTED
        ));
    }

    #[test]
    fn planned_is_501_and_other_is_405() {
        assert_eq!(decide("POST", "/payments"), Ok(StatusCode::NOT_IMPLEMENTED));
        assert_eq!(
            decide("POST", "/reports/1234/result"),
            Ok(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(
            decide("DELETE", "/files/x"),
            Ok(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(decide("OPTIONS", "/payments"), Ok(StatusCode::NO_CONTENT));
    }

    #[test]
    fn unmatched_paths_pass_unless_strict() {
        assert_eq!(decide("POST", "/elsewhere"), Err(()));
        let strict = MethodPolicy::builder()
            .resource("/a", Resource::allow([Method::GET]))
            .strict(true)
            .build()
            .unwrap();
        let req = Request::get("/b").body(()).unwrap();
        assert!(matches!(
            strict.decide(&req),
            Decision::Refuse(e) if e.status() == StatusCode::NOT_FOUND
        ));
    }

    #[test]
    fn allow_lists_head_and_options() {
        let req = Request::post("/payments").body(()).unwrap();
        let Decision::Refuse(error) = policy().decide(&req) else {
            panic!("expected an error");
        };
        assert_eq!(error.headers()[ALLOW], "GET, HEAD, OPTIONS");
        assert_eq!(error.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn table_mistakes_are_reported() {
        let conflict = MethodPolicy::builder()
            .resource("/notes/{id}", Resource::allow([Method::GET]))
            .resource("/notes/{key}", Resource::allow([Method::GET]))
            .build()
            .unwrap_err();
        assert!(
            conflict.to_string().starts_with("/notes/{key}: "),
            "{conflict}"
        );
        let invalid = MethodPolicy::builder()
            .resource("/notes/{id", Resource::allow([Method::GET]))
            .build()
            .unwrap_err();
        assert!(invalid.to_string().starts_with("/notes/{id: "), "{invalid}");
        let empty = MethodPolicy::builder()
            .resource("/x", Resource::default())
            .build()
            .unwrap_err();
        assert_eq!(empty.to_string(), "/x: no method is allowed or planned");
    }

    #[test]
    fn recognized_methods_are_case_sensitive() {
        let mut recognized = RecognizedMethods::default();
        assert!(recognized.recognizes(&Method::PATCH));
        assert!(!recognized.recognizes(&Method::from_bytes(b"get").unwrap()));
        let query = Method::from_bytes(b"QUERY").unwrap();
        assert!(!recognized.recognizes(&query));
        recognized.add(query.clone());
        assert!(recognized.recognizes(&query));
    }

    #[test]
    fn long_text_is_shortened_on_a_char_boundary() {
        let long = "é".repeat(200);
        assert!(shorten(&long).len() <= 256);
        assert!(long.starts_with(shorten(&long)));
    }
}
