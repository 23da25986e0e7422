//! `From` axum's own extractors' rejections for [`ApiError`], so that a handler using
//! `axum::Json`, `axum::extract::Path` or `axum::extract::Query` (or a derived extractor with
//! `#[from_request(via(axum::Json), rejection(ApiError))]`) answers in the contract.
//!
//! The rejection is kept as the error's [source](ApiError::with_source), so its text (which
//! can name the server's Rust types: "expected struct Order") is logged, never sent. For the
//! member a body or a parameter got wrong in the answer (`errors[]`), use this crate's
//! [`Json`](crate::extract::Json), [`Query`](crate::extract::Query) and [`Path`](crate::extract::Path), whose rejections
//! point at it.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use http::StatusCode;

use crate::integrations::json::unreadable_body;
use crate::ApiError;

/// The rejection's own status when it is the client's fault; a 5xx stays the generic 500 (a
/// route whose parameters do not fit its extractor is the server's mistake).
fn by_status(status: StatusCode, code: &'static str, detail: &'static str) -> ApiError {
    if status.is_client_error() {
        ApiError::new(status).with_code(code).with_detail(detail)
    } else {
        ApiError::internal_error()
    }
}

impl From<JsonRejection> for ApiError {
    /// `415 unsupported_media_type` without a JSON `Content-Type`, `400 bad_request` for a body
    /// that is not JSON, `400 invalid_body` for JSON of the wrong shape (as this crate's
    /// [`Json`](crate::extract::Json) answers, where axum's `Json` answers 422), `413` or `400` for a
    /// body that could not be read.
    ///
    /// ```
    /// use axum::extract::rejection::{JsonRejection, MissingJsonContentType};
    /// use tower_api_errors::ApiError;
    ///
    /// let error = ApiError::from(JsonRejection::from(MissingJsonContentType::default()));
    /// assert_eq!(error.status(), 415);
    /// ```
    fn from(rejection: JsonRejection) -> Self {
        let error = match &rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(),
            JsonRejection::JsonSyntaxError(_) => {
                ApiError::bad_request().with_detail("The body is not valid JSON.")
            }
            JsonRejection::JsonDataError(_) => ApiError::bad_request()
                .with_code("invalid_body")
                .with_detail("The body does not have the shape this resource takes."),
            JsonRejection::BytesRejection(bytes) => unreadable_body(bytes.status()),
            // A later axum's new rejection: its status, the status's words.
            _ => ApiError::try_new(rejection.status()).unwrap_or_else(ApiError::bad_request),
        };
        error.with_source(rejection)
    }
}

impl From<PathRejection> for ApiError {
    /// `400 invalid_path` for a path parameter the client got wrong (`/users/seven` for a
    /// number), the generic `500` when the route's parameters do not fit its extractor.
    fn from(rejection: PathRejection) -> Self {
        by_status(
            rejection.status(),
            "invalid_path",
            "A parameter of the path is not valid.",
        )
        .with_source(rejection)
    }
}

impl From<QueryRejection> for ApiError {
    /// `400 invalid_query` for a query string that does not fit the handler's parameters.
    fn from(rejection: QueryRejection) -> Self {
        by_status(
            rejection.status(),
            "invalid_query",
            "The query string is not valid.",
        )
        .with_source(rejection)
    }
}
