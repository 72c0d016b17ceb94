//! Label values, each from a fixed set: a label whose values a client
//! could choose (any close code from 3000 to 4999, say) would let one client
//! create thousands of series in every Prometheus that scrapes the server.

/// Close code labels: the codes of RFC 6455 (1000 to 1015) one by one, the
/// registered (3000-3999) and private (4000-4999) ranges as one label each,
/// and anything else as `other`.
pub(crate) const CLOSE_LABELS: [&str; 19] = [
    "1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010", "1011",
    "1012", "1013", "1014", "1015", "3xxx", "4xxx", "other",
];

/// Where close `code` counts in [`CLOSE_LABELS`].
pub(crate) fn close_index(code: u16) -> usize {
    match code {
        1000..=1015 => usize::from(code - 1000),
        3000..=3999 => 16,
        4000..=4999 => 17,
        _ => 18,
    }
}

/// The hooks whose failures are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Upgrade,
    Open,
    Message,
    Close,
    Error,
    Drain,
}

impl Hook {
    /// Every hook, in index order.
    pub(crate) const ALL: [Hook; 6] = [
        Hook::Upgrade,
        Hook::Open,
        Hook::Message,
        Hook::Close,
        Hook::Error,
        Hook::Drain,
    ];

    /// The hook named `name` as the dispatcher names it; `None` for others.
    pub(crate) fn named(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|hook| hook.as_str() == name)
    }

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Hook::Upgrade => "upgrade",
            Hook::Open => "open",
            Hook::Message => "message",
            Hook::Close => "close",
            Hook::Error => "error",
            Hook::Drain => "drain",
        }
    }
}

/// The limits a peer can be closed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    SendQueueBytes,
    MaxQueuedBytes,
    MaxMessagesPerSecond,
    MaxControlFramesPerSecond,
    MaxMessageSize,
    MaxFrameSize,
    MaxFragments,
    IdleTimeout,
}

impl Limit {
    /// Every limit, in index order.
    pub(crate) const ALL: [Limit; 8] = [
        Limit::SendQueueBytes,
        Limit::MaxQueuedBytes,
        Limit::MaxMessagesPerSecond,
        Limit::MaxControlFramesPerSecond,
        Limit::MaxMessageSize,
        Limit::MaxFrameSize,
        Limit::MaxFragments,
        Limit::IdleTimeout,
    ];

    /// The setting's name, as the label value.
    pub(crate) fn setting(self) -> &'static str {
        match self {
            Limit::SendQueueBytes => "send_queue_bytes",
            Limit::MaxQueuedBytes => "max_queued_bytes",
            Limit::MaxMessagesPerSecond => "max_messages_per_second",
            Limit::MaxControlFramesPerSecond => "max_control_frames_per_second",
            Limit::MaxMessageSize => "max_message_size",
            Limit::MaxFrameSize => "max_frame_size",
            Limit::MaxFragments => "max_fragments",
            Limit::IdleTimeout => "idle_timeout",
        }
    }

    /// The limit a connection's error says it crossed, if any.
    pub(crate) fn of(error: &crate::error::WebSocketError) -> Option<Limit> {
        use crate::error::WebSocketError as E;
        use crosswire_proto::ProtocolError as P;
        Some(match error {
            E::SendQueueFull { .. } => Limit::SendQueueBytes,
            E::ServerQueueBudget { .. } => Limit::MaxQueuedBytes,
            E::MessageRate { .. } => Limit::MaxMessagesPerSecond,
            E::ControlFrameFlood { .. } => Limit::MaxControlFramesPerSecond,
            E::IdleTimeout(_) => Limit::IdleTimeout,
            E::Protocol(P::MessageTooLarge { .. }) => Limit::MaxMessageSize,
            E::Protocol(P::FrameTooLarge { .. }) => Limit::MaxFrameSize,
            E::Protocol(P::TooManyFragments { .. }) => Limit::MaxFragments,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_map_to_a_bounded_set_of_labels() {
        assert_eq!(CLOSE_LABELS[close_index(1000)], "1000");
        assert_eq!(CLOSE_LABELS[close_index(1009)], "1009");
        assert_eq!(CLOSE_LABELS[close_index(1015)], "1015");
        assert_eq!(CLOSE_LABELS[close_index(3001)], "3xxx");
        assert_eq!(CLOSE_LABELS[close_index(4999)], "4xxx");
        assert_eq!(CLOSE_LABELS[close_index(2000)], "other");
        assert_eq!(CLOSE_LABELS[close_index(0)], "other");
        assert_eq!(Hook::named("drain"), Some(Hook::Drain));
        assert_eq!(Hook::named("nope"), None);
    }
}
