//! [`Criticality`]: how much a request matters under overload, and the share of a limit each
//! kind may fill.

/// How much a request matters when the server is overloaded. Insert it as a request extension
/// to decide per request; the route table decides per resource.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Criticality {
    /// Never refused by the in-flight limit: health checks, admin, the requests that steer the
    /// server.
    Critical,
    /// Admitted while the limit has room.
    #[default]
    Normal,
    /// Admitted only while fewer than [`SHEDDABLE_SHARE_PERCENT`] % of the limit (rounded up)
    /// are in flight: shed first.
    Sheddable,
}

/// The share of the limit, in percent, that sheddable requests may fill.
pub const SHEDDABLE_SHARE_PERCENT: usize = 75;

/// How many requests of `criticality` a limit of `limit` admits: all of it for normal ones,
/// three quarters rounded up for sheddable ones (never none while the limit is not zero).
#[inline]
pub(crate) fn room(limit: usize, criticality: Criticality) -> usize {
    match criticality {
        Criticality::Sheddable => {
            let share = SHEDDABLE_SHARE_PERCENT;
            limit / 100 * share + (limit % 100 * share).div_ceil(100)
        }
        _ => limit,
    }
}
