//! [`Drain`]: refuse new requests on shutdown while the ones in flight finish.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use http::header::CONNECTION;
use http::{HeaderValue, Version};
use tokio::sync::Notify;

use crate::admission::overload::{Idle, InFlight};
use crate::respond::canned::Canned;
use crate::ApiError;

/// Drain on shutdown: once triggered, new requests get `503 shutting_down` with
/// `Connection: close` (HTTP/1.x) and `Retry-After`, while those in flight finish.
///
/// Give one clone to the layer and keep another in the
/// shutdown path. The usual sequence on SIGTERM is: [`trigger`](Drain::trigger), wait until
/// [`in_flight`](Drain::in_flight) is zero (or a grace period ends: [`drained`](Drain::drained)
/// does both with a timeout around it), then let the server's graceful shutdown close the
/// connections. Meanwhile every new request is answered at once (health checks too, so that
/// a load balancer stops sending), and `Connection: close` makes HTTP/1.1 clients take their
/// next request elsewhere instead of reusing a connection to a server that is going away.
/// (HTTP/2 forbids that header; there the server's `GOAWAY` does the same.)
///
/// ```
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use http::Request;
/// use tower::{Layer, ServiceExt};
/// use tower_api_errors::overload::Drain;
/// use tower_api_errors::ApiErrorLayer;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let drain = Drain::with_retry_after(Duration::from_secs(5));
/// let app = ApiErrorLayer::new()
///     .drain(drain.clone())
///     .layer(Router::new().route("/", get(|| async { "hello" })));
///
/// let get = || Request::get("/").body(axum::body::Body::empty()).unwrap();
/// assert_eq!(app.clone().oneshot(get()).await.unwrap().status(), 200);
///
/// drain.trigger();
/// let response = app.oneshot(get()).await.unwrap();
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.headers()["connection"], "close");
/// assert_eq!(response.headers()["retry-after"], "5");
/// assert_eq!(drain.in_flight(), 0);
/// drain.drained().await; // at once: nothing is in flight
/// # }
/// ```
///
/// A cheap handle: clones share the switch.
#[derive(Debug, Clone)]
pub struct Drain {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    draining: AtomicBool,
    /// Wakes [`Drain::triggered`].
    triggered: Notify,
    retry_after: Duration,
    /// The in-flight counters of the layers this drain is attached to; read when asked, never
    /// per request.
    gauges: Mutex<Vec<InFlight>>,
    /// Told by the attached counters when they fall to zero, for [`Drain::drained`].
    idle: Arc<Idle>,
    /// `503 shutting_down` for HTTP/1.x (with `Connection: close`) and for HTTP/2 and later,
    /// rendered at the first refusal (`retry_after` is fixed by then): once draining, every
    /// request gets one.
    refusals: OnceLock<[Canned; 2]>,
}

impl Default for Drain {
    fn default() -> Self {
        Self::new()
    }
}

impl Drain {
    /// A drain, not triggered, answering `Retry-After: 1`.
    ///
    /// ```
    /// use tower_api_errors::overload::Drain;
    ///
    /// let drain = Drain::new();
    /// assert!(!drain.is_draining());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_retry_after(Duration::from_secs(1))
    }

    /// A drain, not triggered, whose `503 shutting_down` says `Retry-After` (default 1 s:
    /// another instance is likely ready; never under 1 s). Set when the handle is made, so
    /// that no clone can be configured apart from the others (a setter on the handle panicked
    /// once it had been cloned).
    ///
    /// ```compile_fail
    /// let drain = tower_api_errors::overload::Drain::new();
    /// let _ = drain.clone().retry_after(std::time::Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn with_retry_after(retry_after: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                draining: AtomicBool::new(false),
                triggered: Notify::new(),
                retry_after,
                gauges: Mutex::new(Vec::new()),
                idle: Arc::default(),
                refusals: OnceLock::new(),
            }),
        }
    }

    /// Starts draining: from now on, new requests are refused.
    ///
    /// ```
    /// use tower_api_errors::overload::Drain;
    ///
    /// let drain = Drain::new();
    /// let handle = drain.clone();
    /// handle.trigger();
    /// // Every clone sees it.
    /// assert!(drain.is_draining());
    /// ```
    pub fn trigger(&self) {
        self.shared.draining.store(true, Ordering::Release);
        self.shared.triggered.notify_waiters();
    }

    /// Completes when the drain is [triggered](Self::trigger) (at once if it was): the hook
    /// that starts the server's graceful shutdown, so that HTTP/2 connections get their `GOAWAY`
    /// (and HTTP/1.1 ones close once idle) the moment the drain begins, instead of going on
    /// getting `503 shutting_down` on the same connection for as long as the client keeps it.
    /// The price: a graceful shutdown stops accepting, so a client that opens a new connection
    /// is refused by TCP instead of answered `503` (the demo drains first, then shuts down, so
    /// that a load balancer's health check reads the `503`; pick per deployment).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use axum::{routing::get, Router, ServiceExt};
    /// use tower::Layer;
    /// use tower_api_errors::overload::Drain;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let drain = Drain::new();
    /// let app = ApiErrorLayer::new()
    ///     .drain(drain.clone())
    ///     .layer(Router::new().route("/", get(|| async { "hello" })));
    /// let on_signal = drain.clone();
    /// tokio::spawn(async move {
    ///     let _ = tokio::signal::ctrl_c().await; // and SIGTERM: see examples/demo/main.rs
    ///     on_signal.trigger();
    /// });
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// let server = axum::serve(listener, app.into_axum().into_make_service())
    ///     .with_graceful_shutdown(drain.triggered());
    /// // Once draining, the requests in flight get a grace period, not forever.
    /// let grace = async {
    ///     drain.triggered().await;
    ///     tokio::time::sleep(Duration::from_secs(10)).await;
    /// };
    /// tokio::select! {
    ///     served = server => served?,
    ///     () = grace => eprintln!("grace period over: closing"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move {
            let notified = shared.triggered.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the flag is read: a trigger in between still wakes it.
            notified.as_mut().enable();
            if !shared.draining.load(Ordering::Acquire) {
                notified.await;
            }
        }
    }

    /// The shutdown future for a server's graceful shutdown
    /// (`axum::serve(..).with_graceful_shutdown(..)`, hyper-util's `GracefulShutdown`):
    /// completes once `signal` has (ctrl-c, SIGTERM), the drain is [triggered](Self::trigger),
    /// and nothing is [in flight](Self::in_flight) any more, or `grace` has passed since the
    /// trigger. Until then the server keeps accepting, and every new request, a load balancer's
    /// health check too, gets `503 shutting_down` with `Retry-After`; then its graceful shutdown
    /// starts: the `GOAWAY` to HTTP/2 clients, HTTP/1.1 connections closed once idle.
    ///
    /// `grace` bounds the wait, not the server's own: a request still running then is left to
    /// it (the layer's [`timeout`](crate::ApiErrorLayer::timeout) bounds every request; a
    /// `grace` longer than it lets them all finish). `examples/graceful_shutdown.rs` is the
    /// whole wiring, signals and a hard stop included.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use axum::{routing::get, Router};
    /// use tower_api_errors::overload::Drain;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let drain = Drain::new();
    /// let routes = Router::new().route("/", get(|| async { "hello" }));
    /// let app = ApiErrorLayer::new().drain(drain.clone()).wrap(routes);
    /// let ctrl_c = async {
    ///     let _ = tokio::signal::ctrl_c().await;
    /// };
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app)
    ///     .with_graceful_shutdown(drain.shutdown_on(ctrl_c, Duration::from_secs(10)))
    ///     .await
    /// # }
    /// ```
    pub fn shutdown_on<F>(&self, signal: F, grace: Duration) -> impl Future<Output = ()> + Send
    where
        F: Future<Output = ()> + Send,
    {
        let drain = self.clone();
        async move {
            signal.await;
            drain.trigger();
            let _ = tokio::time::timeout(grace, drain.drained()).await;
        }
    }

    /// Whether [`trigger`](Self::trigger) was called.
    ///
    /// ```
    /// use tower_api_errors::overload::Drain;
    ///
    /// let drain = Drain::new();
    /// assert!(!drain.is_draining());
    /// drain.trigger();
    /// assert!(drain.is_draining());
    /// ```
    #[must_use]
    #[inline]
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::Acquire)
    }

    /// Requests in flight in the layers this drain is attached to.
    ///
    /// ```
    /// use tower::Layer;
    /// use tower_api_errors::overload::Drain;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let drain = Drain::new();
    /// let _app = ApiErrorLayer::new().drain(drain.clone()).layer(tower::service_fn(
    ///     |_req: http::Request<()>| async { Ok::<_, std::convert::Infallible>(http::Response::new(String::new())) },
    /// ));
    /// assert_eq!(drain.in_flight(), 0);
    /// ```
    #[must_use]
    pub fn in_flight(&self) -> usize {
        self.gauges().iter().map(InFlight::current).sum()
    }

    /// Waits until no request is in flight: woken by the last request to finish (a
    /// `tokio::sync::Notify`, no polling, no timer). Put a `tokio::time::timeout` around it for
    /// a grace period.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_api_errors::overload::Drain;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let drain = Drain::new();
    /// drain.trigger();
    /// // Nothing in flight: done at once; with a grace period otherwise.
    /// tokio::time::timeout(Duration::from_secs(10), drain.drained())
    ///     .await
    ///     .expect("drained within the grace period");
    /// # }
    /// ```
    pub async fn drained(&self) {
        self.shared.idle.wait(|| self.in_flight() == 0).await;
    }

    fn gauges(&self) -> std::sync::MutexGuard<'_, Vec<InFlight>> {
        // A poisoned list of counters is still a list of counters.
        self.shared
            .gauges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts the requests of a layer's `gauge` (once, however many services it makes).
    pub(crate) fn attach(&self, gauge: &InFlight) {
        let mut gauges = self.gauges();
        // A layer makes a count per service: forget those whose services are gone, so that a
        // layer applied per connection does not grow the list.
        gauges.retain(InFlight::is_held_elsewhere);
        if !gauges.iter().any(|g| g.same_count(gauge)) {
            gauge.notify_idle(&self.shared.idle);
            gauges.push(gauge.clone());
        }
    }

    /// `503 shutting_down` for a request of `version`.
    pub(crate) fn refusal(&self, version: Version) -> &Canned {
        let [http1, http2] = self.shared.refusals.get_or_init(|| {
            let error = ApiError::service_unavailable(self.shared.retry_after)
                .with_code("shutting_down")
                .with_detail(
                    "This server is shutting down. Retry after the time given in Retry-After; another server may answer.",
                );
            [
                Canned::new(
                    error
                        .clone()
                        .with_header(CONNECTION, HeaderValue::from_static("close")),
                ),
                Canned::new(error),
            ]
        });
        if version <= Version::HTTP_11 {
            http1
        } else {
            http2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::overload::{Criticality, Limit};

    #[test]
    fn connection_close_only_below_http_2() {
        let drain = Drain::new();
        let h1 = drain.refusal(Version::HTTP_11).error();
        assert_eq!(h1.headers()[CONNECTION], "close");
        assert_eq!(h1.code(), "shutting_down");
        assert_eq!(h1.status(), 503);
        assert!(drain
            .refusal(Version::HTTP_10)
            .error()
            .headers()
            .contains_key(CONNECTION));
        assert!(!drain
            .refusal(Version::HTTP_2)
            .error()
            .headers()
            .contains_key(CONNECTION));
    }

    #[tokio::test(start_paused = true)]
    async fn counts_each_attached_layer_once_and_waits_for_them() {
        let drain = Drain::new();
        let (a, b) = (
            InFlight::new(Limit::counting()),
            InFlight::new(Limit::fixed(4)),
        );
        drain.attach(&a);
        drain.attach(&a.clone());
        drain.attach(&b);
        let permits = [
            a.try_acquire(Criticality::Normal).unwrap(),
            b.try_acquire(Criticality::Normal).unwrap(),
        ];
        assert_eq!(drain.in_flight(), 2);
        let waiting = tokio::spawn({
            let drain = drain.clone();
            async move { drain.drained().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        drop(permits);
        waiting.await.unwrap();
        assert_eq!(drain.in_flight(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_request_wakes_the_drain_without_a_timer() {
        let drain = Drain::new();
        let gauge = InFlight::new(Limit::counting());
        drain.attach(&gauge);
        let permit = gauge.try_acquire(Criticality::Normal).unwrap();
        let waiting = tokio::spawn({
            let drain = drain.clone();
            async move { drain.drained().await }
        });
        tokio::task::yield_now().await;
        let start = tokio::time::Instant::now();
        drop(permit);
        // Woken, not polled: done within a few turns of the scheduler, the clock unmoved (the
        // runtime is never idle here, so a paused clock cannot advance to a timer).
        for _ in 0..10 {
            if waiting.is_finished() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(waiting.is_finished(), "drained() did not wake");
        assert_eq!(tokio::time::Instant::now(), start);
    }
}
