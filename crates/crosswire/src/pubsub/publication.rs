//! One publish, as every subscriber kind receives it.
//!
//! A publish is serialized and framed once: WebSocket subscribers share the
//! [`OutFrame`]. Its event-stream form (the text as `data:` lines) is encoded
//! at most once, by whichever worker first meets an event stream, and shared
//! by every stream on every worker. A publish that only has subscribers on
//! the publishing worker lives on the stack; one that crosses to other
//! workers is moved once into a shared [`Shipment`].

use std::sync::OnceLock;

use bytes::Bytes;
use crosswire_proto::sse::{SseEvent, encode_data, encode_event};

use crate::history::StreamPosition;
use crate::ws::outbox::OutFrame;

/// A message published to a topic.
#[derive(Debug)]
pub(crate) struct Publication {
    /// The WebSocket frame every peer gets.
    pub(crate) frame: OutFrame,
    /// The `data:` event for event streams; `None` inside for binary frames,
    /// which have no event-stream form.
    event: OnceLock<Option<Bytes>>,
    /// Its place in the topic's history, for a topic that keeps one; the
    /// event form then carries it as its `id:`.
    position: Option<StreamPosition>,
}

impl Publication {
    pub(crate) fn new(frame: OutFrame) -> Self {
        Self {
            frame,
            event: OnceLock::new(),
            position: None,
        }
    }

    /// A publish to a history topic, at `position`.
    pub(crate) fn positioned(frame: OutFrame, position: StreamPosition) -> Self {
        Self {
            frame,
            event: OnceLock::new(),
            position: Some(position),
        }
    }

    /// The event-stream form, encoded on first use.
    pub(crate) fn event(&self) -> Option<&Bytes> {
        self.event
            .get_or_init(|| event_form(&self.frame, self.position.as_ref()))
            .as_ref()
    }
}

/// Publications on their way to other workers: one allocation per publish
/// (or per run of publishes a connection made in one poll, see `held.rs`),
/// shared by every worker it is handed to.
#[derive(Debug)]
pub(crate) struct Shipment {
    /// The topic they were published to.
    pub(crate) topic: std::sync::Arc<str>,
    /// In order, each with the subscriber that must not receive it (its
    /// publishing peer).
    pub(crate) items: ShippedItems,
    /// The worker that allocated it (`None` outside the workers), to which
    /// each receiving worker gives its reference back once delivered.
    pub(crate) origin: Option<usize>,
    /// Bytes it holds, as hand-over budgets count them: summed once, where
    /// it is made, rather than by each staging, inbox and receiving worker
    /// that weighs it.
    weight: usize,
}

/// The publications of a shipment: one, kept inline, or a run.
#[derive(Debug)]
pub(crate) enum ShippedItems {
    One([(Publication, Option<u64>); 1]),
    Run(Vec<(Publication, Option<u64>)>),
}

impl ShippedItems {
    fn as_slice(&self) -> &[(Publication, Option<u64>)] {
        match self {
            ShippedItems::One(one) => one,
            ShippedItems::Run(run) => run,
        }
    }
}

impl Shipment {
    /// A shipment of `items` published to `topic` by worker `origin`.
    pub(crate) fn new(
        topic: std::sync::Arc<str>,
        items: ShippedItems,
        origin: Option<usize>,
    ) -> Self {
        let frames: usize = items
            .as_slice()
            .iter()
            .map(|(publication, _)| publication.frame.wire_len())
            .sum();
        Self {
            weight: frames + topic.len(),
            topic,
            items,
            origin,
        }
    }

    /// The publications, in order, with the key each skips.
    pub(crate) fn items(&self) -> &[(Publication, Option<u64>)] {
        self.items.as_slice()
    }

    /// The subscriber every publication of the shipment skips (their
    /// publisher), if they all skip the same one.
    pub(crate) fn skipped_by_all(&self) -> Option<u64> {
        let mut items = self.items().iter().map(|(_, skip)| *skip);
        let first = items.next().flatten()?;
        items.all(|skip| skip == Some(first)).then_some(first)
    }

    /// Bytes this shipment holds, as hand-over budgets count them.
    pub(crate) fn weight(&self) -> usize {
        self.weight
    }
}

/// The event stream form of a frame: its text as `data:` lines (after an
/// `id:` line when it has a position), or `None` for a binary frame.
fn event_form(frame: &OutFrame, position: Option<&StreamPosition>) -> Option<Bytes> {
    if !frame.is_text() {
        return None;
    }
    // Text frames are built from Rust strings, so this only fails on a bug.
    let text = std::str::from_utf8(frame.payload()).ok()?;
    Some(match position {
        None => encode_data(text),
        Some(position) => encode_event(&SseEvent::new().id(position.to_string()).data(text)),
    })
}
