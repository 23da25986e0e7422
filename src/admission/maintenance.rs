//! Maintenance: a run-time switch for `503 maintenance`. See [`Maintenance`].

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::respond::canned::Canned;
use crate::ApiError;

/// A switch that makes the service answer `503 maintenance` with `Retry-After`, flipped at
/// run time without rebuilding the stack.
///
/// A cheap, cloneable handle: give one clone to the layer and keep another (in an admin
/// handler, a signal handler…) to switch it; clones share the switch. Bypass paths keep
/// answering normally while maintenance is on, so health checks and the admin routes that
/// switch it off still work.
///
/// ```
/// use std::time::Duration;
/// use tower_api_errors::{ApiErrorLayer, Maintenance};
///
/// let maintenance = Maintenance::new()
///     .retry_after(Duration::from_secs(120))
///     .bypass("/health")
///     .bypass("/admin/*");
/// let layer = ApiErrorLayer::new().maintenance(maintenance.clone());
///
/// maintenance.enable();
/// assert!(maintenance.is_enabled());
/// assert!(maintenance.bypasses("/admin/maintenance"));
/// assert!(!maintenance.bypasses("/notes"));
/// maintenance.disable();
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct Maintenance {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    enabled: AtomicBool,
    bypass: Vec<Cow<'static, str>>,
    retry_after: Duration,
    /// The `503 maintenance`, rendered once.
    answer: Canned,
}

impl Default for Maintenance {
    fn default() -> Self {
        Self::new()
    }
}

impl Maintenance {
    /// The `Retry-After` of a switch that was not given one: maintenance is measured in
    /// minutes (a layer's `overloaded` says 1 s).
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

    /// A switch, off, with `Retry-After: 60` and no bypass path.
    #[must_use]
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                enabled: AtomicBool::new(false),
                bypass: Vec::new(),
                retry_after: Self::DEFAULT_RETRY_AFTER,
                answer: Canned::new(ApiError::maintenance(Self::DEFAULT_RETRY_AFTER)),
            }),
        }
    }

    /// The `Retry-After` sent while maintenance is on.
    #[must_use]
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        let shared = self.configure();
        shared.retry_after = retry_after;
        shared.answer = Canned::new(ApiError::maintenance(retry_after));
        self
    }

    /// A path that keeps working during maintenance: an exact path (`/health`), or a prefix
    /// when it ends in `*` (`/admin/*`).
    #[must_use]
    pub fn bypass(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.configure().bypass.push(path.into());
        self
    }

    /// The shared state, while it is still being built. Configuring a switch that already has
    /// clones would silently configure only this one, so that is refused loudly.
    fn configure(&mut self) -> &mut Shared {
        Arc::get_mut(&mut self.shared).expect("configure a Maintenance switch before cloning it")
    }

    /// Switches maintenance on: requests outside the bypass paths get 503.
    pub fn enable(&self) {
        self.shared.enabled.store(true, Ordering::Release);
    }

    /// Switches maintenance off.
    pub fn disable(&self) {
        self.shared.enabled.store(false, Ordering::Release);
    }

    /// Whether maintenance is on.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Acquire)
    }

    /// Whether `path` keeps working during maintenance.
    #[must_use]
    pub fn bypasses(&self, path: &str) -> bool {
        self.shared
            .bypass
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == pattern,
            })
    }

    /// The `Retry-After` sent while maintenance is on (rounded up to whole seconds there).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::Maintenance;
    ///
    /// let maintenance = Maintenance::new().retry_after(Duration::from_secs(120));
    /// assert_eq!(maintenance.configured_retry_after(), Duration::from_secs(120));
    /// ```
    #[must_use]
    pub fn configured_retry_after(&self) -> Duration {
        self.shared.retry_after
    }

    /// The answer while maintenance is on.
    pub(crate) fn answer(&self) -> &Canned {
        &self.shared.answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_switch() {
        let a = Maintenance::new();
        let b = a.clone();
        a.enable();
        assert!(b.is_enabled());
        b.disable();
        assert!(!a.is_enabled());
    }

    #[test]
    #[should_panic(expected = "before cloning")]
    fn configuring_a_shared_switch_is_refused() {
        let a = Maintenance::new();
        let _b = a.clone();
        let _ = a.bypass("/health");
    }
}
