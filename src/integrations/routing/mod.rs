//! Routes declared once: the handlers and each method's fate (allowed, or planned: 501) in one
//! declaration that produces both axum's `Router` and the [`MethodPolicy`](crate::policy::MethodPolicy), so they can't drift.
//!
//! The functions here mirror `axum::routing::{get, post, …}` and return an [`ApiMethodRouter`],
//! which records the methods it routes (axum's `MethodRouter` can't be asked) and adds
//! [`plan`](ApiMethodRouter::plan). [`ApiRouter`] mirrors `axum::Router`.
//!
//! ```
//! use http::{Method, Request, StatusCode};
//! use tower::ServiceExt;
//! use tower_api_errors::routing::{get, ApiRouter};
//! use tower_api_errors::ApiErrorLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = ApiRouter::new()
//!     .route("/payments", get(|| async { "[]" }).plan(Method::POST))
//!     .route("/reports/{id}/result", get(|| async { "done" }))
//!     .into_service(ApiErrorLayer::new())
//!     .expect("a valid route table");
//!
//! let post = |uri| Request::post(uri).body(axum::body::Body::empty()).unwrap();
//! let planned = app.clone().oneshot(post("/payments")).await.unwrap();
//! assert_eq!(planned.status(), StatusCode::NOT_IMPLEMENTED);
//! let refused = app.oneshot(post("/reports/1234/result")).await.unwrap();
//! assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
//! assert_eq!(refused.headers()["allow"], "GET, HEAD, OPTIONS");
//! # }
//! ```
//!
//! Each route answers the methods it has no handler for itself, from the policy (`405` or
//! `501` with `Allow`, and the `405` to `OPTIONS` the layer makes `204`), so the layers added to
//! the router ([`ApiRouter::layer`]) see those answers as axum's see its `405`; for auth, use
//! [`ApiMethodRouter::route_layer`], which runs only where a handler does. The files: `answer.rs`
//! (that fallback), `method_router.rs` ([`ApiMethodRouter`] and `get`, `post`, …), `router.rs`
//! ([`ApiRouter`]).
//!
//! [`AxumService`] is the layer's service with axum's request and response types
//! ([`ApiErrorService::into_axum`](crate::ApiErrorService::into_axum)).
//!
//! Keeping a `Router` and a policy apart?
//! [`testing::check_router`](crate::testing::check_router) (feature `testing`) tells whether
//! they agree.

mod answer;
mod method_router;
mod router;

pub use self::method_router::{
    any, connect, delete, get, head, on, options, patch, post, put, trace, ApiMethodRouter,
    Methods, OnMethods,
};
pub use self::router::ApiRouter;
pub use crate::integrations::axum::AxumService;
