//! The JSON writer: the body of the contract, or of a problem document, written member by
//! member straight into one per-thread buffer (no `serde_json::Value`), then copied out at its
//! exact size.

use std::cell::RefCell;

use bytes::Bytes;
use http::header::ALLOW;
use http::HeaderMap;
use serde_json::Value;

use crate::respond::context::RequestContext;
use crate::respond::settings::{Format, Rendering};
use crate::respond::shape::facts::{allowed_methods, retry_after_seconds, ErrorFacts};
use crate::respond::shape::offered::Offered;
use crate::ApiError;

/// The body in the request's shape or format.
pub(crate) fn write_body(
    error: &ApiError,
    headers: &HeaderMap,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Bytes {
    match ctx.shape(rendering) {
        Some(shape) => write_shaped(shape, error, headers, ctx, rendering).0,
        None => write_document(error, headers, ctx, rendering),
    }
}

/// The body in `shape`, and whether another request may get the same bytes.
pub(crate) fn write_shaped(
    shape: &Offered,
    error: &ApiError,
    headers: &HeaderMap,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> (Bytes, bool) {
    let words = (rendering.message_of(error), rendering.detail_of(error));
    let facts = ErrorFacts::new(error, words, headers, ctx.instance_path(), ctx.request_id());
    let mut shared = false;
    let body = with_scratch(|buf| shared = shape.write(&facts, buf));
    (body, shared)
}

/// The document's body: members in the contract's order, then the error's own members.
fn write_document(
    error: &ApiError,
    headers: &HeaderMap,
    ctx: &RequestContext,
    rendering: &Rendering,
) -> Bytes {
    with_scratch(|buf| {
        let mut out = JsonObject::new(buf);
        let status = error.status();
        let code = status.as_u16();
        let (message, detail) = (rendering.message_of(error), rendering.detail_of(error));
        match ctx.format {
            Format::Json => {
                out.raw("ok", b"false");
                out.number("status", u64::from(code));
                out.string("error", error.code());
                out.string("message", message);
                out.string("detail", detail);
            }
            Format::Problem => {
                match rendering.problem_type_base.as_deref() {
                    Some(base) => out.problem_type(base, error.code()),
                    None => out.string("type", "about:blank"),
                }
                // RFC 9457 §4.2.1: with `about:blank`, the title is the reason phrase.
                let title = match rendering.problem_type_base {
                    None => status.canonical_reason().unwrap_or(message),
                    Some(_) => message,
                };
                out.string("title", title);
                out.number("status", u64::from(code));
                out.string("detail", detail);
                if let Some(path) = ctx.instance_path() {
                    out.string("instance", path);
                }
                out.raw("ok", b"false");
                out.string("error", error.code());
                out.string("message", message);
            }
        }
        if matches!(code, 405 | 501) && headers.contains_key(ALLOW) {
            out.methods("allowed", headers);
        }
        if let Some(seconds) = retry_after_seconds(headers) {
            out.number("retry_after", seconds);
        }
        out.raw(
            "retryable",
            if error.is_retryable() {
                b"true"
            } else {
                b"false"
            },
        );
        if let Some(id) = ctx.request_id() {
            out.string("request_id", id);
        }
        for (key, value) in error.members() {
            out.value(key, value);
        }
        out.close();
    })
}

thread_local! {
    // One buffer per thread that bodies are written into before being copied out at their
    // exact size: a body costs one allocation, never a series of reallocations.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(512));
}

fn with_scratch(write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut write = Some(write);
    let written = SCRATCH.try_with(|scratch| {
        // Rendering never re-enters itself; should it, it gets a buffer of its own below.
        let mut buf = scratch.try_borrow_mut().ok()?;
        buf.clear();
        (write.take()?)(&mut buf);
        let body = Bytes::copy_from_slice(&buf);
        // A huge member grew the buffer: give the memory back.
        if buf.capacity() > 64 * 1024 {
            *buf = Vec::with_capacity(512);
        }
        Some(body)
    });
    match (written, write) {
        (Ok(Some(body)), _) => body,
        // The thread is being torn down, or the buffer is in use.
        (_, write) => {
            let mut buf = Vec::new();
            if let Some(write) = write {
                write(&mut buf);
            }
            Bytes::from(buf)
        }
    }
}

/// A JSON object written member by member into a buffer.
struct JsonObject<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> JsonObject<'a> {
    fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Self { buf, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        write_str(self.buf, key);
        self.buf.push(b':');
    }

    fn raw(&mut self, key: &str, json: &[u8]) {
        self.key(key);
        self.buf.extend_from_slice(json);
    }

    fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_str(self.buf, value);
    }

    fn number(&mut self, key: &str, value: u64) {
        self.key(key);
        self.buf
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    fn value(&mut self, key: &str, value: &Value) {
        self.key(key);
        // Writing into a Vec cannot fail, and a `Value` always serializes.
        serde_json::to_writer(&mut *self.buf, value).expect("a JSON value serializes");
    }

    /// `type`: `base` followed by the code, percent-encoded so that the whole stays a valid
    /// URI reference whatever the code is.
    fn problem_type(&mut self, base: &str, code: &str) {
        self.key("type");
        self.buf.push(b'"');
        write_escaped(self.buf, base);
        for byte in code.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                self.buf.push(byte);
            } else {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                self.buf.extend_from_slice(&[
                    b'%',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
            }
        }
        self.buf.push(b'"');
    }

    /// The methods of every `Allow` field, in order, each once (see [`allowed_methods`]).
    fn methods(&mut self, key: &str, headers: &HeaderMap) {
        self.key(key);
        let buf = &mut *self.buf;
        buf.push(b'[');
        let mut first = true;
        allowed_methods(headers, |token| {
            if !first {
                buf.push(b',');
            }
            first = false;
            // A token needs no escaping.
            buf.push(b'"');
            buf.extend_from_slice(token.as_bytes());
            buf.push(b'"');
        });
        buf.push(b']');
    }

    fn close(self) {
        self.buf.push(b'}');
    }
}

/// Writes `text` as a JSON string: quotes, backslashes and control characters escaped, as
/// serde_json does; the rest copied as it is.
fn write_str(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'"');
    write_escaped(buf, text);
    buf.push(b'"');
}

fn write_escaped(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => {
                buf.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(escape);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn allowed_reads_every_allow_field_once_and_only_tokens() {
        let mut headers = HeaderMap::new();
        headers.append(ALLOW, HeaderValue::from_static("GET"));
        headers.append(ALLOW, HeaderValue::from_static("POST, GET,,"));
        headers.append(ALLOW, HeaderValue::from_static("bad token, HEAD"));
        let mut buf = Vec::new();
        let mut out = JsonObject::new(&mut buf);
        out.methods("allowed", &headers);
        out.close();
        assert_eq!(buf, br#"{"allowed":["GET","POST","HEAD"]}"#);
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for text in [
            "plain",
            "quote \" and \\ back",
            "line\nfeed\ttab\r\u{1}\u{1f}\u{8}\u{c}",
            "café ✓",
            "",
        ] {
            let mut buf = Vec::new();
            write_str(&mut buf, text);
            assert_eq!(buf, serde_json::to_vec(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn problem_types_are_valid_uri_references() {
        let mut buf = Vec::new();
        let mut out = JsonObject::new(&mut buf);
        out.problem_type("https://errors.example/", "not found/ü");
        out.close();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"type":"https://errors.example/not%20found%2F%C3%BC"}"#
        );
    }
}
