//! A raw WebSocket client that speaks permessage-deflate with flate2, for
//! the compression tests (tokio-tungstenite does not implement the extension).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{PATIENCE, client_frame, raw_upgrade_with};

const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];

/// One frame from the server, with its payload as sent (still compressed if `rsv1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub opcode: u8,
    pub rsv1: bool,
    pub payload: Vec<u8>,
}

/// A connected client, and what the server answered to its offer.
pub struct DeflateClient {
    pub stream: TcpStream,
    /// The `Sec-WebSocket-Extensions` of the 101, if any.
    pub extensions: Option<String>,
    read: Vec<u8>,
    compress: Compress,
    decompress: Decompress,
    /// The server resets its window per message.
    server_no_context_takeover: bool,
    /// We reset ours per message (we were told to).
    client_no_context_takeover: bool,
}

impl DeflateClient {
    /// Connects to `path` offering `offer` as `Sec-WebSocket-Extensions`.
    pub async fn connect(addr: SocketAddr, path: &str, offer: &str) -> Self {
        let extra = format!("Sec-WebSocket-Extensions: {offer}\r\n");
        let (stream, head) = raw_upgrade_with(addr, path, &extra).await;
        let extensions = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        let agreed = extensions.clone().unwrap_or_default();
        Self {
            stream,
            read: Vec::new(),
            compress: Compress::new(Compression::default(), false),
            decompress: Decompress::new(false),
            server_no_context_takeover: agreed.contains("server_no_context_takeover"),
            client_no_context_takeover: agreed.contains("client_no_context_takeover"),
            extensions,
        }
    }

    /// Compresses `data` as one message, as a browser would.
    pub fn deflate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        let mut input = data;
        loop {
            out.reserve(1024);
            let before = self.compress.total_in();
            self.compress
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .unwrap();
            input = &input[(self.compress.total_in() - before) as usize..];
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out.is_empty() {
            // Nothing new since the last flush: the lone empty stored block
            // of RFC 7692 section 7.2.3.6.
            return vec![0x00];
        }
        assert!(out.ends_with(&TAIL));
        out.truncate(out.len() - TAIL.len());
        if self.client_no_context_takeover {
            self.compress.reset();
        }
        out
    }

    /// Sends a text message, compressed (RSV1) or not.
    pub async fn send_text(&mut self, text: &str, compressed: bool) {
        let frame = if compressed {
            let payload = self.deflate(text.as_bytes());
            client_frame(0x80 | 0x40 | 0x1, &payload)
        } else {
            client_frame(0x81, text.as_bytes())
        };
        self.stream.write_all(&frame).await.unwrap();
    }

    /// The next unfragmented frame from the server (pings included).
    pub async fn next_frame(&mut self) -> Frame {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(frame) = self.parse() {
                return frame;
            }
            let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut buf))
                .await
                .expect("no frame in time")
                .unwrap();
            assert!(n > 0, "connection ended");
            self.read.extend_from_slice(&buf[..n]);
        }
    }

    /// The next data message, inflated if it was compressed, with whether it was.
    pub async fn next_text(&mut self) -> (String, bool) {
        loop {
            let frame = self.next_frame().await;
            match frame.opcode {
                0x9 | 0xA => continue,
                0x1 => {
                    let text = if frame.rsv1 {
                        self.inflate(&frame.payload)
                    } else {
                        frame.payload
                    };
                    return (String::from_utf8(text).unwrap(), frame.rsv1);
                }
                other => panic!("expected text, got opcode {other:#x}: {frame:?}"),
            }
        }
    }

    fn inflate(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() * 4 + 64);
        let mut input: Vec<u8> = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut rest = &input[..];
        loop {
            out.reserve(4096);
            let before = self.decompress.total_in();
            self.decompress
                .decompress_vec(rest, &mut out, FlushDecompress::Sync)
                .unwrap();
            rest = &rest[(self.decompress.total_in() - before) as usize..];
            if rest.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if self.server_no_context_takeover {
            self.decompress.reset(false);
        }
        out
    }

    fn parse(&mut self) -> Option<Frame> {
        let data = &self.read;
        if data.len() < 2 {
            return None;
        }
        let (len, header) = match data[1] & 0x7f {
            126 if data.len() >= 4 => (usize::from(u16::from_be_bytes([data[2], data[3]])), 4),
            127 if data.len() >= 10 => (
                u64::from_be_bytes(data[2..10].try_into().unwrap()) as usize,
                10,
            ),
            126 | 127 => return None,
            n => (usize::from(n), 2),
        };
        if data.len() < header + len {
            return None;
        }
        assert_ne!(data[0] & 0x80, 0, "the server does not fragment");
        let frame = Frame {
            opcode: data[0] & 0x0f,
            rsv1: data[0] & 0x40 != 0,
            payload: data[header..header + len].to_vec(),
        };
        self.read.drain(..header + len);
        Some(frame)
    }
}
