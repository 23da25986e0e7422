//! A conformance kit for your app (feature `testing`): [`check_contract`] sends every resource
//! of your [`MethodPolicy`] every kind of method and checks that the answers keep the error
//! contract.
//!
//! The one test to add, next to your app:
//!
//! ```
//! use axum::routing::get;
//! use http::Method;
//! use tower::Layer;
//! use tower_api_errors::policy::{MethodPolicy, Resource};
//! use tower_api_errors::{testing, ApiErrorLayer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let router = axum::Router::new().route("/payments", get(|| async { "[]" }));
//! let policy = MethodPolicy::builder()
//!     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
//!     .build()
//!     .unwrap();
//! let app = ApiErrorLayer::new().method_policy(policy.clone()).layer(router);
//!
//! let report = testing::check_contract::<axum::body::Body, _, _>(app, &policy)
//!     .await
//!     .unwrap_or_else(|violations| panic!("{violations}"));
//! assert!(report.checked().iter().any(|c| c.method == "POST" && c.status == 501));
//! # }
//! ```
//!
//! What is sent to each resource (its pattern filled with sample values, `/notes/{id}` →
//! `/notes/1`, as [`check_policy`] does), and what must come back:
//!
//! | request | expected |
//! |---|---|
//! | an allowed method | the inner service's answer: not the layer's `405` or `501` |
//! | a planned method | `501 not_implemented`, `Allow`, `Cache-Control: no-store` (`405 method_not_allowed` with `planned: true` under [`planned_as_405`](crate::policy::MethodPolicyBuilder::planned_as_405)) |
//! | a refused method | `405 method_not_allowed`, `Allow` |
//! | a recognized method named nowhere | the inner service's answer; a `405` with `Allow`, rendered like the layer's |
//! | `HEAD` | the status of `GET`, and no body |
//! | `OPTIONS` (not allowed by the resource) | `204` with `Allow` when the policy answers `OPTIONS`, else the inner service's answer |
//! | `BREW` (unrecognized) | `501 not_implemented` |
//! | `OPTIONS *` (once) | `204`, with `Allow` when the policy answers `OPTIONS` |
//!
//! Every error answer (status >= 400) must have the contract's body: JSON (or problem+json)
//! with `ok: false`, `status` equal to the HTTP status, a snake_case `error`, a `message`, a
//! `detail` and a boolean `retryable`; a 5xx must carry nothing that looks internal (a panic
//! message, a source path, a backtrace). Handlers of allowed methods do run, with an empty
//! body: call this on a test instance.
//!
//! With your own [shape](crate::shape::ErrorShape), [`check_contract_in_shape`] checks the error
//! answers in it against its [schema](crate::shape::ErrorShape::schema) instead (and the layer's
//! refusals by their status and `Allow`, their code being where the shape puts it).

use std::future::poll_fn;
use std::pin::pin;

use bytes::{Bytes, BytesMut};
use http::header::{ALLOW, CACHE_CONTROL};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use tower_service::Service;

mod report;
mod rules;

pub use self::report::{Checked, Report, Violation, Violations};
use self::rules::{body_problems, is_layer_refusal, Answer, Shape};
use crate::classify::BoxError;
#[cfg(feature = "axum")]
pub use crate::integrations::check_policy::check_router;
use crate::integrations::check_policy::sample_path;
pub use crate::integrations::check_policy::{check_policy, PolicyMismatch};
use crate::methods::policy::MethodPolicy;
use crate::respond::shape::ErrorShape;

/// The recognized methods probed where the policy names them nowhere.
const PROBED: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// Sends every resource of `policy` every kind of method through `service` (your app, with
/// [`ApiErrorLayer`](crate::ApiErrorLayer) and this policy) and checks the answers against the
/// contract: see the [module documentation](self) for the table. `ReqBody` is the request
/// body type (an empty one, from `Default`: `axum::body::Body` for a Router).
///
/// # Errors
///
/// Every violation found, with the report of everything sent.
///
/// ```
/// use axum::routing::get;
/// use http::Method;
/// use tower::Layer;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
/// use tower_api_errors::{testing, ApiErrorLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let router = axum::Router::new().route("/notes", get(|| async { "[]" }));
/// let policy = MethodPolicy::builder()
///     .resource("/notes", Resource::allow([Method::GET]))
///     .build()
///     .unwrap();
/// let app = ApiErrorLayer::new().method_policy(policy.clone()).layer(router);
/// testing::check_contract::<axum::body::Body, _, _>(app, &policy)
///     .await
///     .unwrap_or_else(|violations| panic!("{violations}"));
/// # }
/// ```
pub async fn check_contract<ReqBody, S, ResBody>(
    service: S,
    policy: &MethodPolicy,
) -> Result<Report, Violations>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    check(service, policy, None).await
}

/// [`check_contract`] for an app whose layer answers in `shape`
/// ([`ApiErrorLayer::shape`](crate::ApiErrorLayer::shape)): the error answers in its media
/// type must be valid against its [schema](ErrorShape::schema); the others must be the
/// document's body.
///
/// ```
/// use axum::routing::get;
/// use http::Method;
/// use serde_json::json;
/// use tower::Layer;
/// use tower_api_errors::policy::{MethodPolicy, Resource};
/// use tower_api_errors::shape::{shape_fn, ErrorFacts};
/// use tower_api_errors::{testing, ApiErrorLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let envelope = shape_fn("application/json", |e: &ErrorFacts<'_>| {
///     json!({"success": false, "error": {"type": e.code(), "message": e.detail()}})
/// })
/// .schema(json!({
///     "type": "object",
///     "required": ["success", "error"],
///     "properties": {"success": {"const": false}},
/// }));
/// let router = axum::Router::new().route("/payments", get(|| async { "[]" }));
/// let policy = MethodPolicy::builder()
///     .resource("/payments", Resource::allow([Method::GET]).plan([Method::POST]))
///     .build()
///     .unwrap();
/// let layer = ApiErrorLayer::new().method_policy(policy.clone());
/// let app = layer.shape(envelope.clone()).layer(router);
///
/// testing::check_contract_in_shape::<axum::body::Body, _, _>(app, &policy, &envelope)
///     .await
///     .unwrap_or_else(|violations| panic!("{violations}"));
/// # }
/// ```
///
/// # Errors
///
/// Every violation found, with the report of everything sent.
///
/// # Panics
///
/// When the shape's schema is not a valid JSON Schema.
pub async fn check_contract_in_shape<ReqBody, S, ResBody>(
    service: S,
    policy: &MethodPolicy,
    shape: &dyn ErrorShape,
) -> Result<Report, Violations>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    let shape = Shape {
        media_type: shape.media_type().to_owned(),
        schema: jsonschema::validator_for(&shape.schema())
            .unwrap_or_else(|error| panic!("the shape's schema is not a JSON Schema: {error}")),
    };
    check(service, policy, Some(shape)).await
}

async fn check<ReqBody, S, ResBody>(
    mut service: S,
    policy: &MethodPolicy,
    shape: Option<Shape>,
) -> Result<Report, Violations>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ReqBody: Default,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    let mut run = Run {
        shape,
        ..Run::default()
    };
    let answers_options = policy.answers_options();
    for (pattern, allowed, planned, refused) in policy.resource_lists() {
        let path = sample_path(pattern);
        let allows = |m: &Method| {
            allowed.contains(m) || (*m == Method::HEAD && allowed.contains(&Method::GET))
        };
        for method in allowed
            .iter()
            .filter(|m| **m != Method::OPTIONS && **m != Method::HEAD)
        {
            let Some(answer) = run.send(&mut service, method, &path, "allowed").await else {
                continue;
            };
            if is_layer_refusal(&answer, run.shape.as_ref()) {
                run.violation(
                    method,
                    &path,
                    format!(
                        "allowed, but answered {} {}",
                        answer.status.as_u16(),
                        answer.code().unwrap_or_default()
                    ),
                );
            }
        }
        for method in planned {
            let Some(answer) = run.send(&mut service, method, &path, "planned").await else {
                continue;
            };
            let status = policy.planned_status();
            let code = if status == StatusCode::METHOD_NOT_ALLOWED {
                "method_not_allowed"
            } else {
                "not_implemented"
            };
            run.expect_refusal(&answer, method, &path, status, code);
            if answer
                .headers
                .get(CACHE_CONTROL)
                .is_none_or(|v| v != "no-store")
            {
                run.violation(
                    method,
                    &path,
                    format!(
                        "a planned {} without `Cache-Control: no-store`",
                        status.as_u16()
                    ),
                );
            }
            if status == StatusCode::METHOD_NOT_ALLOWED
                && answer.json.as_ref().is_none_or(|b| b["planned"] != true)
            {
                run.violation(
                    method,
                    &path,
                    "a planned 405 without `planned: true`".to_owned(),
                );
            }
        }
        for method in &refused {
            let Some(answer) = run.send(&mut service, method, &path, "refused").await else {
                continue;
            };
            run.expect_refusal(
                &answer,
                method,
                &path,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            );
        }
        let unlisted = PROBED
            .iter()
            .filter(|m| !allows(m) && !planned.contains(m) && !refused.contains(m));
        for method in unlisted {
            let Some(answer) = run.send(&mut service, method, &path, "unlisted").await else {
                continue;
            };
            if answer.status == StatusCode::METHOD_NOT_ALLOWED {
                run.expect_refusal(
                    &answer,
                    method,
                    &path,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                );
            }
        }
        // HEAD: GET's status, no body.
        let get = run
            .send(&mut service, &Method::GET, &path, "head")
            .await
            .map(|a| a.status);
        run.checked.pop(); // the GET above was sent for comparison only
        if let (Some(get), Some(head)) = (
            get,
            run.send(&mut service, &Method::HEAD, &path, "head").await,
        ) {
            if head.status != get {
                run.violation(
                    &Method::HEAD,
                    &path,
                    format!(
                        "HEAD answered {}, GET {}",
                        head.status.as_u16(),
                        get.as_u16()
                    ),
                );
            }
            if !head.body.is_empty() {
                run.violation(&Method::HEAD, &path, "a HEAD answer with a body".to_owned());
            }
        }
        if !allows(&Method::OPTIONS) {
            if let Some(answer) = run
                .send(&mut service, &Method::OPTIONS, &path, "options")
                .await
            {
                // Whatever else answers (a `405`, an auth layer's `401` around the route), the
                // `Allow` of the resource's other answers promises an `OPTIONS` that works.
                if answers_options && answer.status != StatusCode::NO_CONTENT {
                    run.violation(
                        &Method::OPTIONS,
                        &path,
                        format!(
                            "{} to OPTIONS: the policy answers it with 204 and Allow",
                            answer.status.as_u16()
                        ),
                    );
                }
                if answer.status == StatusCode::NO_CONTENT && !answer.headers.contains_key(ALLOW) {
                    run.violation(
                        &Method::OPTIONS,
                        &path,
                        "204 to OPTIONS without Allow".to_owned(),
                    );
                }
            }
        }
        let brew = Method::from_bytes(b"BREW").expect("a method token");
        if let Some(answer) = run.send(&mut service, &brew, &path, "unrecognized").await {
            run.expect_status(
                &answer,
                &brew,
                &path,
                StatusCode::NOT_IMPLEMENTED,
                "not_implemented",
            );
        }
    }
    if let Some(answer) = run
        .send(&mut service, &Method::OPTIONS, "*", "options")
        .await
    {
        if answer.status != StatusCode::NO_CONTENT {
            run.violation(
                &Method::OPTIONS,
                "*",
                format!("OPTIONS * answered {}, not 204", answer.status.as_u16()),
            );
        } else if answers_options && !answer.headers.contains_key(ALLOW) {
            run.violation(
                &Method::OPTIONS,
                "*",
                "204 to OPTIONS * without Allow".to_owned(),
            );
        }
    }
    let report = Report {
        checked: run.checked,
    };
    if run.violations.is_empty() {
        Ok(report)
    } else {
        Err(Violations {
            violations: run.violations,
            report,
        })
    }
}

#[derive(Default)]
struct Run {
    checked: Vec<Checked>,
    violations: Vec<Violation>,
    shape: Option<Shape>,
}

impl Run {
    fn violation(&mut self, method: &Method, path: &str, problem: String) {
        self.violations.push(Violation {
            method: method.to_string(),
            path: path.to_owned(),
            problem,
        });
    }

    /// Sends one request and checks what every answer must be; `None` when it got none.
    async fn send<S, B, R>(
        &mut self,
        service: &mut S,
        method: &Method,
        path: &str,
        kind: &'static str,
    ) -> Option<Answer>
    where
        S: Service<Request<B>, Response = Response<R>>,
        S::Error: Into<BoxError>,
        B: Default,
        R: Body<Data = Bytes>,
        R::Error: Into<BoxError>,
    {
        let req = match Request::builder()
            .method(method.clone())
            .uri(path)
            .body(B::default())
        {
            Ok(req) => req,
            Err(error) => {
                self.violation(
                    method,
                    path,
                    format!("no valid request for the sample path: {error}"),
                );
                return None;
            }
        };
        let answer = match call(service, req).await {
            Ok(answer) => answer,
            Err(error) => {
                self.violation(method, path, format!("the service failed: {error}"));
                return None;
            }
        };
        self.checked.push(Checked {
            method: method.to_string(),
            path: path.to_owned(),
            kind,
            status: answer.status.as_u16(),
        });
        if answer.status.as_u16() >= 400 && *method != Method::HEAD {
            for problem in body_problems(&answer, self.shape.as_ref()) {
                self.violation(method, path, problem);
            }
        }
        Some(answer)
    }

    fn expect_status(
        &mut self,
        answer: &Answer,
        method: &Method,
        path: &str,
        status: StatusCode,
        code: &str,
    ) {
        let shaped = self.shape.as_ref().is_some_and(|shape| shape.wrote(answer));
        if answer.status != status || (!shaped && answer.code() != Some(code)) {
            self.violation(
                method,
                path,
                format!(
                    "expected {} {code}, got {} {}",
                    status.as_u16(),
                    answer.status.as_u16(),
                    answer.code().unwrap_or("(no error code)")
                ),
            );
        }
    }

    /// A 405 or 501 of the layer's own: `status` and `code`, and `Allow` with it.
    fn expect_refusal(
        &mut self,
        answer: &Answer,
        method: &Method,
        path: &str,
        status: StatusCode,
        code: &str,
    ) {
        self.expect_status(answer, method, path, status, code);
        if !answer.headers.contains_key(ALLOW) {
            self.violation(
                method,
                path,
                format!("a {} without Allow", answer.status.as_u16()),
            );
        }
    }
}

async fn call<S, B, R>(service: &mut S, req: Request<B>) -> Result<Answer, BoxError>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Error: Into<BoxError>,
    R: Body<Data = Bytes>,
    R::Error: Into<BoxError>,
{
    poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    let response = service.call(req).await.map_err(Into::into)?;
    let (parts, body) = response.into_parts();
    let mut body = pin!(body);
    let mut bytes = BytesMut::new();
    while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        if let Ok(data) = frame.map_err(Into::into)?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    let body = bytes.freeze();
    Ok(Answer {
        json: serde_json::from_slice(&body).ok(),
        status: parts.status,
        headers: parts.headers,
        body,
    })
}
