//! Topic pub/sub: who is subscribed to what, and delivery of one prepared frame
//! to all of them.
//!
//! This is the product's hot path. A publish looks up the topic under a read
//! lock (subscribing is rare next to publishing, so readers rarely wait), and
//! pushes a clone of the same [`OutFrame`] (a reference count increment, no
//! payload copy) onto each subscriber's bounded [`Outbox`]. Nothing here ever
//! awaits, so no lock is held across an `.await`.

mod topics;

pub(crate) use topics::TopicHub;
