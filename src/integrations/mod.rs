//! Integrations, beside the tower core and named by no lower floor: axum (its service, the
//! [`Json`](crate::Json), [`Query`](crate::Query) and [`Path`](crate::Path) extractors, typed
//! routes), the route-table check, OpenAPI, metrics and the conformance kit. Each is public at the crate root, behind its feature.

#[cfg(feature = "metrics")]
pub mod api_metrics;
#[cfg(feature = "axum")]
pub(crate) mod axum;
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
