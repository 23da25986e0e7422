//! The tower core, on top of every other part: [`layer`] (the [`ApiErrorLayer`](crate::ApiErrorLayer)
//! and its methods), [`config`] (what its services share), [`service`] (the decisions, in
//! order, before the inner call), [`future`] (the inner call under the deadline and the panic
//! guard) and [`body`] (the inner body or the error body). Every error response they make
//! leaves through the one exit, [`crate::respond::exit`].

pub(crate) mod body;
pub(crate) mod config;
pub(crate) mod future;
pub(crate) mod layer;
pub(crate) mod service;
