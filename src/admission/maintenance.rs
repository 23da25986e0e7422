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
/// switch it off still work. What the switch answers and which paths it lets through are set
/// on its [builder](Maintenance::builder), before the handle exists, so that no clone can be
/// configured apart from the others.
///
/// ```
/// use std::time::Duration;
/// use tower_api_errors::overload::Maintenance;
/// use tower_api_errors::ApiErrorLayer;
///
/// let maintenance = Maintenance::builder()
///     .retry_after(Duration::from_secs(120))
///     .bypass("/health")
///     .bypass("/admin/*")
///     .build();
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

/// Configures a [`Maintenance`] switch: its `Retry-After` and the paths it lets through.
///
/// The handle itself has no setter, so a clone cannot be configured apart from the others
/// (it once panicked at run time):
///
/// ```compile_fail
/// let switch = tower_api_errors::overload::Maintenance::new();
/// let _ = switch.clone().bypass("/health");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MaintenanceBuilder {
    bypass: Vec<Cow<'static, str>>,
    retry_after: Duration,
}

impl Default for MaintenanceBuilder {
    fn default() -> Self {
        Self {
            bypass: Vec::new(),
            retry_after: Maintenance::DEFAULT_RETRY_AFTER,
        }
    }
}

impl MaintenanceBuilder {
    /// The `Retry-After` sent while maintenance is on (default:
    /// [`Maintenance::DEFAULT_RETRY_AFTER`]); whole seconds, rounded up, at least 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder()
    ///     .retry_after(Duration::from_secs(300))
    ///     .build();
    /// assert_eq!(maintenance.configured_retry_after(), Duration::from_secs(300));
    /// ```
    pub fn retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// A path that keeps working during maintenance: an exact path (`/health`), or a prefix
    /// when it ends in `*` (`/admin/*`).
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder().bypass("/health").bypass("/admin/*").build();
    /// assert!(maintenance.bypasses("/health"));
    /// assert!(maintenance.bypasses("/admin/users"));
    /// assert!(!maintenance.bypasses("/notes"));
    /// ```
    pub fn bypass(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.bypass.push(path.into());
        self
    }

    /// The switch, off.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder().bypass("/health").build();
    /// assert!(!maintenance.is_enabled());
    /// ```
    #[must_use]
    pub fn build(self) -> Maintenance {
        Maintenance {
            shared: Arc::new(Shared {
                enabled: AtomicBool::new(false),
                answer: Canned::new(ApiError::maintenance(self.retry_after)),
                bypass: self.bypass,
                retry_after: self.retry_after,
            }),
        }
    }
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
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::new();
    /// assert!(!maintenance.is_enabled());
    /// assert_eq!(maintenance.configured_retry_after(), Duration::from_secs(60));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a switch: `Retry-After` and bypass paths.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder().bypass("/health").build();
    /// # let _ = maintenance;
    /// ```
    pub fn builder() -> MaintenanceBuilder {
        MaintenanceBuilder::default()
    }

    /// Switches maintenance on: requests outside the bypass paths get 503.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::new();
    /// let switch = maintenance.clone(); // given to the layer
    /// maintenance.enable();
    /// assert!(switch.is_enabled());
    /// ```
    pub fn enable(&self) {
        self.shared.enabled.store(true, Ordering::Release);
    }

    /// Switches maintenance off.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::new();
    /// maintenance.enable();
    /// maintenance.disable();
    /// assert!(!maintenance.is_enabled());
    /// ```
    pub fn disable(&self) {
        self.shared.enabled.store(false, Ordering::Release);
    }

    /// Whether maintenance is on.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::new();
    /// assert!(!maintenance.is_enabled());
    /// maintenance.enable();
    /// assert!(maintenance.is_enabled());
    /// ```
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Acquire)
    }

    /// Whether `path` keeps working during maintenance.
    ///
    /// ```
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder().bypass("/health").build();
    /// assert!(maintenance.bypasses("/health"));
    /// assert!(!maintenance.bypasses("/health/deep"));
    /// ```
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
    /// use tower_api_errors::overload::Maintenance;
    ///
    /// let maintenance = Maintenance::builder()
    ///     .retry_after(Duration::from_secs(120))
    ///     .build();
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
}
