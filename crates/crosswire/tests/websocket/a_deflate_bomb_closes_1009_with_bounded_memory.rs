use crosswire::config::Config;
use crosswire::prelude::*;
use flate2::{Compress, Compression, FlushCompress};
use tokio::io::AsyncWriteExt;

use crate::deflate_client::DeflateClient;
use crate::support::*;

const LIMIT: usize = 1 << 20;
const ATTACKERS: usize = 16;

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.trim().strip_suffix("kB"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Ten megabytes of zeros, compressed: about ten kilobytes.
fn bomb() -> Vec<u8> {
    let zeros = vec![0u8; 10 << 20];
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(64 << 10);
    compress
        .compress_vec(&zeros, &mut out, FlushCompress::Sync)
        .unwrap();
    assert_eq!(compress.total_in(), zeros.len() as u64);
    out.truncate(out.len() - 4);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deflate_bomb_closes_1009_and_the_server_never_inflates_it() {
    let mut config = Config::default();
    config.websocket.max_message_size = LIMIT;
    config.websocket.max_frame_size = LIMIT;
    let server = start(App::with_config(config).websocket(
        "/",
        hooks().message(|peer: Peer, message: Message| async move { peer.send(message) }),
    ))
    .await;
    let bomb = bomb();
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let frame = client_frame(0x80 | 0x40 | 0x2, &bomb);

    let mut clients = Vec::new();
    for _ in 0..ATTACKERS {
        clients.push(DeflateClient::connect(server.addr, "/", "permessage-deflate").await);
    }
    // Peak memory from here on, against what the process holds now.
    let before_kib = status_kib("VmRSS:");
    std::fs::write("/proc/self/clear_refs", "5").unwrap();

    for client in &mut clients {
        client.stream.write_all(&frame).await.unwrap();
    }
    for client in &mut clients {
        assert_eq!(raw_read_close(&mut client.stream).await, Some(1009));
    }
    let peak_kib = status_kib("VmHWM:");
    let grown = peak_kib.saturating_sub(before_kib) * 1024;
    // Inflating the bombs would take 16 × 10 MiB; each may reach the limit
    // (1 MiB) at most before it is refused.
    let bound = (ATTACKERS * LIMIT * 3) as u64;
    assert!(
        grown < bound,
        "peak memory grew by {grown} bytes, more than {bound}"
    );

    // The server is still there for a well-behaved client.
    let mut fine = connect(&server, "/").await;
    send_text(&mut fine, "after the storm").await;
    assert_eq!(next_text(&mut fine).await, "after the storm");
}
