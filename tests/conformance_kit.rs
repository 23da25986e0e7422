//! `tower_api_errors::testing::check_contract` on the demo (which keeps the contract) and on
//! apps that break it.

#[allow(dead_code)] // only the demo's service and route table are used here
#[path = "../examples/demo/app.rs"]
mod app;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::Method;
use tower::Layer;
use tower_api_errors::policy::{MethodPolicy, Resource};
use tower_api_errors::testing::check_contract;
use tower_api_errors::ApiErrorLayer;

#[tokio::test]
async fn the_demo_keeps_the_contract() {
    let settings = app::Settings::default();
    let demo = app::demo(&settings);
    let maintenance = app::maintenance(&settings);
    let policy = app::routes(&maintenance, app::Database::new(&settings))
        .policy()
        .unwrap();
    let report = check_contract::<Body, _, _>(demo.service, &policy)
        .await
        .unwrap_or_else(|violations| panic!("{violations}\n{}", violations.report()));
    let sent = |method: &str, path: &str, kind: &str, status: u16| {
        report
            .checked()
            .iter()
            .any(|c| c.method == method && c.path == path && c.kind == kind && c.status == status)
    };
    // Every kind of request was sent, and got its answer.
    assert!(sent("POST", "/payments", "planned", 501), "{report}");
    assert!(sent("DELETE", "/notes/1", "planned", 501), "{report}");
    assert!(
        sent("POST", "/reports/1/result", "refused", 405),
        "{report}"
    );
    assert!(sent("HEAD", "/payments", "head", 200), "{report}");
    assert!(sent("OPTIONS", "/payments", "options", 204), "{report}");
    assert!(sent("BREW", "/health", "unrecognized", 501), "{report}");
    assert!(sent("OPTIONS", "*", "options", 204), "{report}");
    assert!(sent("GET", "/panic", "allowed", 500), "{report}");
}

fn policy() -> MethodPolicy {
    MethodPolicy::builder()
        .resource(
            "/payments",
            Resource::allow([Method::GET]).plan([Method::POST]),
        )
        .resource(
            "/reports/{id}",
            Resource::allow([Method::GET]).refuse([Method::DELETE]),
        )
        .build()
        .unwrap()
}

fn router() -> Router {
    Router::new()
        .route("/payments", get(|| async { "[]" }))
        .route("/reports/{id}", get(|| async { "report" }))
}

#[tokio::test]
async fn a_layer_without_the_policy_breaks_it() {
    // The policy the app claims, not the one its layer has: planned and refused methods reach
    // the Router, whose 405s the layer renders, but without `Cache-Control` and as 405s.
    let app = ApiErrorLayer::new().layer(router());
    let violations = check_contract::<Body, _, _>(app, &policy())
        .await
        .unwrap_err();
    let problems: Vec<String> = violations
        .violations()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        problems.contains(
            &"POST /payments: expected 501 not_implemented, got 405 method_not_allowed".to_owned()
        ),
        "{violations}"
    );
    assert!(
        problems.contains(
            &"POST /payments: a planned 501 without `Cache-Control: no-store`".to_owned()
        ),
        "{violations}"
    );
    // A method named nowhere is the Router's: its 405, rendered with Allow, is no violation.
    assert!(violations
        .report()
        .checked()
        .iter()
        .any(|c| c.method == "PUT" && c.kind == "unlisted" && c.status == 405));
    assert!(
        !problems.iter().any(|p| p.starts_with("PUT /payments")),
        "{violations}"
    );
}

#[tokio::test]
async fn a_bare_router_breaks_it_everywhere() {
    let violations = check_contract::<Body, _, _>(router(), &policy())
        .await
        .unwrap_err();
    let text = violations.to_string();
    // axum's empty 405s and its 200 to BREW (routed nowhere: 405) are no contract answers.
    assert!(
        text.contains("DELETE /reports/1: an error answer with Content-Type ``, not JSON"),
        "{text}"
    );
    assert!(
        text.contains("BREW /payments: expected 501 not_implemented"),
        "{text}"
    );
    assert!(text.contains("OPTIONS *: OPTIONS * answered"), "{text}");
}

#[tokio::test]
async fn panic_text_in_a_5xx_is_a_violation() {
    // A service that leaks what the layer would never send.
    let leaky = tower::service_fn(|_req: http::Request<Body>| async {
        let body = r#"{"ok":false,"status":500,"error":"internal_error","message":"Server Error","detail":"thread panicked at src/db.rs:12","retryable":false}"#;
        Ok::<_, std::convert::Infallible>(
            http::Response::builder()
                .status(500)
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
    });
    let policy = MethodPolicy::builder()
        .resource("/x", Resource::allow([Method::GET]))
        .build()
        .unwrap();
    let app = ApiErrorLayer::new()
        .method_policy(policy.clone())
        .layer(leaky);
    let violations = check_contract::<Body, _, _>(app, &policy)
        .await
        .unwrap_err();
    assert!(
        violations
            .to_string()
            .contains("GET /x: a 5xx body with internal text (`panicked`)"),
        "{violations}"
    );
}

/// Issue 21, item 5: an auth layer around a route answers `OPTIONS` with `401`, while the
/// route's `405`s advertise `Allow: …, OPTIONS`: an `OPTIONS` that does not work.
#[tokio::test]
async fn options_refused_by_a_route_layer_is_a_violation() {
    async fn auth(
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> Result<axum::response::Response, tower_api_errors::ApiError> {
        match req.headers().get("authorization") {
            Some(_) => Ok(next.run(req).await),
            None => Err(tower_api_errors::ApiError::unauthorized("Bearer")),
        }
    }
    let router = Router::new().route(
        "/refunds",
        axum::routing::post(|| async { "refunded" }).layer(axum::middleware::from_fn(auth)),
    );
    let policy = MethodPolicy::builder()
        .resource("/refunds", Resource::allow([Method::POST]))
        .build()
        .unwrap();
    let app = ApiErrorLayer::new()
        .method_policy(policy.clone())
        .layer(router);
    let violations = check_contract::<Body, _, _>(app, &policy)
        .await
        .unwrap_err();
    let text = violations.to_string();
    assert!(
        text.contains("OPTIONS /refunds: 401 to OPTIONS: the policy answers it with 204 and Allow"),
        "{text}"
    );
}
