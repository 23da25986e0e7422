//! A panic in a `Drop` the layer runs never escapes it (issue 19, item 2): the head is not sent
//! yet, so the client gets the answer the layer decided, as a documented body, and the server
//! keeps serving. Over real sockets, HTTP/1.1 and h2, on a paused clock (the deadline passes
//! without any wait).
//!
//! - a handler future dropped at the deadline, whose guard panics in `Drop`: `504`;
//! - an inner `404` whose body panics in `Drop` when the layer replaces it: `404`.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::Full;
use tower::Layer;
use tower_api_errors::ApiErrorLayer;

/// Panics when dropped, as a guard with a failing check in its `Drop` would.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a guard failed its check in Drop");
        }
    }
}

/// A response body that is empty and panics when dropped.
struct PanickingBody(#[allow(dead_code)] PanicsOnDrop);

impl Body for PanickingBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(None)
    }
}

/// `/slow` never answers and holds a guard that panics when the future is dropped; `/gone`
/// answers a bare 404 whose body panics when dropped, `/gone-text` the same with a `text/plain`
/// body the layer reads for its `detail`; anything else answers `200`.
async fn app(req: Request<hyper::body::Incoming>) -> Result<Response<PanickingOrNot>, Infallible> {
    match req.uri().path() {
        "/slow" => {
            let _guard = PanicsOnDrop;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(Response::new(PanickingOrNot::Fine(Full::from("late"))))
        }
        "/gone" => {
            let mut response =
                Response::new(PanickingOrNot::Panicking(PanickingBody(PanicsOnDrop)));
            *response.status_mut() = StatusCode::NOT_FOUND;
            Ok(response)
        }
        "/gone-text" => {
            let mut response =
                Response::new(PanickingOrNot::Panicking(PanickingBody(PanicsOnDrop)));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
                .headers_mut()
                .insert("content-type", "text/plain".parse().unwrap());
            Ok(response)
        }
        _ => Ok(Response::new(PanickingOrNot::Fine(Full::from("hello")))),
    }
}

/// One body type for every answer of `app`.
enum PanickingOrNot {
    Fine(Full<Bytes>),
    Panicking(PanickingBody),
}

impl Body for PanickingOrNot {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            PanickingOrNot::Fine(body) => Pin::new(body).poll_frame(cx),
            PanickingOrNot::Panicking(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            PanickingOrNot::Fine(body) => body.size_hint(),
            // A short text, by its hint: the layer reads it for its `detail`.
            PanickingOrNot::Panicking(_) => http_body::SizeHint::with_exact(5),
        }
    }
}

async fn serve() -> std::net::SocketAddr {
    let layer = ApiErrorLayer::new().timeout(Duration::from_secs(2));
    common::serve(layer.layer(tower::service_fn(app))).await
}

type Send = fn(
    std::net::SocketAddr,
    Request<Full<Bytes>>,
) -> Pin<Box<dyn std::future::Future<Output = common::Reply>>>;

fn protocols() -> [(&'static str, Send); 2] {
    [
        ("HTTP/1.1", |addr, req| Box::pin(common::send(addr, req))),
        ("h2", |addr, req| Box::pin(common::send_h2(addr, req))),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_handler_future_panicking_when_dropped_at_the_deadline_gets_504() {
    std::panic::set_hook(Box::new(|_| {}));
    let addr = serve().await;
    for (protocol, send) in protocols() {
        let reply = send(addr, common::request("GET", "/slow")).await;
        assert_eq!(reply.status, StatusCode::GATEWAY_TIMEOUT, "{protocol}");
        assert_eq!(reply.error_body()["error"], "gateway_timeout", "{protocol}");
        let after = send(addr, common::request("GET", "/hello")).await;
        assert_eq!(
            after.status,
            StatusCode::OK,
            "{protocol}: the server keeps serving"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_inner_body_panicking_when_replaced_gets_the_documented_404() {
    std::panic::set_hook(Box::new(|_| {}));
    let addr = serve().await;
    for (protocol, send) in protocols() {
        for path in ["/gone", "/gone-text"] {
            let reply = send(addr, common::request("GET", path)).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{protocol} {path}");
            assert_eq!(
                reply.error_body()["error"],
                "not_found",
                "{protocol} {path}"
            );
        }
        let after = send(addr, common::request("GET", "/hello")).await;
        assert_eq!(
            after.status,
            StatusCode::OK,
            "{protocol}: the server keeps serving"
        );
    }
}
