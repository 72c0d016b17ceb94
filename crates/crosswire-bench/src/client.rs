//! A minimal WebSocket client made for load generation: a hand-written
//! handshake, masked frames written in batches, and a frame counter that skips
//! payloads without copying them. Being cheap per message matters more here
//! than features: the load generator must not be what limits a run.

use std::io;
use std::net::{IpAddr, SocketAddr};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// What a browser offers: permessage-deflate, letting the server pick the
/// client's window.
const DEFLATE_OFFER: &str =
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// Opens a TCP connection (from `source` if given) and performs the upgrade,
/// offering permessage-deflate if `deflate` is set (and failing if the server
/// declines it). Returns the socket and any bytes that arrived after the
/// `101` response.
///
/// The client itself sends uncompressed frames, which RFC 7692 allows, and
/// counts the server's frames without inflating them: what is measured is
/// the server's cost of compressing.
pub(crate) async fn connect(
    target: SocketAddr,
    path: &str,
    source: Option<IpAddr>,
    seed: &mut u64,
    deflate: bool,
) -> io::Result<(TcpStream, Vec<u8>)> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let mut stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let mut key = [0u8; 16];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&next_random(seed).to_le_bytes());
    }
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let offer = if deflate { DEFLATE_OFFER } else { "" };
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during handshake",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                let line = String::from_utf8_lossy(&buf[..buf.len().min(80)]).into_owned();
                return Err(io::Error::other(format!("upgrade refused: {line}")));
            }
            if deflate && !agreed_deflate(&buf[..end]) {
                return Err(io::Error::other("the server declined permessage-deflate"));
            }
            return Ok((stream, buf.split_off(end + 4)));
        }
        if buf.len() > 16 * 1024 {
            return Err(io::Error::other("handshake response too large"));
        }
    }
}

/// True if a response head accepts permessage-deflate.
fn agreed_deflate(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-extensions")
                && value.to_ascii_lowercase().contains("permessage-deflate")
        })
    })
}

/// xorshift64*: fast, deterministic, good enough for keys, masks and texts.
pub(crate) fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Appends one masked client frame to `out`.
pub(crate) fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

/// A random printable ASCII text of `len` bytes without quotes or backslashes.
pub(crate) fn random_text(seed: &mut u64, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_:;!?";
    (0..len)
        .map(|_| ALPHABET[(next_random(seed) % ALPHABET.len() as u64) as usize])
        .collect()
}

/// What the counter saw in a chunk of server bytes.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Seen {
    /// Complete data messages.
    pub(crate) messages: u64,
    /// A close frame arrived.
    pub(crate) closed: bool,
}

/// Counts complete server messages in a byte stream, across any splits,
/// without copying payloads. Pings are collected so the caller can answer.
#[derive(Debug, Default)]
pub(crate) struct FrameCounter {
    header: [u8; 10],
    header_len: usize,
    /// Payload bytes of the current frame still to skip.
    remaining: u64,
    in_payload: bool,
    current_fin: bool,
    current_opcode: u8,
    control: Vec<u8>,
    /// Payloads of pings to answer with pongs.
    pub(crate) pings: Vec<Vec<u8>>,
}

impl FrameCounter {
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Seen {
        let mut seen = Seen::default();
        while !data.is_empty() {
            if self.in_payload {
                let take = (self.remaining as usize).min(data.len());
                if self.current_opcode >= 8 {
                    self.control.extend_from_slice(&data[..take]);
                }
                data = &data[take..];
                self.remaining -= take as u64;
                if self.remaining == 0 {
                    self.finish_frame(&mut seen);
                }
                continue;
            }
            // Fast path: a whole header (and maybe the whole frame) in place.
            if self.header_len == 0 && data.len() >= 2 {
                let (len, header) = match data[1] & 0x7f {
                    126 if data.len() >= 4 => {
                        (u64::from(u16::from_be_bytes([data[2], data[3]])), 4)
                    }
                    127 if data.len() >= 10 => (
                        u64::from_be_bytes(data[2..10].try_into().unwrap_or([0; 8])),
                        10,
                    ),
                    126 | 127 => (0, 0),
                    n => (u64::from(n), 2),
                };
                if header > 0 {
                    self.current_fin = data[0] & 0x80 != 0;
                    self.current_opcode = data[0] & 0x0f;
                    self.control.clear();
                    self.remaining = len;
                    data = &data[header..];
                    if self.remaining == 0 {
                        self.finish_frame(&mut seen);
                    } else {
                        self.in_payload = true;
                    }
                    continue;
                }
            }
            // Gather the header: 2 bytes, then the extended length.
            self.header[self.header_len] = data[0];
            self.header_len += 1;
            data = &data[1..];
            if self.header_len < 2 {
                continue;
            }
            let needed = match self.header[1] & 0x7f {
                126 => 4,
                127 => 10,
                _ => 2,
            };
            if self.header_len < needed {
                continue;
            }
            self.remaining = match needed {
                4 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                10 => u64::from_be_bytes(self.header[2..10].try_into().unwrap_or([0; 8])),
                _ => u64::from(self.header[1] & 0x7f),
            };
            self.current_fin = self.header[0] & 0x80 != 0;
            self.current_opcode = self.header[0] & 0x0f;
            self.header_len = 0;
            self.control.clear();
            if self.remaining == 0 {
                self.finish_frame(&mut seen);
            } else {
                self.in_payload = true;
            }
        }
        seen
    }

    fn finish_frame(&mut self, seen: &mut Seen) {
        self.in_payload = false;
        match self.current_opcode {
            0x8 => seen.closed = true,
            0x9 => self.pings.push(std::mem::take(&mut self.control)),
            0xA => {}
            _ if self.current_fin => seen.messages += 1,
            _ => {}
        }
    }
}

/// The server address of a `ws://host:port/path` URL, refusing anything that
/// is not a loopback address: this tool only ever loads the local machine.
pub(crate) fn parse_url(url: &str) -> Result<(SocketAddr, String), String> {
    let rest = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url}: expected ws://host:port/path"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let authority = authority.replace("localhost", "127.0.0.1");
    let addr: SocketAddr = authority
        .parse()
        .map_err(|_| format!("{url}: expected a numeric loopback host:port"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{url}: refusing a non-loopback target"));
    }
    Ok((addr, path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(opcode: u8, len: usize) -> Vec<u8> {
        let mut frame = vec![0x80 | opcode];
        if len < 126 {
            frame.push(len as u8);
        } else if len <= 0xffff {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
        frame.extend(std::iter::repeat_n(b'x', len));
        frame
    }

    #[test]
    fn counts_messages_across_any_split() {
        let mut stream = Vec::new();
        for len in [0, 5, 125, 126, 300, 70_000] {
            stream.extend(server_frame(0x1, len));
        }
        stream.extend(server_frame(0x9, 3));
        stream.extend(server_frame(0x8, 2));
        for split in [1, 2, 3, 7, 1000, stream.len()] {
            let mut counter = FrameCounter::default();
            let mut total = Seen::default();
            for chunk in stream.chunks(split) {
                let seen = counter.feed(chunk);
                total.messages += seen.messages;
                total.closed |= seen.closed;
            }
            assert_eq!(total.messages, 6, "split {split}");
            assert!(total.closed);
            assert_eq!(counter.pings, vec![b"xxx".to_vec()]);
        }
    }

    #[test]
    fn a_deflate_answer_is_recognised_in_any_case() {
        assert!(agreed_deflate(
            b"HTTP/1.1 101 Switching Protocols\r\nSEC-WEBSOCKET-EXTENSIONS: permessage-deflate; server_no_context_takeover"
        ));
        assert!(!agreed_deflate(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket"
        ));
    }

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(parse_url("ws://127.0.0.1:4000/ws/chat").is_ok());
        assert!(parse_url("ws://localhost:4000/ws/chat").is_ok());
        assert!(parse_url("ws://10.0.0.1:4000/").is_err());
    }
}
