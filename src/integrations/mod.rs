//! Integrations, beside the tower core and named by no lower floor: axum (its service, the
//! [`Json`](crate::extract::Json), [`Query`](crate::extract::Query) and
//! [`Path`](crate::extract::Path) extractors, typed routes), the route-table check, OpenAPI,
//! metrics and the conformance kit. Each is public through the crate root, behind its feature.

#[cfg(feature = "metrics")]
pub mod api_metrics;
#[cfg(feature = "axum")]
pub(crate) mod axum;
#[cfg(feature = "testing")]
pub(crate) mod check_policy;
#[cfg(feature = "axum")]
pub(crate) mod json;
#[cfg(feature = "utoipa")]
pub mod openapi;
#[cfg(feature = "axum")]
pub(crate) mod params;
#[cfg(feature = "axum")]
mod rejections;
#[cfg(feature = "axum")]
pub mod routing;
#[cfg(feature = "testing")]
pub mod testing;
