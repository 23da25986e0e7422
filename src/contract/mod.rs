//! The ground floor: the API document's vocabulary, naming nothing above it. The status
//! [`catalog`], [`ApiError`](crate::ApiError) and its field errors, request methods as the
//! layer keeps them, and the table numbers in headers are written from.

pub(crate) mod api_error;
pub(crate) mod catalog;
pub(crate) mod field_errors;
pub(crate) mod method_id;
pub(crate) mod numbers;
pub(crate) mod text;
