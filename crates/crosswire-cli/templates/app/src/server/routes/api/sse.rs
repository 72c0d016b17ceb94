//! `GET /api/sse`: a clock over Server-Sent Events, `Message @ <time>` every
//! second, stopped as soon as the client goes away.

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use crosswire::prelude::*;
use tokio::time::{Instant, interval_at};

pub async fn handler(request: Request) -> Response {
    let event_stream = create_event_stream(&request);

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

    event_stream.on_closed(async move || {
        interval.abort();
    });

    event_stream.send()
}
