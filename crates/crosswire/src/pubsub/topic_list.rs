//! The topics one subscriber (a WebSocket peer or an event stream) is
//! subscribed to, in subscription order.
//!
//! Every subscriber keeps this list for its whole life, and most hold
//! exactly one topic (a chat room, a feed), so the first topic is kept
//! inline rather than in an allocation of its own: a chat peer then has no
//! list on the heap at all. A short list grows one slot at a time (a first push would
//! otherwise make room for four), a longer one by doubling.

use std::sync::Arc;

/// Topics a list holds before it grows by doubling instead of by one.
const SHORT: usize = 4;

/// A subscriber's topics (shared copies of their names), or the mark that
/// it has left and takes no more.
#[derive(Debug)]
pub(crate) enum TopicList {
    /// No topic, or several, in order.
    Many(Vec<Arc<str>>),
    /// Exactly one.
    One(Arc<str>),
    /// The subscriber has left (a peer closed, a stream ended): a late
    /// `subscribe` must not leave a dead queue in the topic index.
    Left,
}

impl Default for TopicList {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl TopicList {
    /// False once the subscriber has left.
    pub(crate) fn is_open(&self) -> bool {
        !matches!(self, Self::Left)
    }

    /// Adds `name` at the end (nothing once the subscriber has left).
    pub(crate) fn push(&mut self, name: Arc<str>) {
        match self {
            Self::Left => {}
            Self::Many(list) if list.is_empty() => *self = Self::One(name),
            Self::One(_) => {
                let Self::One(first) = std::mem::take(self) else {
                    return;
                };
                *self = Self::Many(vec![first, name]);
            }
            Self::Many(list) => {
                if list.len() < SHORT {
                    list.reserve_exact(1);
                }
                list.push(name);
            }
        }
    }

    /// Removes `topic` if it is in the list.
    pub(crate) fn remove(&mut self, topic: &str) {
        match self {
            Self::One(name) if &**name == topic => *self = Self::default(),
            Self::Many(list) => list.retain(|name| &**name != topic),
            _ => {}
        }
    }

    /// The topics, in subscription order.
    pub(crate) fn as_slice(&self) -> &[Arc<str>] {
        match self {
            Self::Many(list) => list,
            Self::One(name) => std::slice::from_ref(name),
            Self::Left => &[],
        }
    }

    /// Marks the subscriber as left and returns the topics it held.
    pub(crate) fn leave(&mut self) -> Vec<Arc<str>> {
        match std::mem::replace(self, Self::Left) {
            Self::Many(list) => list,
            Self::One(name) => vec![name],
            Self::Left => Vec::new(),
        }
    }

    /// Bytes the list holds on the heap.
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Many(list) => list.capacity() * std::mem::size_of::<Arc<str>>(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: usize) -> Arc<str> {
        Arc::from(format!("t{n}").as_str())
    }

    fn names(list: &TopicList) -> Vec<String> {
        list.as_slice().iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn one_topic_is_kept_inline_and_the_list_is_no_bigger_than_a_vec() {
        assert_eq!(
            std::mem::size_of::<TopicList>(),
            std::mem::size_of::<Vec<Arc<str>>>()
        );
        let mut list = TopicList::default();
        list.push(name(0));
        assert_eq!(list.heap_bytes(), 0);
        assert_eq!(names(&list), ["t0"]);
    }

    #[test]
    fn order_is_kept_through_growth_and_removal() {
        let mut list = TopicList::default();
        for n in 0..6 {
            list.push(name(n));
        }
        assert_eq!(names(&list), ["t0", "t1", "t2", "t3", "t4", "t5"]);
        list.remove("t2");
        list.remove("absent");
        assert_eq!(names(&list), ["t0", "t1", "t3", "t4", "t5"]);

        let mut one = TopicList::default();
        one.push(name(7));
        one.remove("t7");
        assert!(one.as_slice().is_empty());
        one.push(name(8));
        assert_eq!(names(&one), ["t8"]);
    }

    #[test]
    fn a_short_list_has_no_spare_room_and_a_long_one_grows_by_doubling() {
        let mut list = TopicList::default();
        for n in 0..SHORT {
            list.push(name(n));
            let len = list.as_slice().len();
            if len > 1 {
                assert_eq!(
                    list.heap_bytes(),
                    std::mem::size_of_val(list.as_slice()),
                    "spare room at {len} topics"
                );
            }
        }
        for n in SHORT..64 {
            list.push(name(n));
        }
        assert_eq!(list.as_slice().len(), 64);
        assert!(list.heap_bytes() < 128 * std::mem::size_of::<Arc<str>>());
    }

    #[test]
    fn a_left_list_takes_nothing_more() {
        let mut list = TopicList::default();
        list.push(name(0));
        list.push(name(1));
        assert_eq!(list.leave().len(), 2);
        assert!(!list.is_open());
        list.push(name(2));
        assert!(list.as_slice().is_empty());
        assert!(list.leave().is_empty());
    }
}
