//! [`Query`] and [`Path`]: axum's extractors of the query string and the path parameters, with
//! rejections in the documented error body and a field list (`errors`) naming the parameter
//! that was wrong, as [`Json`](crate::extract::Json) names a body's member.

use std::ops::{Deref, DerefMut};

use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::RawPathParams;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use crate::contract::field_errors::push_segment;
use crate::integrations::json::{item, quoted_after};
use crate::ApiError;

/// A drop-in for `axum::extract::Query<T>`: `T` from the query string, but its rejections are
/// [`ApiError`]s whose `errors` name the parameter, with a JSON Pointer over the parameters
/// seen as one object (`?page=x` → `/page`).
///
/// | the query | status | `error` | `errors` |
/// |---|---|---|---|
/// | a required parameter missing | 400 | `missing_parameter`, with `param` | `/page` |
/// | a value that does not parse (`page=x` for a `u32`), an unknown variant… | 400 | `invalid_query` | `/page` |
///
/// ```
/// use serde::Deserialize;
/// use tower_api_errors::extract::Query;
///
/// #[derive(Debug, Deserialize)]
/// struct Page {
///     page: u32,
///     size: Option<u32>,
/// }
///
/// let Query(page) = Query::<Page>::from_query("page=2").unwrap();
/// assert_eq!((page.page, page.size), (2, None));
/// let error = Query::<Page>::from_query("page=two").unwrap_err();
/// assert_eq!(error.status(), 400);
/// assert_eq!(error.code(), "invalid_query");
/// assert_eq!(error.member("errors").unwrap()[0]["pointer"], "/page");
/// let error = Query::<Page>::from_query("size=1").unwrap_err();
/// assert_eq!(error.code(), "missing_parameter");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> Query<T> {
    /// Deserializes `query` (without its `?`), with the rejections of the extractor.
    ///
    /// # Errors
    ///
    /// When `query` does not hold a `T`: `missing_parameter` or `invalid_query`.
    ///
    /// ```
    /// use tower_api_errors::extract::Query;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Page {
    ///     limit: u32,
    /// }
    ///
    /// let Query(page) = Query::<Page>::from_query("limit=20").unwrap();
    /// assert_eq!(page.limit, 20);
    /// let error = Query::<Page>::from_query("limit=many").err().unwrap();
    /// assert_eq!(error.status(), 400);
    /// ```
    pub fn from_query(query: &str) -> Result<Self, ApiError> {
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|error| {
                let mut pointer = String::new();
                for segment in error.path() {
                    match segment {
                        Segment::Map { key } => push_segment(&mut pointer, key),
                        Segment::Seq { index } => push_segment(&mut pointer, &index.to_string()),
                        Segment::Enum { variant } => push_segment(&mut pointer, variant),
                        Segment::Unknown => break,
                    }
                }
                parameter_error(
                    "invalid_query",
                    "query parameter",
                    pointer,
                    &error.inner().to_string(),
                )
            })
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Self::from_query(parts.uri.query().unwrap_or_default())
    }
}

/// `Option<Query<T>>`: `None` without a query string.
impl<T, S> OptionalFromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, ApiError> {
        match parts.uri.query() {
            Some(query) => Self::from_query(query).map(Some),
            None => Ok(None),
        }
    }
}

/// A drop-in for `axum::extract::Path<T>`: the path parameters, but a parameter that does not
/// parse is a `400 invalid_path` whose `errors` name it (`/notes/abc` for `{id}: u64` →
/// `/id`), which axum's rejection only says in its text (axum issue #2720). A route without
/// the parameters `T` wants is the server's mistake: `500`.
///
/// ```
/// use axum::{routing::get, Router};
/// use http::{Request, StatusCode};
/// use http_body_util::BodyExt;
/// use tower::ServiceExt;
/// use tower_api_errors::extract::Path;
///
/// async fn note(Path((user, id)): Path<(String, u64)>) -> String {
///     format!("{user}/{id}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new().route("/users/{user}/notes/{id}", get(note));
/// let req = Request::get("/users/ann/notes/abc").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(req).await.unwrap();
/// assert_eq!(response.status(), StatusCode::BAD_REQUEST);
/// let body = response.into_body().collect().await.unwrap().to_bytes();
/// let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// assert_eq!(body["error"], "invalid_path");
/// assert_eq!(body["errors"][0]["pointer"], "/id");
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let extracted =
            <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state).await;
        match extracted {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_rejection(rejection, parts, state).await),
        }
    }
}

/// The error for axum's path rejection, naming the parameter. Not generic in `T`.
async fn path_rejection<S: Send + Sync>(
    rejection: PathRejection,
    parts: &mut Parts,
    state: &S,
) -> ApiError {
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // The route has no parameters: the handler and its route disagree.
        return server_mistake(&rejection.body_text());
    };
    let detail = failed.body_text();
    let key = match failed.into_kind() {
        ErrorKind::ParseErrorAtKey { key, .. }
        | ErrorKind::DeserializeError { key, .. }
        | ErrorKind::InvalidUtf8InPathParam { key } => Some(key),
        ErrorKind::ParseErrorAtIndex { index, .. } => {
            // A tuple's element: the route's name for it.
            let names = <RawPathParams as FromRequestParts<S>>::from_request_parts(parts, state);
            let names = names.await.ok();
            names.and_then(|names| names.iter().nth(index).map(|(name, _)| name.to_owned()))
        }
        ErrorKind::ParseError { .. } | ErrorKind::Message(_) => None,
        ErrorKind::WrongNumberOfParameters { .. } | ErrorKind::UnsupportedType { .. } => {
            return server_mistake(&detail);
        }
        // `ErrorKind` is non-exhaustive: whatever comes, the client's path did not fit.
        _ => None,
    };
    let mut pointer = String::new();
    if let Some(key) = key {
        push_segment(&mut pointer, &key);
    }
    parameter_error("invalid_path", "path parameter", pointer, &detail)
}

/// A `500` for a handler whose `Path` does not fit its route, with the reason logged.
fn server_mistake(reason: &str) -> ApiError {
    tracing::error!(target: "tower_api_errors::extract", reason, "a `Path` extractor does not fit its route");
    ApiError::internal_error()
}

/// A `400` for a parameter at `pointer`: `missing_parameter` when serde says a required one
/// is missing, else `code`.
fn parameter_error(code: &'static str, what: &str, pointer: String, message: &str) -> ApiError {
    if let Some(name) = quoted_after(message, "missing field `") {
        let name = name.to_owned();
        let mut pointer = pointer;
        push_segment(&mut pointer, &name);
        return ApiError::missing_parameter(name).with_field_errors([item(pointer, message)]);
    }
    let item = item(pointer, message);
    let detail = if item.pointer().is_empty() {
        format!("The {what}s are invalid: {}.", item.detail())
    } else {
        format!("The {what} {} is invalid.", &item.pointer()[1..])
    };
    ApiError::bad_request()
        .with_code(code)
        .with_detail(detail)
        .with_field_errors([item])
}

macro_rules! deref {
    ($($extractor:ident),*) => {
        $(
            impl<T> Deref for $extractor<T> {
                type Target = T;

                fn deref(&self) -> &T {
                    &self.0
                }
            }

            impl<T> DerefMut for $extractor<T> {
                fn deref_mut(&mut self) -> &mut T {
                    &mut self.0
                }
            }
        )*
    };
}

deref!(Query, Path);
