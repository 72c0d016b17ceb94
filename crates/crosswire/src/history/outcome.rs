//! What a publish and a recovering subscribe tell the caller.

use super::position::StreamPosition;

/// What a recovering subscribe did: whether the subscriber has (or is about
/// to get) every message after the position it gave, and where the topic
/// stood when it joined.
///
/// Returned by [`Peer::subscribe_with_recovery`](crate::Peer::subscribe_with_recovery)
/// and [`EventStream::subscribe_with_recovery`](crate::EventStream::subscribe_with_recovery).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a failed recovery means the client should reload its state"]
pub struct Recovery {
    pub(crate) recovered: bool,
    pub(crate) replayed: usize,
    pub(crate) position: Option<StreamPosition>,
}

impl Recovery {
    /// True when nothing is lost: every message after the given position was
    /// queued for the subscriber, ahead of the live ones (or no position was
    /// given, so there was nothing to recover). False when the position is
    /// from another epoch (the history was lost: a restart, an expired
    /// topic), older than what the history still keeps, not a position at
    /// all, or the topic keeps no history: the client should reload its
    /// state.
    pub fn recovered(&self) -> bool {
        self.recovered
    }

    /// How many missed messages were queued before the live ones.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The topic's latest position when the subscriber joined (the position
    /// of the last replayed message, or of the last message before the
    /// subscriber joined); `None` when the topic keeps no history.
    pub fn position(&self) -> Option<&StreamPosition> {
        self.position.as_ref()
    }
}

/// What a publish did: how many local subscribers it was queued for, and
/// the position it got when its topic keeps history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub(crate) reached: usize,
    pub(crate) position: Option<StreamPosition>,
}

impl Published {
    /// Subscribers on this node the message was queued or handed over for.
    pub fn reached(&self) -> usize {
        self.reached
    }

    /// The message's position in its topic's history; `None` when the topic
    /// keeps no history.
    pub fn position(&self) -> Option<&StreamPosition> {
        self.position.as_ref()
    }
}
