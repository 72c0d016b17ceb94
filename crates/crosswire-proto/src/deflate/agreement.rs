//! Choosing a permessage-deflate offer and the answer to it (RFC 7692, section 7.1).
//!
//! A client lists offers in its order of preference; the server accepts the
//! first one it can honour. An offer with an unknown parameter, a repeated
//! parameter or a bad value is declined, not the whole handshake: the next
//! offer (or no compression at all) still gives the client a connection.

use super::offer::{ExtensionError, parse_extensions};
use super::{MAX_WINDOW_BITS, MIN_ENGINE_WINDOW_BITS};

/// The extension's registered name.
const NAME: &str = "permessage-deflate";

/// What the server asks for beyond what the client offered.
///
/// ```
/// use crosswire_proto::deflate::Policy;
///
/// // Every message compressed on its own, in both directions.
/// let policy = Policy::default().server_no_context_takeover(true).client_no_context_takeover(true);
/// assert!(policy.wants_server_no_context_takeover());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
}

impl Policy {
    /// Answer `server_no_context_takeover` even when the client did not
    /// offer it: every server message is compressed on its own, so the same
    /// compressed bytes are valid for every client.
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Answer `client_no_context_takeover` even when the client did not
    /// offer it (section 7.1.1.2 allows it): the server then keeps no
    /// inflate state between client messages.
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Whether [`server_no_context_takeover`](Self::server_no_context_takeover) is on.
    pub fn wants_server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }
}

/// An accepted offer: the parameters both sides now follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<u8>,
}

/// What the [`Inflater`](super::Inflater) of a connection needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InflateParams {
    /// The window the client was granted (`client_max_window_bits`, else 15).
    pub window_bits: u8,
    /// The client starts every message with an empty window, so no inflate
    /// state needs to survive between messages.
    pub no_context_takeover: bool,
}

impl Agreement {
    /// True if every server message is compressed with an empty window.
    pub fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// True if every client message is compressed with an empty window.
    pub fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The largest window the server may use (base-2 logarithm, 8 to 15).
    pub fn server_window_bits(&self) -> u8 {
        self.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS)
    }

    /// The window the client was granted (base-2 logarithm, 8 to 15).
    pub fn client_window_bits(&self) -> u8 {
        self.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS)
    }

    /// What the decoder needs to inflate this client's messages.
    pub fn inflate_params(&self) -> InflateParams {
        InflateParams {
            window_bits: self.client_window_bits(),
            no_context_takeover: self.client_no_context_takeover,
        }
    }

    /// True if a server message of `len` bytes, compressed on its own with
    /// any window, stays within the window the client allows.
    ///
    /// A back-reference inside one message never reaches further than the
    /// bytes before it in that message, so a message no longer than the
    /// client's window is valid whatever window compressed it. That is how a
    /// window of 8 bits (which zlib cannot produce) is honoured, and how one
    /// compressed form is shared by clients with different windows: longer
    /// messages go to those clients uncompressed, which RFC 7692 allows.
    pub fn fits_window(&self, len: usize) -> bool {
        len <= 1 << self.server_window_bits()
    }

    /// The window a context-keeping compressor for this client uses: what was
    /// agreed, raised to the engine's minimum of 9 (an agreement at 8 always
    /// has `server_no_context_takeover`, see [`negotiate`]).
    pub fn deflate_window_bits(&self) -> u8 {
        self.server_window_bits().max(MIN_ENGINE_WINDOW_BITS)
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 response.
    ///
    /// ```
    /// use crosswire_proto::deflate::{negotiate, Policy};
    ///
    /// let agreement = negotiate("permessage-deflate; client_max_window_bits=10", Policy::default())?
    ///     .expect("an acceptable offer");
    /// assert_eq!(agreement.response(), "permessage-deflate; client_max_window_bits=10");
    /// # Ok::<(), crosswire_proto::deflate::ExtensionError>(())
    /// ```
    pub fn response(&self) -> String {
        let mut out = String::from(NAME);
        if self.server_no_context_takeover {
            out.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if let Some(bits) = self.client_max_window_bits {
            out.push_str(&format!("; client_max_window_bits={bits}"));
        }
        out
    }
}

/// Accepts the first permessage-deflate offer of `header` that the server can
/// honour, or `None` if there is none (the connection then runs uncompressed).
///
/// The answer echoes what the offer asked for: `server_max_window_bits=N` is
/// agreed as offered (a request of 8 also turns on `server_no_context_takeover`,
/// see [`Agreement::fits_window`]), `client_max_window_bits=N` is granted as
/// offered, and a `client_max_window_bits` without a value is left out, so
/// the client keeps a window of 15. `policy` adds the no-context-takeover
/// parameters the server wants.
///
/// ```
/// use crosswire_proto::deflate::{negotiate, Policy};
///
/// let offers = "permessage-deflate; x-unknown, permessage-deflate; server_max_window_bits=12";
/// let agreement = negotiate(offers, Policy::default())?.expect("the second offer is fine");
/// assert_eq!(agreement.server_window_bits(), 12);
/// assert_eq!(negotiate("x-webkit-deflate-frame", Policy::default())?, None);
/// assert!(negotiate("permessage-deflate;", Policy::default()).is_err());
/// # Ok::<(), crosswire_proto::deflate::ExtensionError>(())
/// ```
///
/// # Errors
///
/// An [`ExtensionError`] when the header does not parse (answer `400`).
pub fn negotiate(header: &str, policy: Policy) -> Result<Option<Agreement>, ExtensionError> {
    let offers = parse_extensions(header)?;
    Ok(offers
        .iter()
        .filter(|offer| offer.name.eq_ignore_ascii_case(NAME))
        .find_map(|offer| accept(&offer.params, policy)))
}

/// The agreement for one offer, or `None` to decline it.
fn accept(params: &[(&str, Option<&str>)], policy: Policy) -> Option<Agreement> {
    let mut server_nct = false;
    let mut client_nct = false;
    let mut server_bits = None;
    // `Some(None)`: offered without a value.
    let mut client_bits: Option<Option<u8>> = None;
    for &(name, value) in params {
        match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" if !server_nct && value.is_none() => server_nct = true,
            "client_no_context_takeover" if !client_nct && value.is_none() => client_nct = true,
            "server_max_window_bits" if server_bits.is_none() => {
                server_bits = Some(window_bits(value?)?);
            }
            "client_max_window_bits" if client_bits.is_none() => {
                client_bits = Some(match value {
                    Some(value) => Some(window_bits(value)?),
                    None => None,
                });
            }
            // Unknown, repeated or given a value it may not have.
            _ => return None,
        }
    }
    let server_nct = server_nct
        || policy.server_no_context_takeover
        || server_bits.is_some_and(|bits| bits < MIN_ENGINE_WINDOW_BITS);
    Some(Agreement {
        server_no_context_takeover: server_nct,
        client_no_context_takeover: client_nct || policy.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits.flatten(),
    })
}

/// A window size parameter: a decimal 8 to 15 without leading zeros.
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

#[cfg(test)]
mod tests {
    use super::{Policy, negotiate};

    fn agree(header: &str) -> Option<String> {
        negotiate(header, Policy::default())
            .expect("well-formed header")
            .map(|a| a.response())
    }

    #[test]
    fn a_bare_offer_is_accepted_as_is() {
        assert_eq!(
            agree("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn all_four_parameters_are_echoed() {
        assert_eq!(
            agree(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=11"
            )
            .as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits=11"
            )
        );
    }

    #[test]
    fn client_max_window_bits_without_a_value_keeps_the_default_window() {
        let agreement = negotiate(
            "permessage-deflate; client_max_window_bits",
            Policy::default(),
        )
        .expect("valid")
        .expect("accepted");
        assert_eq!(agreement.response(), "permessage-deflate");
        assert_eq!(agreement.client_window_bits(), 15);
    }

    #[test]
    fn bad_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=9",
        ] {
            assert_eq!(agree(bad), None, "{bad}");
            let with_fallback = format!("{bad}, permessage-deflate; client_no_context_takeover");
            assert_eq!(
                agree(&with_fallback).as_deref(),
                Some("permessage-deflate; client_no_context_takeover"),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_extensions_are_ignored() {
        assert_eq!(agree("x-foo; bar=1"), None);
        assert_eq!(
            agree("x-foo, PerMessage-Deflate").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn a_window_of_8_turns_off_server_context_takeover() {
        let agreement = negotiate(
            "permessage-deflate; server_max_window_bits=8",
            Policy::default(),
        )
        .expect("valid")
        .expect("accepted");
        assert!(agreement.server_no_context_takeover());
        assert!(agreement.fits_window(256));
        assert!(!agreement.fits_window(257));
        assert_eq!(agreement.deflate_window_bits(), 9);
    }

    #[test]
    fn the_policy_adds_no_context_takeover() {
        let policy = Policy::default()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true);
        let agreement = negotiate("permessage-deflate", policy)
            .expect("valid")
            .expect("accepted");
        assert_eq!(
            agreement.response(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(agreement.inflate_params().no_context_takeover);
    }
}
