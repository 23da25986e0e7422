//! 503 `maintenance`: switched on and off at run time, with bypass paths.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::call;
use http::{Request, StatusCode};
use tower::Layer;
use tower_api_errors::overload::Maintenance;
use tower_api_errors::ApiErrorLayer;

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn maintenance_switches_at_run_time_and_spares_bypass_paths() {
    let maintenance = Maintenance::builder()
        .retry_after(Duration::from_secs(120))
        .bypass("/health")
        .bypass("/admin/*")
        .build();
    let router = Router::new()
        .route("/notes", get(|| async { "notes" }))
        .route("/health", get(|| async { "ok" }))
        .route("/admin/maintenance", get(|| async { "admin" }));
    let app = ApiErrorLayer::new()
        .maintenance(maintenance.clone())
        .layer(router);

    assert_eq!(
        call(app.clone(), get_req("/notes")).await.status,
        StatusCode::OK
    );

    maintenance.enable();
    let reply = call(app.clone(), get_req("/notes")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers["retry-after"], "120");
    let body = reply.error_body();
    assert_eq!(body["error"], "maintenance");
    assert_eq!(body["retry_after"], 120);
    // Unknown paths are in maintenance too; bypass paths are not.
    assert_eq!(
        call(app.clone(), get_req("/nowhere")).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        call(app.clone(), get_req("/health")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        call(app.clone(), get_req("/admin/maintenance"))
            .await
            .status,
        StatusCode::OK
    );

    maintenance.disable();
    assert_eq!(call(app, get_req("/notes")).await.status, StatusCode::OK);
}
