//! What admission is handed ([`RouteHints`]) and what it answers when it refuses ([`Shed`]).

use std::time::Duration;

use super::criticality::Criticality;

/// Why admission refused a request.
#[derive(Debug)]
pub(crate) enum Shed {
    /// Over a fixed limit: the layer's `503 overloaded`.
    Overloaded,
    /// The request's deadline is shorter than its resource needs: `504 gateway_timeout`, not
    /// retryable.
    DeadlineTooShort,
    /// Over an adaptive limit: `503 overloaded` with this `Retry-After`, computed from the
    /// resource's drain rate. A duration, not the error itself: the admission's result stays
    /// small on the path that admits.
    Adaptive(Duration),
}

/// What the route table says about one resource's requests, handed to admission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RouteHints {
    pub(crate) timeout: Option<Duration>,
    pub(crate) criticality: Option<Criticality>,
    /// The resource's index in the route table; `None` when no resource matched.
    pub(crate) resource: Option<u16>,
}
