//! Admission: whether a request is let in at all, decided before the inner service is called.
//! [`deadline`]: the request's deadline, and its refusals; [`drain`]: shutting down;
//! [`maintenance`]: the run-time switch; [`slow_client`]: telling a slow client from a slow
//! handler; [`overload`]: the in-flight limits, fixed or adaptive per resource, with
//! priorities.

pub(crate) mod deadline;
pub(crate) mod drain;
pub(crate) mod maintenance;
pub(crate) mod overload;
pub(crate) mod slow_client;
