//! The response side: how a failure becomes the documented error response. Each file one
//! concept, each naming only the files before it in this list and the ground floor
//! ([`contract`](crate::contract)):
//!
//! - [`shape`]: a body format of the user's ([`ErrorShape`](crate::shape::ErrorShape)), the facts it
//!   writes from, and the built-in ones ([`Aip193`](crate::shape::Aip193), [`JsonApi`](crate::shape::JsonApi));
//! - [`settings`]: the body [`Format`](crate::Format) and the rendering settings of a layer;
//! - [`observe`]: the `error response` event, the counters and gauges, the panic log;
//! - [`negotiate`]: `Accept` negotiation between JSON, problem documents and the shapes offered;
//! - [`context`]: what the layer remembers of a request, captured before the call;
//! - [`json_writer`]: the body, written member by member into one buffer;
//! - [`error_body`]: the [`ErrorBody`](crate::body::ErrorBody) it is sent in;
//! - [`canned`]: the answers whose bytes do not depend on the request, rendered once;
//! - [`detached`]: an [`ApiError`](crate::ApiError) as a response without the layer;
//! - [`classify`]: inner service errors become [`ApiError`](crate::ApiError)s;
//! - [`exit`]: **the one exit** every error response the layer sends passes, where it is
//!   observed and finished, with what differs as data ([`exit::Answer`]);
//! - [`normalize`]: what becomes of an inner error response (answered through the exit).

pub(crate) mod canned;
pub(crate) mod classify;
pub(crate) mod context;
pub(crate) mod detached;
pub(crate) mod error_body;
pub(crate) mod exit;
pub(crate) mod json_writer;
pub(crate) mod negotiate;
pub(crate) mod normalize;
pub(crate) mod observe;
pub(crate) mod settings;
pub(crate) mod shape;
