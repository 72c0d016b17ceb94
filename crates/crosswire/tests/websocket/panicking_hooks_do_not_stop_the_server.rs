use crosswire::prelude::*;

use crate::support::*;

#[tokio::test]
async fn a_panic_in_a_message_hook_is_contained() {
    let handler = hooks().message(|peer: Peer, message: Message| async move {
        if message.text() == "boom" {
            panic!("handler bug");
        }
        peer.send(message);
    });
    let server = start(App::new().websocket("/", handler)).await;
    let mut first = connect(&server, "/").await;
    send_text(&mut first, "boom").await;
    send_text(&mut first, "after").await;
    assert_eq!(next_text(&mut first).await, "after");
    let mut second = connect(&server, "/").await;
    send_text(&mut second, "hello").await;
    assert_eq!(next_text(&mut second).await, "hello");
}

#[tokio::test]
async fn an_error_returned_by_a_hook_is_logged_and_the_connection_goes_on() {
    let handler = hooks().message(|peer: Peer, message: Message| async move {
        let n: u32 = message.text().parse()?;
        peer.send(n + 1);
        Ok::<(), std::num::ParseIntError>(())
    });
    let server = start(App::new().websocket("/", handler)).await;
    let mut client = connect(&server, "/").await;
    send_text(&mut client, "not a number").await;
    send_text(&mut client, "41").await;
    assert_eq!(next_text(&mut client).await, "42");
}

/// A hook of the user's own type whose `message` panics before it returns
/// its future.
struct PanicsBeforeItsFuture;

impl WebSocketHandler for PanicsBeforeItsFuture {
    #[allow(
        clippy::manual_async_fn,
        reason = "the panic must come before the future"
    )]
    fn message(&self, peer: Peer, message: Message) -> impl Future<Output = ()> + Send {
        assert_ne!(message.text(), "boom", "handler bug");
        async move {
            peer.send(message);
        }
    }
}

#[tokio::test]
async fn a_panic_before_a_hook_returns_its_future_is_contained() {
    // A closure that panics while making its future, and a handler type
    // that does: each peer goes on, and so do the others.
    let closure = hooks().message(|peer: Peer, message: Message| {
        assert_ne!(message.text(), "boom", "handler bug");
        async move {
            peer.send(message);
        }
    });
    let server = start(
        App::new()
            .websocket("/closure", closure)
            .websocket("/type", PanicsBeforeItsFuture),
    )
    .await;
    for path in ["/closure", "/type"] {
        let mut first = connect(&server, path).await;
        send_text(&mut first, "boom").await;
        send_text(&mut first, "after").await;
        assert_eq!(next_text(&mut first).await, "after", "{path}");
        let mut second = connect(&server, path).await;
        send_text(&mut second, "hello").await;
        assert_eq!(next_text(&mut second).await, "hello", "{path}");
    }
}
