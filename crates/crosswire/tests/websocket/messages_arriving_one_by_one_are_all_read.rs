//! A read that takes all the socket had clears the socket's readiness
//! without a second read; a message that lands right after it must still
//! wake the reader. Messages sent one write at a time, with pauses of every
//! length in between, must all come back, in order, on one worker and on
//! several.

use std::num::NonZeroUsize;
use std::time::Duration;

use crosswire::config::{Config, Workers};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

async fn every_message_comes_back(workers: usize) {
    let mut config = Config::default();
    config.server.workers = Workers::Count(NonZeroUsize::new(workers).unwrap());
    let server = start(echo_app(config)).await;
    let client = connect(&server, "/").await;
    let (mut write, mut read) = client.split();
    const MESSAGES: usize = 2000;
    let sender = tokio::spawn(async move {
        for n in 0..MESSAGES {
            write.send(WsMessage::text(n.to_string())).await.unwrap();
            match n % 7 {
                0 => tokio::time::sleep(Duration::from_micros(200)).await,
                1 | 2 => tokio::task::yield_now().await,
                _ => {}
            }
        }
        write
    });
    for n in 0..MESSAGES {
        let echoed = tokio::time::timeout(PATIENCE, read.next())
            .await
            .unwrap_or_else(|_| panic!("echo {n} never came"))
            .unwrap()
            .unwrap();
        assert_eq!(echoed, WsMessage::text(n.to_string()));
    }
    let _write = sender.await.unwrap();
}

#[tokio::test]
async fn on_one_worker() {
    every_message_comes_back(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_workers() {
    every_message_comes_back(2).await;
}

/// One worker serves on the caller's runtime, here a multi-threaded one,
/// whose I/O another thread may drive while a read runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_one_worker_of_a_multi_threaded_runtime() {
    every_message_comes_back(1).await;
}
