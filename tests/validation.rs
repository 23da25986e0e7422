//! `tower_api_errors::extract::Json` and `ApiError::invalid_params` behind the layer, over a real
//! socket: every rejection is the documented body, with `errors` pointing at the member, and
//! valid against both JSON Schemas.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use common::{send, serve, Reply};
use http::{Request, StatusCode};
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{json, Value};
use tower::Layer;
use tower_api_errors::extract::Json;
use tower_api_errors::{ApiError, ApiErrorLayer, FieldError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Order {
    customer_id: u64,
    items: Vec<Item>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    sku: String,
    quantity: u32,
}

async fn order(Json(order): Json<Order>) -> Result<Json<Value>, ApiError> {
    let mut errors = Vec::new();
    for (i, item) in order.items.iter().enumerate() {
        if item.quantity == 0 {
            errors.push(FieldError::new(
                ["items".to_string(), i.to_string(), "quantity".to_string()],
                "must be at least 1",
            ));
        }
        if item.sku.is_empty() {
            errors.push(FieldError::new(
                ["items".to_string(), i.to_string(), "sku".to_string()],
                "must not be empty",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid_params(errors));
    }
    Ok(Json(
        json!({"ok": true, "customer_id": order.customer_id, "items": order.items.len()}),
    ))
}

/// Types whose derived `Deserialize` names them in serde's messages (`struct Checkout`,
/// `enum PaymentMethod`, `tuple variant PaymentMethod::Iban`…): none of it may reach a client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Checkout {
    method: PaymentMethod,
    split: Option<Split>,
    either: Option<Either>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
enum PaymentMethod {
    Cash,
    Card { number: String },
    Iban(String, String),
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Split(u8, u8);

#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Either {
    Number(u8),
    Object { x: u8 },
}

async fn checkout(Json(_): Json<Checkout>) -> Json<Value> {
    Json(json!({"ok": true}))
}

async fn optional(body: Option<Json<BTreeMap<String, u8>>>) -> Json<Value> {
    Json(json!({"ok": true, "members": body.map(|Json(map)| map.len())}))
}

async fn forged() -> Result<(), ApiError> {
    Err(ApiError::bad_request().with("errors", "a string instead of a list"))
}

async fn start() -> SocketAddr {
    let router = Router::new()
        .route("/orders", post(order))
        .route("/optional", post(optional))
        .route("/checkout", post(checkout))
        .route("/forged", post(forged))
        .layer(DefaultBodyLimit::max(1024));
    serve(ApiErrorLayer::new().layer(router)).await
}

fn post_json(uri: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

fn assert_error(reply: &Reply, status: u16, code: &str) -> Value {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    let body = reply.error_body();
    assert_eq!(body["error"], code, "{body}");
    body
}

#[tokio::test]
async fn a_valid_order_is_answered_with_json() {
    let reply = send(
        start().await,
        post_json(
            "/orders",
            r#"{"customer_id": 1001, "items": [{"sku": "a", "quantity": 2}]}"#,
        ),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(
        reply.json(),
        json!({"ok": true, "customer_id": 1001, "items": 1})
    );
}

#[tokio::test]
async fn a_missing_member_is_missing_parameter_with_its_pointer() {
    let addr = start().await;
    let reply = send(addr, post_json("/orders", r#"{"items": []}"#)).await;
    let body = assert_error(&reply, 400, "missing_parameter");
    assert_eq!(body["param"], "customer_id");
    assert_eq!(
        body["errors"],
        json!([{"pointer": "/customer_id", "detail": "missing field `customer_id`"}])
    );
    let nested = send(
        addr,
        post_json("/orders", r#"{"customer_id": 1, "items": [{"sku": "a"}]}"#),
    )
    .await;
    let body = assert_error(&nested, 400, "missing_parameter");
    assert_eq!(body["param"], "quantity");
    assert_eq!(body["errors"][0]["pointer"], "/items/0/quantity");
}

#[tokio::test]
async fn a_wrong_type_points_at_the_value() {
    let reply = send(
        start().await,
        post_json(
            "/orders",
            r#"{"customer_id": 1, "items": [{"sku": "a", "quantity": 1}, {"sku": "b", "quantity": "2"}]}"#,
        ),
    )
    .await;
    let body = assert_error(&reply, 400, "invalid_body");
    assert_eq!(
        body["errors"],
        json!([{
            "pointer": "/items/1/quantity",
            "detail": "invalid type: string \"2\", expected u32",
        }])
    );
    assert_eq!(
        body["detail"],
        "The body has an invalid value at /items/1/quantity."
    );
}

#[tokio::test]
async fn an_unknown_member_is_escaped_as_rfc_6901_says() {
    let reply = send(
        start().await,
        post_json("/orders", r#"{"customer_id": 1, "items": [], "a/b~c": 0}"#),
    )
    .await;
    let body = assert_error(&reply, 400, "invalid_body");
    assert_eq!(body["errors"][0]["pointer"], "/a~1b~0c");
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("unknown field `a/b~c`"),
        "{body}"
    );
}

#[tokio::test]
async fn a_syntax_error_points_at_the_document_and_gives_the_position() {
    let reply = send(start().await, post_json("/orders", r#"{"customer_id": 1,"#)).await;
    let body = assert_error(&reply, 400, "bad_request");
    assert_eq!(
        body["errors"],
        json!([{"pointer": "", "detail": "EOF while parsing a value at line 1 column 18"}])
    );
    assert_eq!(
        body["detail"],
        "The body is not valid JSON: EOF while parsing a value at line 1 column 18."
    );
}

#[tokio::test]
async fn a_number_too_large_for_its_member_is_invalid_body_at_the_member() {
    // `1e400` is JSON (RFC 8259 puts no limit on numbers); it does not fit a `u64`.
    let reply = send(
        start().await,
        post_json("/orders", r#"{"customer_id": 1e400, "items": []}"#),
    )
    .await;
    let body = assert_error(&reply, 400, "invalid_body");
    assert_eq!(
        body["errors"],
        json!([{"pointer": "/customer_id", "detail": "number out of range"}])
    );
    assert_eq!(
        body["detail"],
        "The body has an invalid value at /customer_id."
    );
}

#[tokio::test]
async fn a_duplicate_member_points_at_the_member() {
    let addr = start().await;
    let reply = send(
        addr,
        post_json(
            "/orders",
            r#"{"customer_id": 1, "customer_id": 2, "items": []}"#,
        ),
    )
    .await;
    let body = assert_error(&reply, 400, "invalid_body");
    assert_eq!(
        body["errors"],
        json!([{"pointer": "/customer_id", "detail": "duplicate field `customer_id`"}])
    );
    assert_eq!(
        body["detail"],
        "The body has a duplicate member at /customer_id."
    );
    let nested = send(
        addr,
        post_json(
            "/orders",
            r#"{"customer_id": 1, "items": [{"sku": "a", "sku": "b", "quantity": 1}]}"#,
        ),
    )
    .await;
    let body = assert_error(&nested, 400, "invalid_body");
    assert_eq!(body["errors"][0]["pointer"], "/items/0/sku");
}

#[tokio::test]
async fn a_wrong_document_type_says_what_json_was_expected() {
    let reply = send(start().await, post_json("/orders", "42")).await;
    let body = assert_error(&reply, 400, "invalid_body");
    assert_eq!(
        body["errors"],
        json!([{"pointer": "", "detail": "invalid type: integer `42`, expected an object"}])
    );
    assert_eq!(
        body["detail"],
        "The body does not have the expected shape: invalid type: integer `42`, expected an object."
    );
}

#[tokio::test]
async fn no_rejection_names_a_server_type() {
    let addr = start().await;
    for (body, pointer) in [
        ("42", ""),
        ("[]", ""),
        (r#"["Cash", [1]]"#, "/1"),
        (r#"{"method": 42}"#, "/method"),
        (r#"{"method": {}}"#, "/method"),
        (r#"{"method": {"Card": 42}}"#, "/method/Card"),
        (r#"{"method": {"Iban": 42}}"#, "/method/Iban"),
        (r#"{"method": "Cash", "split": 4}"#, "/split"),
        (r#"{"method": "Cash", "split": [4]}"#, "/split"),
        (r#"{"method": "Cash", "either": "x"}"#, "/either"),
    ] {
        let reply = send(addr, post_json("/checkout", body)).await;
        let answer = assert_error(&reply, 400, "invalid_body");
        assert_eq!(answer["errors"][0]["pointer"], pointer, "{body}: {answer}");
        let text = answer.to_string();
        for name in [
            "struct",
            "enum",
            "variant ",
            "::",
            "Checkout",
            "PaymentMethod",
            "Split",
            "Either",
        ] {
            assert!(!text.contains(name), "{body}: {name} in {answer}");
        }
    }
}

#[tokio::test]
async fn a_syntax_error_wins_over_a_value_that_does_not_fit() {
    // The typed parse stops at the first member that does not fit; the client's first mistake
    // is that the document is not JSON at all.
    let addr = start().await;
    for body in [
        r#"{"customer_id": "a", "items": ["#,
        r#"{"customer_id": 1e400, "items": [] x"#,
    ] {
        let reply = send(addr, post_json("/orders", body)).await;
        let answer = assert_error(&reply, 400, "bad_request");
        assert_eq!(answer["errors"][0]["pointer"], "", "{body}: {answer}");
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .starts_with("The body is not valid JSON: "),
            "{body}: {answer}"
        );
    }
    let not_utf8 = b"{\"customer_id\": 1, \"items\": [{\"sku\": \"\xff\", \"quantity\": 1}]}";
    let reply = send(addr, post_json("/orders", &not_utf8[..])).await;
    let answer = assert_error(&reply, 400, "bad_request");
    assert_eq!(answer["errors"][0]["pointer"], "", "{answer}");
}

#[tokio::test]
async fn a_missing_or_wrong_content_type_is_415() {
    let addr = start().await;
    let none = Request::post("/orders")
        .body(Full::from(r#"{"customer_id": 1, "items": []}"#))
        .unwrap();
    let body = assert_error(&send(addr, none).await, 415, "unsupported_media_type");
    assert!(body.get("errors").is_none(), "{body}");
    let text = Request::post("/orders")
        .header("content-type", "text/plain")
        .body(Full::from(r#"{"customer_id": 1, "items": []}"#))
        .unwrap();
    assert_error(&send(addr, text).await, 415, "unsupported_media_type");
    let suffixed = Request::post("/orders")
        .header("content-type", "application/vnd.orders+json; charset=utf-8")
        .body(Full::from(r#"{"customer_id": 1, "items": []}"#))
        .unwrap();
    assert_eq!(send(addr, suffixed).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let big = format!(
        r#"{{"customer_id": 1, "items": [], "pad": "{}"}}"#,
        "x".repeat(2048)
    );
    let reply = send(start().await, post_json("/orders", big)).await;
    assert_error(&reply, 413, "payload_too_large");
}

#[tokio::test]
async fn handler_validation_is_422_invalid_params_listing_every_problem() {
    let reply = send(
        start().await,
        post_json(
            "/orders",
            r#"{"customer_id": 1, "items": [{"sku": "", "quantity": 0}, {"sku": "b", "quantity": 0}]}"#,
        ),
    )
    .await;
    let body = assert_error(&reply, 422, "invalid_params");
    assert_eq!(
        body["errors"],
        json!([
            {"pointer": "/items/0/quantity", "detail": "must be at least 1"},
            {"pointer": "/items/0/sku", "detail": "must not be empty"},
            {"pointer": "/items/1/quantity", "detail": "must be at least 1"},
        ])
    );
}

#[tokio::test]
async fn problem_documents_carry_the_same_errors() {
    let mut req = post_json("/orders", r#"{"items": []}"#);
    req.headers_mut()
        .insert("accept", "application/problem+json".parse().unwrap());
    let reply = send(start().await, req).await;
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    let body = assert_error(&reply, 400, "missing_parameter");
    assert_eq!(body["errors"][0]["pointer"], "/customer_id");
}

#[tokio::test]
async fn an_optional_body_may_be_absent_but_not_wrong() {
    let addr = start().await;
    let absent = send(
        addr,
        Request::post("/optional").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(absent.json(), json!({"ok": true, "members": null}));
    let wrong = send(addr, post_json("/optional", r#"{"a": 256}"#)).await;
    let body = assert_error(&wrong, 400, "invalid_body");
    assert_eq!(body["errors"][0]["pointer"], "/a");
}

#[tokio::test]
async fn nobody_sends_errors_of_another_shape() {
    let reply = send(start().await, post_json("/forged", "")).await;
    let body = assert_error(&reply, 400, "bad_request");
    assert!(body.get("errors").is_none(), "{body}");
}

#[test]
fn the_schemas_refuse_errors_of_another_shape() {
    let base = json!({
        "ok": false, "status": 400, "error": "bad_request", "message": "Bad Request",
        "detail": "x", "type": "about:blank", "title": "Bad Request", "retryable": false,
    });
    let with = |errors: Value| {
        let mut body = base.clone();
        body["errors"] = errors;
        body
    };
    for good in [
        json!([]),
        json!([{"pointer": "", "detail": "x"}]),
        json!([{"pointer": "/a~0b~1c/0", "detail": "x"}]),
    ] {
        assert!(common::schema_accepts(&with(good.clone())), "{good}");
        assert!(
            common::problem_schema_accepts(&with(good.clone())),
            "{good}"
        );
    }
    for bad in [
        json!("a string"),
        json!([{"pointer": "customer_id", "detail": "x"}]),
        json!([{"pointer": "/a~2", "detail": "x"}]),
        json!([{"pointer": "/a"}]),
        json!([{"pointer": "/a", "detail": ""}]),
        json!([{"pointer": "/a", "detail": "x", "code": "extra"}]),
    ] {
        assert!(!common::schema_accepts(&with(bad.clone())), "{bad}");
        assert!(!common::problem_schema_accepts(&with(bad.clone())), "{bad}");
    }
}

#[path = "../examples/validator.rs"]
#[allow(dead_code)]
mod validator_example;

/// The example that turns `validator`'s report into `invalid_params`, over a socket.
#[tokio::test]
async fn validator_reports_become_one_item_per_rule() {
    let addr = serve(ApiErrorLayer::new().layer(validator_example::app())).await;
    let reply = send(
        addr,
        post_json(
            "/signups",
            r#"{"name":"","email":"nope","age":12,"pets":[{"name":"Rex"},{"name":""}]}"#,
        ),
    )
    .await;
    let body = assert_error(&reply, 422, "invalid_params");
    assert_eq!(
        body["errors"],
        json!([
            {"pointer": "/age", "detail": "must be at least 18"},
            {"pointer": "/email", "detail": "failed the `email` rule"},
            {"pointer": "/name", "detail": "failed the `length` rule (max 64, min 1)"},
            {"pointer": "/pets/1/name", "detail": "failed the `length` rule (min 1)"},
        ])
    );
    let ok = send(
        addr,
        post_json(
            "/signups",
            r#"{"name":"Ada","email":"ada@example.com","age":36,"pets":[]}"#,
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let wrong_type = send(
        addr,
        post_json(
            "/signups",
            r#"{"name":"Ada","email":"a@b.c","age":"36","pets":[]}"#,
        ),
    )
    .await;
    let body = assert_error(&wrong_type, 400, "invalid_body");
    assert_eq!(body["errors"][0]["pointer"], "/age");
}
