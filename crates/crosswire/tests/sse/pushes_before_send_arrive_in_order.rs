use crosswire::prelude::*;

use crate::client::*;
use crate::support::*;

#[tokio::test]
async fn pushes_made_before_send_come_first_and_in_order() {
    let (route, mut streams) = stream_route(|stream| {
        // Far more than one write's worth, all before the response exists.
        for n in 0..500 {
            stream.push(format!("before {n}"));
        }
    });
    let server = start(App::new().route("/events", route)).await;
    let mut client = SseClient::get(server.addr, "/events", "").await;
    let stream = next_stream(&mut streams).await;
    for n in 0..500 {
        stream.push(format!("after {n}"));
    }
    for n in 0..500 {
        assert_eq!(client.next_data().await, format!("data: before {n}\n\n"));
    }
    for n in 0..500 {
        assert_eq!(client.next_data().await, format!("data: after {n}\n\n"));
    }
    stream.close();
    assert_eq!(client.read_to_end().await, "");
}
