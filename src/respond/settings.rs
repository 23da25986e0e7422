//! How error bodies are written: the [`Format`], and the rendering settings a layer holds.

use std::borrow::Cow;
use std::ops::Deref;
use std::sync::Arc;

use http::header::HeaderName;
use http::{HeaderValue, StatusCode};

use crate::respond::shape::offered::Offered;
use crate::ApiError;

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

/// Rendering settings, shared by the layer that built them, its services and each request in
/// progress ([`SharedRendering`]), and freed with the last of them: nothing is kept for the
/// life of the program, and a build takes the same time however many were built before.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rendering {
    pub(crate) format: Format,
    /// The shape of bodies when `Accept` does not choose, instead of `format`: its place in
    /// `shapes`, from 1 (0: none), as a request's context keeps it (one byte, where a
    /// reference would make every response future larger).
    pub(crate) default_shape: u8,
    /// The shapes `Accept` may choose, besides the formats whose media types they do not take.
    pub(crate) shapes: Vec<Arc<Offered>>,
    pub(crate) negotiate: bool,
    pub(crate) problem_type_base: Option<Cow<'static, str>>,
    pub(crate) challenge: HeaderValue,
    /// Whether an inner `405` to `OPTIONS` becomes `204` with `Allow`, and `Allow` lists it.
    pub(crate) answer_options: bool,
    /// The request header whose safe value is echoed as `request_id`.
    pub(crate) request_id_header: HeaderName,
    /// The team's own words for some statuses, in place of the API document's.
    pub(crate) wording: Vec<Wording>,
}

/// A status's `message` and default `detail`, reworded by
/// [`ApiErrorLayer::reword`](crate::ApiErrorLayer::reword).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wording {
    pub(crate) status: StatusCode,
    pub(crate) message: Cow<'static, str>,
    pub(crate) detail: Cow<'static, str>,
}

/// The default `WWW-Authenticate` challenge of a 401.
pub(crate) static BEARER: HeaderValue = HeaderValue::from_static("Bearer");

/// The default settings: a constant, which the usual layer's requests point at.
static DEFAULT: Rendering = Rendering {
    format: Format::Json,
    default_shape: 0,
    shapes: Vec::new(),
    negotiate: true,
    problem_type_base: None,
    challenge: HeaderValue::from_static("Bearer"),
    answer_options: true,
    request_id_header: HeaderName::from_static("x-request-id"),
    wording: Vec::new(),
};

impl Rendering {
    /// The default settings, without a copy.
    pub(crate) fn defaults() -> &'static Self {
        &DEFAULT
    }

    /// Whether `status` has words of the layer's own: its bodies rendered once with the
    /// document's words (canned refusals, each status's default) are not sent then.
    #[inline]
    pub(crate) fn rewords(&self, status: StatusCode) -> bool {
        !self.wording.is_empty() && self.wording.iter().any(|w| w.status == status)
    }

    /// The `message` of `error` in this layer's words.
    pub(crate) fn message_of<'e>(&'e self, error: &'e ApiError) -> &'e str {
        match self.wording_of(error.status()) {
            Some(wording) => &wording.message,
            None => error.message(),
        }
    }

    /// The `detail` of `error`: its own, or its status's default in this layer's words.
    pub(crate) fn detail_of<'e>(&'e self, error: &'e ApiError) -> &'e str {
        match (error.own_detail(), self.wording_of(error.status())) {
            (None, Some(wording)) => &wording.detail,
            _ => error.detail(),
        }
    }

    fn wording_of(&self, status: StatusCode) -> Option<&Wording> {
        self.wording.iter().find(|w| w.status == status)
    }

    /// The shape at `place` in `shapes` (from 1; 0 is none).
    pub(crate) fn shape_at(&self, place: u8) -> Option<&Arc<Offered>> {
        let index = usize::from(place).checked_sub(1)?;
        self.shapes.get(index)
    }

    /// The place of `shape` in `shapes` (0 for none, or a shape not offered).
    pub(crate) fn place_of(&self, shape: Option<&Arc<Offered>>) -> u8 {
        shape
            .and_then(|shape| self.shapes.iter().position(|s| Arc::ptr_eq(s, shape)))
            .and_then(|index| u8::try_from(index + 1).ok())
            .unwrap_or(0)
    }
}

/// Rendering settings as a layer and each of its requests hold them: the defaults (a static, so
/// that the usual layer's requests count no reference) or the layer's own, shared through an
/// `Arc` and freed with the last layer, service or request that holds them.
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedRendering(Option<Arc<Rendering>>);

impl SharedRendering {
    pub(crate) fn new(rendering: Rendering) -> Self {
        if rendering == DEFAULT {
            Self(None)
        } else {
            Self(Some(Arc::new(rendering)))
        }
    }
}

impl Deref for SharedRendering {
    type Target = Rendering;

    #[inline]
    fn deref(&self) -> &Rendering {
        self.0.as_deref().unwrap_or(&DEFAULT)
    }
}
