//! The demo hooks of crossws's test fixture, as a Crosswire handler.

use std::collections::BTreeMap;

use crosswire::prelude::*;
use serde_json::Value;

/// The handler served at `/`.
pub fn websocket() -> impl WebSocketHandler {
    hooks()
        .upgrade(|request: UpgradeRequest| async move { upgrade(&request) })
        .open(|peer: Peer| async move {
            let namespace = peer.request().path().to_owned();
            peer.send(format!(
                "Welcome to the server {peer} (namespace: {namespace})!"
            ));
            peer.subscribe("chat");
            peer.publish("chat", format!("{peer} joined!"));
        })
        .message(|peer: Peer, message: Message| async move {
            let text = message.text().into_owned();
            match text.as_str() {
                "ping" => peer.send("pong"),
                "binary" => peer.send(b"binary message works!"),
                "debug" => peer.send(debug(&peer)),
                "peers" => {
                    let ids: Vec<String> = peer.peers().iter().map(ToString::to_string).collect();
                    peer.send(json!({ "peers": ids }));
                }
                "waitForDrain" => {
                    // Like crossws, answer once drained without holding up
                    // the messages that follow.
                    tokio::spawn(async move {
                        peer.wait_for_drain().await;
                        peer.send("drained");
                    });
                }
                _ => {
                    peer.send(text.as_str());
                    peer.publish("chat", text);
                }
            }
        })
}

// The rejection is a whole HTTP response by design (the hook decides every
// byte of it); it is built once per refused upgrade, so its size is no cost.
#[allow(clippy::result_large_err)]
fn upgrade(request: &UpgradeRequest) -> UpgradeResult {
    if request.url().ends_with("?unauthorized") {
        return Err(unauthorized());
    }
    let mut accept = Accept::new()
        .header("x-powered-by", "cross-ws")
        .header("set-cookie", "cross-ws=1; SameSite=None; Secure")
        .context(json!({ "test": "1" }));
    if request.protocols().iter().any(|p| p == "supported") {
        accept = accept.protocol("supported");
    }
    Ok(accept)
}

fn unauthorized() -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (
        axum::http::StatusCode::UNAUTHORIZED,
        [
            ("content-type", "text/plain;charset=UTF-8"),
            ("x-error", "unauthorized"),
            ("www-authenticate", "Bearer realm=\"crossws\""),
        ],
        "unauthorized",
    )
        .into_response();
    response
        .extensions_mut()
        .insert(hyper_reason(b"Unauthorized"));
    response
}

fn hyper_reason(phrase: &'static [u8]) -> crosswire::ReasonPhrase {
    crosswire::ReasonPhrase::from_static(phrase)
}

/// What the `debug` command reports, shaped like crossws's fixture.
fn debug(peer: &Peer) -> Value {
    let request = peer.request();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in request.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let protocol = peer
        .protocol()
        .map(str::to_owned)
        .or_else(|| request.header("sec-websocket-protocol").map(str::to_owned))
        .unwrap_or_default();
    let extensions = request.extensions().unwrap_or_default().to_owned();
    let url = request.url().to_owned();
    let ws_url = url.replacen("http://", "ws://", 1);
    json!({
        "id": peer.to_string(),
        "remoteAddress": peer.remote_address().ip().to_string(),
        "bufferedAmount": peer.buffered_amount(),
        "context": peer.context::<Value>().cloned().unwrap_or(Value::Null),
        "request": { "url": url, "headers": headers },
        "websocket": {
            "readyState": if peer.is_open() { 1 } else { 2 },
            "protocol": protocol,
            "extensions": extensions,
            "url": ws_url,
            "binaryType": "arraybuffer",
            "bufferedAmount": peer.buffered_amount(),
        },
    })
}
