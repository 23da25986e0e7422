//! RFC 9110 rules, checked over every resource of the demo on a real socket, over HTTP/1.1 and
//! HTTP/2: 405 always has `Allow`, 401 always has `WWW-Authenticate`, 503 has a delta-seconds
//! `Retry-After`, `HEAD` has the headers of `GET` and no body, `OPTIONS` answers `Allow`.

#[allow(dead_code)] // only the demo's service is used here
#[path = "../examples/demo/app.rs"]
mod app;
mod common;

use common::{raw_http1, request, send, send_h2, serve, Reply};
use http::{Method, StatusCode};

const PATHS: &[&str] = &[
    "/health",
    "/notes",
    "/notes/1",
    "/reports/1234/result",
    "/payments",
    "/private",
    "/admin/maintenance",
    "/nowhere",
];

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW",
];

fn check_rules(method: &str, path: &str, reply: &Reply) {
    let context = format!("{method} {path} → {}", reply.status);
    match reply.status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = reply.headers.get("allow").expect(&context);
            assert!(!allow.is_empty(), "{context}");
        }
        StatusCode::UNAUTHORIZED => {
            assert!(reply.headers.contains_key("www-authenticate"), "{context}");
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            let retry_after = reply.headers.get("retry-after").expect(&context);
            retry_after
                .to_str()
                .unwrap()
                .parse::<u64>()
                .expect(&context);
        }
        StatusCode::NO_CONTENT => {
            assert_eq!(method, "OPTIONS", "{context}");
            assert!(reply.headers.contains_key("allow"), "{context}");
        }
        _ => {}
    }
    if method == "HEAD" || reply.status == StatusCode::NO_CONTENT {
        assert!(reply.body.is_empty(), "{context}");
    } else if reply.status.as_u16() >= 400 {
        reply.error_body();
    }
}

/// Headers that may differ between two responses to the same request.
fn comparable(reply: &Reply) -> Vec<(String, String)> {
    let mut headers: Vec<_> = reply
        .headers
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

#[tokio::test]
async fn every_method_on_every_resource_follows_rfc_9110() {
    let demo = app::demo(&app::Settings::default());
    let addr = serve(demo.service).await;
    for path in PATHS {
        for method in METHODS {
            let h1 = send(addr, request(method, path)).await;
            check_rules(method, path, &h1);
            let h2 = send_h2(addr, request(method, path)).await;
            check_rules(method, path, &h2);
            assert_eq!(
                h1.status, h2.status,
                "{method} {path}: HTTP/2 like HTTP/1.1"
            );
            assert_eq!(h1.body, h2.body, "{method} {path}: HTTP/2 like HTTP/1.1");
        }
        let get = send(addr, request("GET", path)).await;
        let head = send(addr, request("HEAD", path)).await;
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_eq!(
            comparable(&head),
            comparable(&get),
            "HEAD {path} has GET's headers"
        );
    }
}

#[tokio::test]
async fn options_lists_allow_on_every_resource() {
    let demo = app::demo(&app::Settings::default());
    let addr = serve(demo.service).await;
    for path in PATHS.iter().filter(|p| **p != "/nowhere") {
        let reply = send(addr, request("OPTIONS", path)).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{path}");
        let allow = reply.headers["allow"].to_str().unwrap();
        assert!(
            allow.split(", ").any(|m| m == Method::OPTIONS),
            "{path}: {allow}"
        );
    }
}

/// RFC 9110 §9.3.7: `OPTIONS *` asks about the server, on either protocol. HTTP/1.1 sends the
/// asterisk form as the request target; h2 sends `:path: *` beside `:authority`, and hyper
/// hands that on as an absolute URI (`http://host*`) whose path is `*`.
#[tokio::test]
async fn options_asterisk_is_the_same_204_over_http1_and_h2() {
    let demo = app::demo(&app::Settings::default());
    let addr = serve(demo.service).await;
    let head = raw_http1(
        addr,
        "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("http/1.1 204"), "{head}");
    let allow = head
        .lines()
        .find_map(|line| line.strip_prefix("allow: "))
        .expect("HTTP/1.1 answers Allow")
        .to_owned();
    let h1 = send(addr, request("OPTIONS", "*")).await;
    let h2 = send_h2(addr, request("OPTIONS", "*")).await;
    for (protocol, reply) in [("HTTP/1.1", &h1), ("h2", &h2)] {
        assert_eq!(
            reply.status,
            StatusCode::NO_CONTENT,
            "{protocol}: {reply:?}"
        );
        assert!(reply.body.is_empty(), "{protocol}: {reply:?}");
        check_rules("OPTIONS", "*", reply);
        let sent = reply.headers["allow"].to_str().unwrap();
        assert_eq!(sent.to_lowercase(), allow, "{protocol}: the same Allow");
    }
    assert_eq!(comparable(&h1), comparable(&h2), "h2 like HTTP/1.1");
}

#[tokio::test]
async fn maintenance_and_overload_503s_carry_retry_after() {
    let settings = app::Settings {
        max_in_flight: app::MaxInFlight::Fixed(0),
        ..app::Settings::default()
    };
    let demo = app::demo(&settings);
    let addr = serve(demo.service).await;
    for path in PATHS {
        check_rules("GET", path, &send(addr, request("GET", path)).await);
    }
    let demo = app::demo(&app::Settings::default());
    demo.maintenance.enable();
    let addr = serve(demo.service).await;
    for path in PATHS {
        check_rules("GET", path, &send(addr, request("GET", path)).await);
    }
}
