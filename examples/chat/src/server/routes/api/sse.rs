//! The seed's event stream, line for line, as the route file the seed names
//! (`src/server/routes/api/sse.rs`, every method, as in Nitro): `/api/sse`
//! pushes `Message @ <local time>` every second, and the timer stops as soon
//! as the stream closes, including when the browser tab goes away.

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use crosswire::prelude::*;
use tokio::time::{Instant, interval_at};

/// `createEventStream(event)`, a one-second interval, `onClosed` clearing it.
pub async fn handler(request: Request) -> Response {
    let event_stream = create_event_stream(&request);

    // setInterval(..., 1000): the first message comes after one second.
    let clock = event_stream.clone();
    let every = Duration::from_secs(1);
    let interval = tokio::spawn(async move {
        let mut ticks = interval_at(Instant::now() + every, every);
        loop {
            ticks.tick().await;
            let now = chrono::Local::now().format("%H:%M:%S");
            clock.push(format!("Message @ {now}"));
        }
    });

    let closing = event_stream.clone();
    event_stream.on_closed(async move || {
        interval.abort(); // clearInterval(interval)
        closing.close(); // already closed by now; kept from the seed, and harmless
    });

    event_stream.send()
}
