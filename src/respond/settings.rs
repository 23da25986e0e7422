//! How error bodies are written: the [`Format`], and the rendering settings a layer keeps.

use std::sync::Mutex;

use http::HeaderValue;

use crate::respond::shape::offered::Offered;

/// How error bodies are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `application/json`: the flat object of the contract (`ok`, `status`, `error`,
    /// `message`, `detail`, …).
    #[default]
    Json,
    /// `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`, `instance`,
    /// with the contract's other members as extensions.
    Problem,
}

impl Format {
    pub(crate) fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Format::Json => "application/json",
            Format::Problem => "application/problem+json",
        })
    }

    /// The media type's type and subtype, as a shape's are compared with it.
    pub(crate) fn media_range(self) -> (&'static str, &'static str) {
        match self {
            Format::Json => ("application", "json"),
            Format::Problem => ("application", "problem+json"),
        }
    }
}

/// Rendering settings. Kept for the life of the program once per distinct value
/// ([`Rendering::kept`]), so that a response future carries a plain reference to them: no
/// reference count, and eight bytes to move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rendering {
    pub(crate) format: Format,
    /// The shape of bodies when `Accept` does not choose, instead of `format`: its place in
    /// `shapes`, from 1 (0: none), as a request's context keeps it (one byte, where a
    /// reference would make every response future larger).
    pub(crate) default_shape: u8,
    /// The shapes `Accept` may choose, besides the formats whose media types they do not take.
    pub(crate) shapes: &'static [&'static Offered],
    pub(crate) negotiate: bool,
    pub(crate) problem_type_base: Option<&'static str>,
    pub(crate) challenge: &'static HeaderValue,
    /// Whether an inner `405` to `OPTIONS` becomes `204` with `Allow`, and `Allow` lists it.
    pub(crate) answer_options: bool,
}

/// The default `WWW-Authenticate` challenge of a 401.
pub(crate) static BEARER: HeaderValue = HeaderValue::from_static("Bearer");

impl Default for Rendering {
    fn default() -> Self {
        Self {
            format: Format::Json,
            default_shape: 0,
            shapes: &[],
            negotiate: true,
            problem_type_base: None,
            challenge: &BEARER,
            answer_options: true,
        }
    }
}

impl Rendering {
    /// The shape at `place` in `shapes` (from 1; 0 is none).
    pub(crate) fn shape_at(&self, place: u8) -> Option<&'static Offered> {
        let index = usize::from(place).checked_sub(1)?;
        self.shapes.get(index).copied()
    }

    /// The place of `shape` in `shapes` (0 for none, or a shape not offered).
    pub(crate) fn place_of(&self, shape: Option<&'static Offered>) -> u8 {
        shape
            .and_then(|shape| self.shapes.iter().position(|s| *s == shape))
            .and_then(|index| u8::try_from(index + 1).ok())
            .unwrap_or(0)
    }

    /// These settings, kept (once per distinct value).
    pub(crate) fn kept(self) -> &'static Self {
        static KEPT: Mutex<Vec<&'static Rendering>> = Mutex::new(Vec::new());
        keep(self, &KEPT)
    }
}

/// Keeps a configuration value for the life of the program, once per distinct value, so that
/// the `Copy` rendering settings can point at it. Configuration is built a handful of times
/// per process; the same value configured again is found, not kept twice.
pub(crate) fn keep<T: PartialEq + Send + Sync>(
    value: T,
    kept: &Mutex<Vec<&'static T>>,
) -> &'static T {
    let mut kept = kept
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(found) = kept.iter().find(|k| ***k == value) {
        return found;
    }
    let leaked: &'static T = Box::leak(Box::new(value));
    kept.push(leaked);
    leaked
}
