//! Limits that bound how much memory one connection's decoder may use, and
//! whether it inflates permessage-deflate messages.

use crate::deflate::InflateParams;

/// Frames per message allowed by default: far more than any client splits a
/// message into (browsers send one frame per message).
pub(crate) const DEFAULT_MAX_FRAGMENTS: usize = 1024;

/// Size limits enforced by a [`Decoder`](super::Decoder).
///
/// ```
/// use crosswire_proto::DecoderConfig;
///
/// let config = DecoderConfig::new(64 * 1024, 16 * 1024 * 1024);
/// assert_eq!(config.max_frame_size, 65536);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecoderConfig {
    /// Largest payload a single frame may declare; larger frames fail with close code 1009.
    pub max_frame_size: usize,
    /// Largest total payload of one message across its fragments; larger ones fail with 1009.
    /// For a compressed message this bounds the inflated size, and the
    /// inflater stops (1009) as soon as it would go past it.
    pub max_message_size: usize,
    /// Set when permessage-deflate was negotiated: RSV1 then marks a
    /// compressed message, inflated with these parameters. `None` (the
    /// default) refuses RSV1 like any other reserved bit.
    pub inflate: Option<InflateParams>,
    /// Most frames one message may arrive in; more fail with 1009. Without
    /// it a client could keep one message open forever with empty
    /// continuation frames, each costing the server a header parse.
    pub max_fragments: usize,
}

impl DecoderConfig {
    /// Limits of `max_frame_size` bytes per frame and `max_message_size` bytes per message.
    pub fn new(max_frame_size: usize, max_message_size: usize) -> Self {
        DecoderConfig {
            max_frame_size,
            max_message_size,
            inflate: None,
            max_fragments: DEFAULT_MAX_FRAGMENTS,
        }
    }

    /// The same limits, with messages of at most `max_fragments` frames.
    #[must_use]
    pub fn with_max_fragments(mut self, max_fragments: usize) -> Self {
        self.max_fragments = max_fragments;
        self
    }

    /// The same limits, with permessage-deflate negotiated as `params` says.
    ///
    /// ```
    /// use crosswire_proto::DecoderConfig;
    /// use crosswire_proto::deflate::InflateParams;
    ///
    /// let config = DecoderConfig::default().with_inflate(InflateParams {
    ///     window_bits: 15,
    ///     no_context_takeover: true,
    /// });
    /// assert!(config.inflate.is_some());
    /// ```
    #[must_use]
    pub fn with_inflate(mut self, params: InflateParams) -> Self {
        self.inflate = Some(params);
        self
    }
}

impl Default for DecoderConfig {
    /// 1 MiB for both limits.
    ///
    /// A decoder buffers a whole message before handing it over, so the
    /// message limit is also the memory one client can make the server hold.
    /// 1 MiB is far above what chat, JSON or event traffic needs, yet keeps ten
    /// thousand connections mid-message within about 10 GiB. The frame limit
    /// matches it because, without extensions, a single-frame message is the
    /// common case. Applications that move larger blobs should raise both.
    fn default() -> Self {
        const ONE_MIB: usize = 1 << 20;
        DecoderConfig::new(ONE_MIB, ONE_MIB)
    }
}
