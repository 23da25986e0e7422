//! Admission: whether a request is let in at all, decided before the inner service is called.
//! [`deadline`]: the request's deadline, and its refusals; [`drain`]: shutting down;
//! [`maintenance`]: the run-time switch; [`slow_client`]: telling a slow client from a slow
//! handler. The in-flight limits (`crate::overload`) belong here too; they move in once their
//! rewrite has landed.

pub(crate) mod deadline;
pub(crate) mod drain;
pub(crate) mod maintenance;
pub(crate) mod slow_client;
