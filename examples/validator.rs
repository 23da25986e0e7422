//! `cargo run --example validator`: handler-side validation with the `validator` crate, answered
//! as `422 invalid_params` with one `errors` item per failed rule, each pointing at its member.
//!
//! ```text
//! $ curl -s localhost:3000/signups -H 'content-type: application/json' \
//!     -d '{"name":"","email":"nope","age":12,"pets":[{"name":"Rex"},{"name":""}]}'
//! {"ok":false,"status":422,"error":"invalid_params","message":"Unprocessable Entity",
//!  "detail":"Some values of the request are invalid: `errors` lists them.",
//!  "errors":[{"pointer":"/age","detail":"must be at least 18"},
//!            {"pointer":"/email","detail":"failed the `email` rule"},
//!            {"pointer":"/name","detail":"failed the `length` rule (max 64, min 1)"},
//!            {"pointer":"/pets/1/name","detail":"failed the `length` rule (min 1)"}]}
//! ```
//!
//! A body that does not even deserialize (a string for `age`, no `email`) is the 400 of
//! `tower_api_errors::extract::Json`, with the same `errors` shape.

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Router, ServiceExt};
use serde::Deserialize;
use tower::Layer;
use tower_api_errors::extract::Json;
use tower_api_errors::{ApiError, ApiErrorLayer, FieldError};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

#[derive(Debug, Deserialize, Validate)]
pub struct Signup {
    #[validate(length(min = 1, max = 64))]
    pub name: String,
    #[validate(email)]
    pub email: String,
    #[validate(range(min = 18, message = "must be at least 18"))]
    pub age: u32,
    #[validate(nested)]
    pub pets: Vec<Pet>,
}

#[derive(Debug, Deserialize, Validate)]
pub struct Pet {
    #[validate(length(min = 1))]
    pub name: String,
}

/// `validator`'s report as `422 invalid_params`: one item per failed rule, pointers in order.
pub fn invalid_params(report: &ValidationErrors) -> ApiError {
    let mut errors = Vec::new();
    collect(report, &mut Vec::new(), &mut errors);
    // validator keeps fields in a HashMap: sort, so that the same body gets the same answer.
    errors.sort_by(|a: &FieldError, b| a.pointer().cmp(b.pointer()));
    ApiError::invalid_params(errors)
}

fn collect(report: &ValidationErrors, path: &mut Vec<String>, out: &mut Vec<FieldError>) {
    for (field, kind) in report.errors() {
        // `__all__` holds the struct-level rules (`#[validate(schema(...))]`): the struct itself.
        let pushed = field != "__all__";
        if pushed {
            path.push(field.to_string());
        }
        match kind {
            ValidationErrorsKind::Field(rules) => {
                for rule in rules {
                    out.push(FieldError::new(path.iter(), describe(rule)));
                }
            }
            ValidationErrorsKind::Struct(nested) => collect(nested, path, out),
            ValidationErrorsKind::List(items) => {
                for (index, nested) in items {
                    path.push(index.to_string());
                    collect(nested, path, out);
                    path.pop();
                }
            }
        }
        if pushed {
            path.pop();
        }
    }
}

/// The rule's message, or its code and limits. The offending `value` is left out: the client
/// sent it, and echoing it back would only grow the body.
fn describe(rule: &validator::ValidationError) -> String {
    if let Some(message) = &rule.message {
        return message.to_string();
    }
    let mut params: Vec<String> = rule
        .params
        .iter()
        .filter(|(name, _)| *name != "value")
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    params.sort();
    if params.is_empty() {
        format!("failed the `{}` rule", rule.code)
    } else {
        format!("failed the `{}` rule ({})", rule.code, params.join(", "))
    }
}

pub async fn create_signup(
    Json(signup): Json<Signup>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    signup
        .validate()
        .map_err(|report| invalid_params(&report))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"ok": true, "name": signup.name})),
    ))
}

pub fn app() -> Router {
    Router::new().route("/signups", post(create_signup))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let app = ApiErrorLayer::new().layer(app());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app.into_axum().into_make_service()).await
}
