//! The subscribers of one topic on one worker, and delivery to them.

use std::collections::HashMap;
use std::sync::Arc;

use super::interest::Kind;
use super::publication::Publication;
use crate::sse::core::StreamCore;
use crate::sse::queue::Pushed as StreamPushed;
use crate::ws::outbox::{Outbox, Pushed};

/// Where a subscriber's messages go.
#[derive(Debug)]
pub(crate) enum Subscriber {
    /// A peer's send queue: gets the prepared frame.
    WebSocket(Arc<Outbox>),
    /// An event stream: gets the message as a `data:` event.
    EventStream(Arc<StreamCore>),
}

impl Subscriber {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Subscriber::WebSocket(_) => Kind::Peer,
            Subscriber::EventStream(_) => Kind::Stream,
        }
    }
}

/// One subscriber: its key (peer or stream) and where messages go.
#[derive(Debug)]
struct Member {
    key: u64,
    subscriber: Subscriber,
}

/// The subscribers of one topic. A `Vec` keeps iteration tight for fan-out;
/// `index` makes unsubscribing O(1) with `swap_remove` (delivery order across
/// subscribers carries no meaning, only order per connection does).
#[derive(Debug, Default)]
pub(crate) struct Members {
    list: Vec<Member>,
    index: HashMap<u64, usize>,
}

/// What a delivery did.
#[derive(Debug, Default)]
pub(crate) struct Delivered {
    /// Queues that accepted the message.
    pub(crate) queued: usize,
    /// Event streams the message overflowed. They are finished by the
    /// caller once it holds no topic lock, because finishing leaves topics.
    pub(crate) overflowed: Vec<Arc<StreamCore>>,
}

impl Members {
    /// Adds a subscriber; false if `key` is already one.
    pub(crate) fn insert(&mut self, key: u64, subscriber: Subscriber) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.index.insert(key, self.list.len());
        self.list.push(Member { key, subscriber });
        true
    }

    /// Removes a subscriber and says what kind it was; `None` if `key` is
    /// not one.
    pub(crate) fn remove(&mut self, key: u64) -> Option<Kind> {
        let position = self.index.remove(&key)?;
        let removed = self.list.swap_remove(position);
        if let Some(moved) = self.list.get(position) {
            self.index.insert(moved.key, position);
        }
        Some(removed.subscriber.kind())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Queues `publication` for every member except `exclude`. Event streams
    /// get the text of a text frame as one `data:` event; binary frames have
    /// no event form and skip them.
    pub(crate) fn deliver(
        &self,
        publication: &Publication,
        skip: impl Fn(u64) -> bool,
        delivered: &mut Delivered,
    ) {
        for member in &self.list {
            if skip(member.key) {
                continue;
            }
            let queued = match &member.subscriber {
                Subscriber::WebSocket(outbox) => outbox.push(&publication.frame) == Pushed::Queued,
                Subscriber::EventStream(stream) => {
                    let Some(event) = publication.event() else {
                        continue;
                    };
                    match stream.queue.push(event.clone()) {
                        StreamPushed::Queued => true,
                        StreamPushed::Closed => false,
                        StreamPushed::Overflow => {
                            delivered.overflowed.push(Arc::clone(stream));
                            false
                        }
                    }
                }
            };
            delivered.queued += usize::from(queued);
        }
    }
}
