//! What [`check_contract`](super::check_contract) tells: the requests it sent, and the rules
//! broken.

use std::fmt;

/// One request [`check_contract`](super::check_contract) sent, and the status it got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checked {
    /// The method sent.
    pub method: String,
    /// The path sent (a resource's pattern with sample values, or `*`).
    pub path: String,
    /// What the request was, for the policy: `allowed`, `planned`, `refused`, `unlisted`,
    /// `head`, `options`, `unrecognized`.
    pub kind: &'static str,
    /// The status it got.
    pub status: u16,
}

/// What [`check_contract`](super::check_contract) checked, when everything kept the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub(super) checked: Vec<Checked>,
}

impl Report {
    /// Every request sent, in order.
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
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// let router = axum::Router::new().route("/notes", get(|| async { "[]" }));
    /// let app = ApiErrorLayer::new().method_policy(policy.clone()).layer(router);
    /// let report = testing::check_contract::<axum::body::Body, _, _>(app, &policy)
    ///     .await
    ///     .unwrap();
    /// let get = report.checked().iter().find(|c| c.method == "GET").unwrap();
    /// assert_eq!((get.path.as_str(), get.status), ("/notes", 200));
    /// # }
    /// ```
    #[must_use]
    pub fn checked(&self) -> &[Checked] {
        &self.checked
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checked {
            writeln!(f, "{} {} ({}): {}", c.method, c.path, c.kind, c.status)?;
        }
        Ok(())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    /// The method sent.
    pub method: String,
    /// The path sent.
    pub path: String,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.method, self.path, self.problem)
    }
}

/// Every broken rule [`check_contract`](super::check_contract) found, and the report of what it checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations {
    pub(super) violations: Vec<Violation>,
    pub(super) report: Report,
}

impl Violations {
    /// Each broken rule, in the order found.
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
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// // A handler whose 500 body leaks internal text: the layer normalizes bodies
    /// // only of what it wraps, so this one goes around it.
    /// let router = axum::Router::new().route("/notes", get(|| async { "[]" }));
    /// let app = ApiErrorLayer::new().method_policy(policy.clone()).layer(router);
    /// let leaky = tower::service_fn(move |req: http::Request<axum::body::Body>| {
    ///     let app = app.clone();
    ///     async move {
    ///         use tower::ServiceExt;
    ///         if req.method() == Method::DELETE {
    ///             let body = r#"{"error":"boom at src/main.rs:12"}"#;
    ///             let response = http::Response::builder().status(500).body(axum::body::Body::from(body));
    ///             return Ok::<_, std::convert::Infallible>(response.unwrap());
    ///         }
    ///         Ok(app.oneshot(req).await.unwrap().map(axum::body::Body::new))
    ///     }
    /// });
    /// let violations = testing::check_contract::<axum::body::Body, _, _>(leaky, &policy)
    ///     .await
    ///     .unwrap_err();
    /// assert!(violations.violations().iter().any(|v| v.method == "DELETE"));
    /// # }
    /// ```
    #[must_use]
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Everything that was sent, the good answers included.
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
    /// let policy = MethodPolicy::builder()
    ///     .resource("/notes", Resource::allow([Method::GET]))
    ///     .build()
    ///     .unwrap();
    /// // A handler whose 500 body leaks internal text: the layer normalizes bodies
    /// // only of what it wraps, so this one goes around it.
    /// let router = axum::Router::new().route("/notes", get(|| async { "[]" }));
    /// let app = ApiErrorLayer::new().method_policy(policy.clone()).layer(router);
    /// let leaky = tower::service_fn(move |req: http::Request<axum::body::Body>| {
    ///     let app = app.clone();
    ///     async move {
    ///         use tower::ServiceExt;
    ///         if req.method() == Method::DELETE {
    ///             let body = r#"{"error":"boom at src/main.rs:12"}"#;
    ///             let response = http::Response::builder().status(500).body(axum::body::Body::from(body));
    ///             return Ok::<_, std::convert::Infallible>(response.unwrap());
    ///         }
    ///         Ok(app.oneshot(req).await.unwrap().map(axum::body::Body::new))
    ///     }
    /// });
    /// let violations = testing::check_contract::<axum::body::Body, _, _>(leaky, &policy)
    ///     .await
    ///     .unwrap_err();
    /// assert!(violations.report().checked().iter().any(|c| c.method == "GET"));
    /// # }
    /// ```
    #[must_use]
    pub fn report(&self) -> &Report {
        &self.report
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} violation(s) of the error contract:",
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}
