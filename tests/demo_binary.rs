//! The README's main command, `cargo run --example demo`, as a user runs it: the binary starts
//! on the port it is given (0: a free one), says where it listens, answers, and stops cleanly
//! on SIGTERM.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use common::{request, send};

/// `cargo test` builds the examples next to the test binaries' `deps/` folder.
fn demo_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let target = deps.parent().unwrap().parent().unwrap();
    target.join("examples").join("demo")
}

/// The demo binary, started as a user starts it, and where it said it listens.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl Running {
    /// Starts the demo on 127.0.0.1:0 with `args`, and reads its first line for the address.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(demo_binary())
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "off")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let addr = first
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        Self {
            child,
            stdout,
            addr,
        }
    }

    fn sigterm(&self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
    }

    /// Waits for the demo to exit 0, bounded so that a demo that never stops fails the test
    /// instead of hanging it, and returns the rest of what it printed.
    async fn exits(self) -> Vec<String> {
        let Self {
            mut child, stdout, ..
        } = self;
        let exited = tokio::task::spawn_blocking(move || child.wait());
        let status = tokio::time::timeout(Duration::from_secs(30), exited)
            .await
            .expect("the demo stops")
            .unwrap()
            .unwrap();
        assert!(status.success(), "graceful shutdown exits 0, not {status}");
        stdout.lines().map(Result::unwrap).collect()
    }
}

#[tokio::test]
async fn the_demo_listens_where_it_says_answers_and_stops_on_sigterm() {
    let binary = demo_binary();
    assert!(
        binary.exists(),
        "{} is built by cargo test",
        binary.display()
    );
    let demo = Running::start(&["--timeout-ms", "500"]);
    let addr = demo.addr;
    assert_ne!(addr.port(), 0, "the real port is printed");

    assert_eq!(send(addr, request("GET", "/health")).await.status, 200);
    let planned = send(addr, request("POST", "/payments")).await;
    assert_eq!(planned.status, 501);
    assert_eq!(planned.error_body()["error"], "not_implemented");

    demo.sigterm();
    let rest = demo.exits().await;
    assert!(rest.iter().any(|line| line == "shutting down"), "{rest:?}");
    assert!(
        rest.iter()
            .any(|line| line.starts_with("stopped: 0 requests in flight")),
        "{rest:?}"
    );
}

/// Sends `GET path` until the answer's `error` is `code`; bounded by a number of tries, not by
/// a duration.
async fn until_error(addr: SocketAddr, path: &str, code: &str) -> common::Reply {
    for _ in 0..10_000 {
        let reply = send(addr, request("GET", path)).await;
        if reply.status.as_u16() >= 400 && reply.error_body()["error"] == code {
            return reply;
        }
        tokio::task::yield_now().await;
    }
    panic!("GET {path} never answered {code}");
}

/// Sends a slow request and returns it once it holds the demo's only place: another request is
/// refused `overloaded` while it is still running. A probe can take the place first, and the
/// slow request is then the one refused: it is sent again. Bounded by numbers of tries.
async fn hold_the_only_place(addr: SocketAddr) -> tokio::task::JoinHandle<common::Reply> {
    for _ in 0..100 {
        let slow = tokio::spawn(send(addr, request("GET", "/slow?ms=2000")));
        for _ in 0..10_000 {
            if slow.is_finished() {
                break;
            }
            let probe = send(addr, request("GET", "/payments")).await;
            if probe.status == 503 && probe.error_body()["error"] == "overloaded" {
                return slow;
            }
            tokio::task::yield_now().await;
        }
    }
    panic!("the slow request never held the only place");
}

#[tokio::test]
async fn sigterm_drains_before_the_demo_stops() {
    // One place: while the slow request holds it, others are refused, which tells the test
    // that the slow request is in flight.
    let demo = Running::start(&["--timeout-ms", "10000", "--max-in-flight", "1"]);
    let addr = demo.addr;

    let in_flight = hold_the_only_place(addr).await;
    demo.sigterm();
    // New requests are refused, /health too (a load balancer must stop sending).
    let refused = until_error(addr, "/health", "shutting_down").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers["connection"], "close");
    // The request in flight finishes normally, then the demo exits.
    assert_eq!(in_flight.await.unwrap().status, 200);
    let rest = demo.exits().await;
    assert!(
        rest.iter()
            .any(|line| line == "draining: 1 requests in flight"),
        "{rest:?}"
    );
}
