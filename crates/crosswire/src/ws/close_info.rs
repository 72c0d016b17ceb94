//! How a connection ended, as the `close` hook sees it.

/// The close code and reason of a finished connection.
///
/// `code` is what the client sent in its close frame, or: 1005 when its close
/// frame had no code, 1006 when the connection dropped without a close frame,
/// or the code the server closed with (1001 idle timeout, 1002/1007/1009
/// protocol errors, 1008 send queue overflow, or `peer.close`'s code) when the
/// client did not answer with its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseInfo {
    /// The close code.
    pub code: u16,
    /// The close reason (possibly empty).
    pub reason: String,
}

impl CloseInfo {
    pub(crate) fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}
