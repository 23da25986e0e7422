//! What the public surface promises at compile time (issue 20, item 10): the types a server
//! shares across threads are `Send + Sync`, futures and bodies are `Send` when what they wrap
//! is, and every public type is `Debug` without asking the same of what it wraps.

use std::fmt::Debug;

use axum::body::Body;
use axum::Router;
use http::Request;
use tower::{Layer, Service};
use tower_api_errors::body::ResponseBody;
use tower_api_errors::future::ResponseFuture;
use tower_api_errors::overload::{AdaptiveConcurrency, Drain, InFlight, Maintenance};
use tower_api_errors::policy::{MethodPolicy, PolicyError};
use tower_api_errors::{ApiError, ApiErrorLayer, ApiErrorService};

fn send_sync<T: Send + Sync + 'static>() {}
fn send<T: Send + 'static>() {}

#[test]
fn shared_types_are_send_and_sync() {
    send_sync::<ApiError>();
    send_sync::<ApiErrorLayer>();
    send_sync::<ApiErrorService<Router>>();
    send_sync::<MethodPolicy>();
    send_sync::<PolicyError>();
    send_sync::<Maintenance>();
    send_sync::<Drain>();
    send_sync::<InFlight>();
    send_sync::<AdaptiveConcurrency>();
    send::<ResponseBody<Body>>();
    send::<<ApiErrorService<Router> as Service<Request<Body>>>::Future>();
}

/// A future that is not `Debug`, as an `async` block is not.
struct Opaque;

impl std::future::Future for Opaque {
    type Output = Result<http::Response<Body>, std::convert::Infallible>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Pending
    }
}

fn debug<T: Debug>(value: &T) -> String {
    format!("{value:?}")
}

#[test]
fn futures_and_bodies_are_debug_whatever_they_wrap() {
    let service = ApiErrorLayer::new().layer(tower::service_fn(|_req: Request<Body>| Opaque));
    let mut service = service;
    let future: ResponseFuture<Opaque, _> = service.call(Request::new(Body::empty()));
    assert!(debug(&future).starts_with("ResponseFuture"));
    assert!(debug(&service).starts_with("ApiErrorService"));
    let response: http::Response<ResponseBody<Body>> = ApiError::not_found().into();
    assert!(debug(response.body()).contains("error"));
}

/// `use tower_api_errors::*` brings no name that shadows a dependency's: `Json` is
/// `extract::Json` and `BoxError` `classify::BoxError`, so beside `use axum::*` they are axum's, and the crates the users of this one
/// name too (`http`, `tower`, `axum`, `serde_json`…) still resolve after the glob.
mod glob_import_beside_axum {
    #![allow(unused_imports)]
    #![deny(ambiguous_glob_imports)]
    use axum::*;
    use tower_api_errors::*;

    #[test]
    fn axum_s_names_and_the_dependencies_resolve() {
        let _: Json<u8> = Json(1);
        let _: Router = Router::new();
        let _ = http::StatusCode::OK;
        let _ = serde_json::json!({});
        let _ = bytes::Bytes::new();
        let _ = tower::service_fn(|()| async { Ok::<_, BoxError>(()) }); // axum's: this crate's is `classify::BoxError`
        let _: ApiErrorLayer = ApiErrorLayer::new();
        let _: ApiError = ApiError::not_found();
        let _ = Format::Json;
    }
}

/// What the root holds, read from the committed listing (`public-api.txt`, checked against the
/// crate by `.ci/public-api.sh`): the everyday types and the modules, none named like a
/// dependency.
#[test]
fn the_root_holds_the_everyday_types_and_the_modules() {
    let listing = include_str!("../public-api.txt");
    let mut root: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_once(" tower_api_errors::").map(|(_, rest)| rest))
        .map(|rest| {
            rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap()
        })
        .collect();
    root.sort_unstable();
    root.dedup();
    assert_eq!(
        root,
        [
            "ApiError",
            "ApiErrorLayer",
            "ApiErrorService",
            "FieldError",
            "Format",
            "api_metrics",
            "body",
            "classify",
            "extract",
            "future",
            "openapi",
            "overload",
            "policy",
            "routing",
            "shape",
            "testing",
        ]
    );
    let manifest = include_str!("../Cargo.toml");
    let dependencies = manifest
        .split("\n[")
        .filter(|table| {
            table.starts_with("dependencies]") || table.starts_with("dev-dependencies]")
        })
        .flat_map(|table| table.lines().skip(1))
        .filter_map(|line| {
            line.split_once('=')
                .map(|(name, _)| name.trim().replace('-', "_"))
        })
        .filter(|name| !name.is_empty() && !name.starts_with('#'));
    for dependency in dependencies {
        assert!(
            !root.contains(&dependency.as_str()),
            "{dependency} at the root"
        );
    }
}
