//! axum integration: handlers return [`ApiError`] directly, [`ApiErrorService::into_router`]
//! hands the wrapped Router back as a `Router` (for `.layer(cors)`, `axum::serve` and the rest),
//! and [`AxumService`] is the same service with axum's request and response types.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum_core::body::Body;
use axum_core::extract::Request;
use axum_core::response::{IntoResponse, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::middleware::body::ResponseBody;
use crate::{ApiError, ApiErrorService};

/// ```
/// use axum::{routing::post, Router};
/// use tower_api_errors::ApiError;
///
/// async fn create_note() -> Result<String, ApiError> {
///     Err(ApiError::missing_parameter("customer_id"))
/// }
///
/// let app: Router = Router::new().route("/notes", post(create_note));
/// # let _ = app;
/// ```
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        http::Response::<crate::respond::error_body::ErrorBody>::from(self).map(Body::new)
    }
}

impl<C: Clone> crate::ApiErrorLayer<C> {
    /// Wraps a whole axum [`Router`](::axum::Router), and gives an axum `Router` back: the one
    /// way to put this layer around axum routes. Short for
    /// `layer.layer(router).into_router()` (see [`ApiErrorService::into_router`]).
    ///
    /// Not `Router::layer(ApiErrorLayer::new())`: there the layer wraps each route on its own,
    /// sees axum's 405 before axum adds `Allow` (so the body cannot list `allowed`) and never
    /// sees the Router's 404 for a path no route matches. The layer warns when it meets such a
    /// 405.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// let routes = Router::new().route("/hello", get(|| async { "hello" }));
    /// let app: Router = ApiErrorLayer::new().wrap(routes);
    /// # let _ = app;
    /// ```
    pub fn wrap(&self, router: ::axum::Router) -> ::axum::Router
    where
        C: crate::respond::classify::ClassifyError + Send + Sync + 'static,
        AxumService<::axum::Router, C>: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <AxumService<::axum::Router, C> as Service<Request>>::Future: Send + 'static,
    {
        tower_layer::Layer::layer(self, router).into_router()
    }
}

impl<S, C> ApiErrorService<S, C> {
    /// The wrapped service as an axum [`Router`](::axum::Router) again, so that everything
    /// axum users do next works as usual: `.layer(CorsLayer…)`, `.layer(TraceLayer…)`,
    /// `axum::serve(listener, app)`, `into_make_service_with_connect_info`, nesting it.
    ///
    /// The layers added to that Router run *outside* this one, so they see (and decorate) every
    /// answer, the layer's own 405s, 501s and 503s included: a CORS layer there gives them
    /// their `Access-Control-Allow-Origin`, which a browser needs to read them at all.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use axum::{routing::get, Router};
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    /// use tower_http::cors::CorsLayer;
    /// use tower_http::trace::TraceLayer;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let routes = Router::new().route("/hello", get(|| async { "hello" }));
    /// let app: Router = ApiErrorLayer::new()
    ///     .timeout(Duration::from_secs(5))
    ///     .layer(routes)
    ///     .into_router()
    ///     .layer(CorsLayer::permissive())
    ///     .layer(TraceLayer::new_for_http());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    pub fn into_router(self) -> ::axum::Router
    where
        AxumService<S, C>: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <AxumService<S, C> as Service<Request>>::Future: Send + 'static,
    {
        ::axum::Router::new().fallback_service(self.into_axum())
    }

    /// This service with axum's request and response types, as `axum::serve` wants them.
    ///
    /// A Router's own body passes through without being boxed again: only error bodies are.
    ///
    /// ```no_run
    /// use axum::{routing::get, Router, ServiceExt};
    /// use tower::Layer;
    /// use tower_api_errors::ApiErrorLayer;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let router = Router::new().route("/hello", get(|| async { "hello" }));
    /// let app = ApiErrorLayer::new().layer(router).into_axum();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, app.into_make_service()).await
    /// # }
    /// ```
    #[must_use]
    pub fn into_axum(self) -> AxumService<S, C> {
        AxumService { inner: self }
    }
}

/// [`ApiErrorService`] with axum's request and response types; see
/// [`ApiErrorService::into_axum`].
#[derive(Debug, Clone)]
pub struct AxumService<S, C> {
    inner: ApiErrorService<S, C>,
}

impl<S, C> Service<Request> for AxumService<S, C>
where
    ApiErrorService<S, C>:
        Service<Request, Response = http::Response<ResponseBody<Body>>, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AxumFuture<<ApiErrorService<S, C> as Service<Request>>::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Request) -> Self::Future {
        AxumFuture {
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// Response future of [`AxumService`].
    pub struct AxumFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F> std::fmt::Debug for AxumFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxumFuture").finish_non_exhaustive()
    }
}

impl<F> Future for AxumFuture<F>
where
    F: Future<Output = Result<http::Response<ResponseBody<Body>>, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = ready!(self.project().inner.poll(cx))?;
        Poll::Ready(Ok(response.map(|body| match body.into_inner() {
            Ok(inner) => inner,
            Err(error) => Body::new(error),
        })))
    }
}
