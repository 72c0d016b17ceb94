//! The load scenarios; each is bounded in time and count and stops by itself.

pub(crate) mod chat;
pub(crate) mod cluster;
pub(crate) mod conns;
pub(crate) mod echo;
pub(crate) mod recover;
pub(crate) mod sse;
