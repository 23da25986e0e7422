//! Methods: the decisions the layer takes from a request's method before calling the inner
//! service. [`policy`]: the route table that says 405 or 501 per resource (and each
//! resource's timeout and criticality); [`recognized`]: the methods the server knows at all,
//! and the `501` for the others.

pub(crate) mod policy;
pub(crate) mod recognized;
