//! Overload: a limit on requests in flight that answers at once instead of queueing, fixed or
//! adaptive, with priorities.
//!
//! tower's `ConcurrencyLimit` makes callers wait for a permit, and under `Router::layer` it
//! counts per route. This limit is one counter for the service a layer makes and its clones
//! (one per resource under one cap, when adaptive with a route table), and a request
//! over the limit gets `503 overloaded` with `Retry-After` immediately: a client can retry
//! elsewhere or later, and the server's latency does not grow with its queue.
//!
//! The limit, a [`Limit`] given to [`ApiErrorLayer::limit`], is either a number you choose
//! ([`Limit::fixed`]) or found from measured latency ([`Limit::adaptive`], see [`AdaptiveConcurrency`]
//! for the algorithm). A fixed number is a guess: too high and requests queue behind the real
//! bottleneck (a database pool) while the limit admits them all; too low and capacity is thrown
//! away. The adaptive limit follows the service as it is.
//!
//! A permit is held by the response future and released when that future completes or is
//! dropped (a client that disconnects gives its place back at once).
//!
//! ```
//! use std::time::Duration;
//! use tower::Layer;
//! use tower_api_errors::overload::Limit;
//! use tower_api_errors::ApiErrorLayer;
//!
//! let layer = ApiErrorLayer::new().limit(Limit::fixed(64).retry_after(Duration::from_secs(2)));
//! # let inner = tower::service_fn(|_req: http::Request<()>| async {
//! #     Ok::<_, std::convert::Infallible>(http::Response::new(String::new()))
//! # });
//! let app = layer.layer(inner);
//! let gauge = app.in_flight().expect("a limit is configured");
//! assert_eq!(gauge.current(), 0);
//! assert_eq!(gauge.limit(), 64);
//! ```
//!
//! # Priorities
//!
//! Each request has a [`Criticality`]: from a request extension (set by an outer layer, e.g.
//! after authentication) or else from the route table ([`Resource::critical`],
//! [`Resource::sheddable`]), or else [`Criticality::Normal`].
//!
//! - **Critical** requests (health checks, admin) are never refused by the limiter. They are
//!   counted in flight, so the gauge stays honest, but never measured by the adaptive
//!   controller (a fast health check would hide the latency of the real work).
//! - **Normal** requests are admitted while fewer than the limit are in flight.
//! - **Sheddable** requests are admitted only while fewer than
//!   [three quarters](SHEDDABLE_SHARE_PERCENT) of the limit (rounded up) are in flight: as
//!   the limit tightens they go first, and a quarter of the places stays for normal traffic.
//!   Rounded up, a limit of 1 to 3 still admits a sheddable request when nothing is in flight.
//!
//! With an adaptive limit and a route table, each resource has its limit (see
//! [`AdaptiveConcurrency`]), and the priorities apply within it: a critical health check is
//! never refused, a sheddable report is refused before a normal one of the same resource.
//!
//! ```
//! use axum::{routing::get, Router};
//! use http::{Request, StatusCode};
//! use tower::{Layer, ServiceExt};
//! use tower_api_errors::overload::{Criticality, Limit};
//! use tower_api_errors::ApiErrorLayer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let router = Router::new().route("/health", get(|| async { "ok" }));
//! // A limit of zero refuses everything the limiter may refuse.
//! let app = ApiErrorLayer::new().limit(Limit::fixed(0)).layer(router);
//!
//! let mut health = Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! health.extensions_mut().insert(Criticality::Critical);
//! assert_eq!(app.clone().oneshot(health).await.unwrap().status(), StatusCode::OK);
//!
//! let normal = Request::get("/health").body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.oneshot(normal).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
//! # }
//! ```
//!
//! [`ApiErrorLayer::limit`]: crate::ApiErrorLayer::limit
//! [`Resource::critical`]: crate::policy::Resource::critical
//! [`Resource::sheddable`]: crate::policy::Resource::sheddable

mod adaptive;
mod controller;
mod criticality;
mod in_flight;
mod limit;
mod refusal;

pub use self::adaptive::AdaptiveConcurrency;
pub use self::criticality::{Criticality, SHEDDABLE_SHARE_PERCENT};
pub(crate) use self::in_flight::{Idle, Permit};
pub use self::in_flight::{InFlight, ResourceLoad};
pub use self::limit::Limit;
pub(crate) use self::refusal::{RouteHints, Shed};
