//! The opening handshake (section 4.2).
//!
//! A WebSocket connection starts life as an HTTP/1.1 `GET` with a few
//! mandatory headers. This module decides, from the request line and headers
//! alone, whether the server should switch protocols, and computes the
//! `Sec-WebSocket-Accept` proof the response must carry. Writing the response
//! is left to the HTTP layer.

mod accept;
mod request;
mod tokens;
mod validate;

pub use accept::accept_key;
pub use request::Handshake;
pub use validate::{is_upgrade_request, validate_request};
