//! One page's reload WebSocket, over hyper and Crosswire's own codec.
//!
//! The channel only ever sends; from the page it needs nothing but the close
//! handshake and pongs, so this is a small loop rather than a WebSocket
//! stack. Which upgrades are the channel's is decided by
//! [`is_reload_upgrade`]: the configured path, and no subprotocol but ours,
//! so another tool's socket on the same path (Vite's `vite-hmr`) still goes
//! to the app.

use std::sync::Arc;

use bytes::BytesMut;
use crosswire_proto::{
    CloseFrame, Decoder, DecoderConfig, Event, OpCode, encode_close, encode_frame,
    is_upgrade_request, validate_request,
};
use http::header::{HeaderValue, SEC_WEBSOCKET_PROTOCOL};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::broadcast::error::RecvError;

use super::Hub;
use crate::proxy::{Body, text_response};

/// The subprotocol the reload script asks for.
pub(crate) const PROTOCOL: &str = "crosswire-reload";

/// Whether `request` is a page opening the reload channel at `path`.
pub(crate) fn is_reload_upgrade<B>(request: &Request<B>, path: &str) -> bool {
    if request.uri().path() != path || !is_upgrade_request(request.headers()) {
        return false;
    }
    let mut offered = request
        .headers()
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .peekable();
    // No subprotocol at all (a plain client), or ours among those offered.
    offered.peek().is_none() || offered.any(|p| p == PROTOCOL)
}

/// Answers the upgrade and serves the page's socket on its own task.
pub(crate) fn accept(hub: Arc<Hub>, mut request: Request<Incoming>) -> Response<Body> {
    let handshake = match validate_request(request.method(), request.version(), request.headers()) {
        Ok(handshake) => handshake,
        Err(error) => {
            let mut response = text_response(error.status(), &error.to_string());
            response.headers_mut().extend(error.response_headers());
            return response;
        }
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => serve(TokioIo::new(upgraded), &hub).await,
            Err(error) => {
                tracing::debug!(target: "crosswire::dev", %error, "reload upgrade failed")
            }
        }
    });
    let mut response = text_response(StatusCode::SWITCHING_PROTOCOLS, "");
    *response.headers_mut() = handshake.response_headers();
    if handshake.protocols().iter().any(|p| p == PROTOCOL) {
        response
            .headers_mut()
            .insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(PROTOCOL));
    }
    response
}

/// Sends the hub's messages to one page until either side goes away.
async fn serve(io: impl AsyncRead + AsyncWrite + Unpin, hub: &Hub) {
    let (mut reader, mut writer) = tokio::io::split(io);
    let (first, mut messages) = hub.subscribe();
    for message in first {
        if writer
            .write_all(&encode_frame(OpCode::Text, message.as_bytes()))
            .await
            .is_err()
        {
            return;
        }
    }
    // Pages send nothing but control frames, so small limits suffice.
    let mut decoder = Decoder::new(DecoderConfig::new(4096, 4096));
    let mut incoming = BytesMut::with_capacity(256);
    loop {
        let frame = tokio::select! {
            message = messages.recv() => match message {
                Ok(message) => encode_frame(OpCode::Text, message.as_bytes()),
                // It fell behind: whatever it missed, a reload catches up.
                Err(RecvError::Lagged(_)) => encode_frame(OpCode::Text, br#"{"type":"reload"}"#),
                // The dev server is stopping.
                Err(RecvError::Closed) => {
                    let _ = writer.write_all(&encode_close(Some(&CloseFrame::new(1001, "dev server stopping")))).await;
                    return;
                }
            },
            read = reader.read_buf(&mut incoming) => {
                if !matches!(read, Ok(n) if n > 0) {
                    return;
                }
                match answer(&mut decoder, &mut incoming) {
                    Answer::Nothing => continue,
                    Answer::Send(frame) => frame,
                    Answer::Close(frame) => {
                        let _ = writer.write_all(&frame).await;
                        return;
                    }
                }
            }
        };
        if writer.write_all(&frame).await.is_err() {
            return;
        }
    }
}

enum Answer {
    Nothing,
    Send(bytes::Bytes),
    Close(bytes::Bytes),
}

/// What to send back for what the page sent: pongs for pings, the closing
/// handshake for a close or a protocol error.
fn answer(decoder: &mut Decoder, incoming: &mut BytesMut) -> Answer {
    let mut pongs = BytesMut::new();
    loop {
        match decoder.decode(incoming) {
            Ok(Some(Event::Ping(payload))) => {
                pongs.extend_from_slice(&encode_frame(OpCode::Pong, &payload));
            }
            Ok(Some(Event::Close(_))) => return Answer::Close(encode_close(None)),
            Ok(Some(_)) => {}
            Ok(None) if pongs.is_empty() => return Answer::Nothing,
            Ok(None) => return Answer::Send(pongs.freeze()),
            Err(error) => {
                let close = CloseFrame::new(error.close_code(), "");
                return Answer::Close(encode_close(Some(&close)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade(path: &str, protocol: Option<&str>) -> Request<()> {
        let mut request = Request::get(path)
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .header("sec-websocket-version", "13");
        if let Some(protocol) = protocol {
            request = request.header("sec-websocket-protocol", protocol);
        }
        request.body(()).unwrap()
    }

    #[test]
    fn only_upgrades_to_the_channel_path_without_other_protocols_are_ours() {
        let path = "/__crosswire/reload";
        assert!(is_reload_upgrade(&upgrade(path, None), path));
        assert!(is_reload_upgrade(
            &upgrade("/__crosswire/reload?x=1", None),
            path
        ));
        assert!(is_reload_upgrade(
            &upgrade(path, Some("crosswire-reload")),
            path
        ));
        assert!(is_reload_upgrade(
            &upgrade(path, Some("x, crosswire-reload")),
            path
        ));
        assert!(!is_reload_upgrade(&upgrade(path, Some("vite-hmr")), path));
        assert!(!is_reload_upgrade(&upgrade("/api/ws/chat", None), path));
        assert!(!is_reload_upgrade(
            &upgrade("/__crosswire/reload/x", None),
            path
        ));
        let plain = Request::get(path).body(()).unwrap();
        assert!(!is_reload_upgrade(&plain, path));
    }
}
