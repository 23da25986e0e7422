//! [`Offered`]: a shape as a layer keeps it, with what is read of it once (its media type) and
//! the default errors it has rendered.

use std::fmt;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::Value;

use crate::respond::shape::{ErrorFacts, ErrorShape};

/// A configured shape, shared by the rendering settings that offer it (an `Arc`), freed with
/// the last of them.
pub(crate) struct Offered {
    shape: Box<dyn ErrorShape>,
    content_type: HeaderValue,
    /// The media type's type and subtype, lowercase, for `Accept`.
    kind: String,
    subtype: String,
    /// The default error of each status in this shape, once rendered for a request whose own
    /// facts it did not use.
    defaults: [OnceLock<Bytes>; 200],
}

impl Offered {
    /// `shape`, with its media type read.
    ///
    /// # Panics
    ///
    /// When its media type is not `type/subtype` or not a valid header value: a configuration
    /// mistake, caught at start.
    pub(crate) fn new(shape: impl ErrorShape) -> Arc<Self> {
        let media_type = shape.media_type();
        let content_type = HeaderValue::from_str(media_type)
            .unwrap_or_else(|_| panic!("the media type {media_type:?} is a valid header value"));
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        let (kind, subtype) = essence
            .split_once('/')
            .filter(|(kind, subtype)| !kind.is_empty() && !subtype.is_empty())
            .unwrap_or_else(|| panic!("the media type {media_type:?} is type/subtype"));
        let (kind, subtype) = (kind.to_ascii_lowercase(), subtype.to_ascii_lowercase());
        Arc::new(Self {
            shape: Box::new(shape),
            content_type,
            kind,
            subtype,
            defaults: [const { OnceLock::new() }; 200],
        })
    }

    pub(crate) fn content_type(&self) -> &HeaderValue {
        &self.content_type
    }

    /// The media type's type and subtype, lowercase.
    pub(crate) fn media_range(&self) -> (&str, &str) {
        (&self.kind, &self.subtype)
    }

    /// Writes the body of `facts` into `buf`; whether another request may get the same bytes.
    pub(crate) fn write(&self, facts: &ErrorFacts<'_>, buf: &mut Vec<u8>) -> bool {
        self.shape.write(facts, buf);
        facts.is_shared()
    }

    /// Where the default error of `status` (a 4xx or 5xx) in this shape is kept.
    pub(crate) fn default_of(&self, status: StatusCode) -> &OnceLock<Bytes> {
        &self.defaults[usize::from(status.as_u16() - 400)]
    }

    #[cfg_attr(not(feature = "utoipa"), allow(dead_code))]
    pub(crate) fn schema(&self) -> Value {
        self.shape.schema()
    }
}

/// The same shape is the same configuration: the one shared.
impl PartialEq for Offered {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl fmt::Debug for Offered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Offered")
            .field("media_type", &self.content_type)
            .finish_non_exhaustive()
    }
}
