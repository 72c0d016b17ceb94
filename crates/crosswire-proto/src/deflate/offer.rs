//! Parsing of a `Sec-WebSocket-Extensions` header (RFC 6455, section 9.1).
//!
//! The grammar is a comma-separated list of extensions, each a token followed
//! by `;`-separated parameters that are a token, optionally `=` a token or a
//! quoted string whose unescaped value must itself be a token. A header that
//! does not follow it is refused with `400`: guessing what a broken header
//! meant is how two parsers come to disagree about what was negotiated.
//!
//! The parser borrows from the header and allocates only the list.

/// One extension of the header, with its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension's name, such as `permessage-deflate`.
    pub name: &'a str,
    /// Each parameter's name and its value, if it has one. A quoted value is
    /// given without its quotes (it is a token, so it holds no escapes).
    pub params: Vec<(&'a str, Option<&'a str>)>,
}

/// A `Sec-WebSocket-Extensions` header that does not follow RFC 6455's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed sec-websocket-extensions header: {0}")]
pub struct ExtensionError(pub &'static str);

/// Parses a whole header value (several headers joined with `,`) into its
/// extensions, in order. Empty list elements are skipped, as RFC 9110 allows.
///
/// ```
/// use crosswire_proto::deflate::parse_extensions;
///
/// let list = parse_extensions("permessage-deflate; client_max_window_bits, x-foo")?;
/// assert_eq!(list[0].name, "permessage-deflate");
/// assert_eq!(list[0].params, [("client_max_window_bits", None)]);
/// assert_eq!(list[1].name, "x-foo");
/// assert!(parse_extensions("permessage-deflate; =1").is_err());
/// # Ok::<(), crosswire_proto::deflate::ExtensionError>(())
/// ```
///
/// # Errors
///
/// An [`ExtensionError`] naming the first rule the header breaks.
pub fn parse_extensions(header: &str) -> Result<Vec<Extension<'_>>, ExtensionError> {
    let mut parser = Parser {
        rest: header.as_bytes(),
        text: header,
    };
    let mut list = Vec::new();
    loop {
        parser.skip_ws();
        if parser.eat(b',') {
            continue;
        }
        if parser.rest.is_empty() {
            return Ok(list);
        }
        list.push(parser.extension()?);
        parser.skip_ws();
        if !parser.rest.is_empty() && !parser.eat(b',') {
            return Err(ExtensionError("expected `,` between extensions"));
        }
    }
}

/// A cursor over the header; `text` and `rest` end at the same place, so an
/// offset into `rest` maps back to a `&str` slice of the header.
struct Parser<'a> {
    rest: &'a [u8],
    text: &'a str,
}

impl<'a> Parser<'a> {
    fn extension(&mut self) -> Result<Extension<'a>, ExtensionError> {
        let name = self
            .token()
            .ok_or(ExtensionError("missing extension name"))?;
        let mut params = Vec::new();
        loop {
            self.skip_ws();
            if !self.eat(b';') {
                return Ok(Extension { name, params });
            }
            self.skip_ws();
            let param = self
                .token()
                .ok_or(ExtensionError("missing parameter name"))?;
            self.skip_ws();
            let value = if self.eat(b'=') {
                self.skip_ws();
                Some(self.value()?)
            } else {
                None
            };
            params.push((param, value));
        }
    }

    /// A token or a quoted string holding a token.
    fn value(&mut self) -> Result<&'a str, ExtensionError> {
        if !self.eat(b'"') {
            return self
                .token()
                .ok_or(ExtensionError("missing parameter value"));
        }
        let value = self
            .token()
            .ok_or(ExtensionError("a quoted value must be a token"))?;
        if !self.eat(b'"') {
            return Err(ExtensionError("unterminated or non-token quoted value"));
        }
        Ok(value)
    }

    fn token(&mut self) -> Option<&'a str> {
        let len = self.rest.iter().take_while(|&&b| is_tchar(b)).count();
        if len == 0 {
            return None;
        }
        let start = self.text.len() - self.rest.len();
        self.rest = &self.rest[len..];
        // Token characters are ASCII, so these offsets are character boundaries.
        self.text.get(start..start + len)
    }

    fn eat(&mut self, byte: u8) -> bool {
        match self.rest.split_first() {
            Some((&first, rest)) if first == byte => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    fn skip_ws(&mut self) {
        while let Some((&(b' ' | b'\t'), rest)) = self.rest.split_first() {
            self.rest = rest;
        }
    }
}

/// RFC 9110's `tchar`: the characters a token may contain.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::{Extension, parse_extensions};

    #[test]
    fn a_full_offer_list_parses_in_order() {
        let list = parse_extensions(
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10 , \
             permessage-deflate;server_no_context_takeover ;client_max_window_bits=\"12\"",
        )
        .expect("valid header");
        assert_eq!(
            list,
            [
                Extension {
                    name: "permessage-deflate",
                    params: vec![
                        ("client_max_window_bits", None),
                        ("server_max_window_bits", Some("10"))
                    ],
                },
                Extension {
                    name: "permessage-deflate",
                    params: vec![
                        ("server_no_context_takeover", None),
                        ("client_max_window_bits", Some("12"))
                    ],
                },
            ]
        );
    }

    #[test]
    fn empty_elements_are_skipped() {
        assert_eq!(parse_extensions(" , ,").expect("valid").len(), 0);
        assert_eq!(parse_extensions("a,,b").expect("valid").len(), 2);
    }

    #[test]
    fn malformed_headers_are_errors() {
        for header in [
            "permessage-deflate;",
            "permessage-deflate; =1",
            "permessage-deflate; a=",
            "permessage-deflate; a=\"1",
            "permessage-deflate; a=\"1 2\"",
            "permessage-deflate; a=\"\"",
            "permessage-deflate x",
            "per/message",
            ";a",
            "permessage-deflate; a=b=c",
        ] {
            assert!(parse_extensions(header).is_err(), "{header:?}");
        }
    }
}
