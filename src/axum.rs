//! axum integration: handlers return [`ApiError`] directly.

use axum_core::response::{IntoResponse, Response};

use crate::ApiError;

/// ```
/// use axum::{routing::post, Router};
/// use tower_api_errors::ApiError;
///
/// async fn create_note() -> Result<String, ApiError> {
///     Err(ApiError::missing_parameter("customer_id"))
/// }
///
/// let app: Router = Router::new().route("/notes", post(create_note));
/// # let _ = app;
/// ```
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        http::Response::<crate::ErrorBody>::from(self).map(axum_core::body::Body::new)
    }
}
