//! Scraping a server's metrics over HTTP, as Prometheus does.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use crate::exposition::{Exposition, parse};
use crate::support::{PATIENCE, raw_http};

/// An HTTP response's status, headers (lower-cased names) and body.
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Sends `GET path` to `addr` and reads the whole answer.
pub async fn get(addr: SocketAddr, path: &str) -> HttpAnswer {
    let raw = raw_http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpAnswer {
        status,
        headers,
        body,
    }
}

/// Decodes a chunked body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// Scrapes `path` on `addr`, checks the answer is the text format, and
/// parses it strictly.
pub async fn scrape(addr: SocketAddr, path: &str) -> Exposition {
    let answer = get(addr, path).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let content_type = answer
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    match parse(&answer.body) {
        Ok(exposition) => exposition,
        Err(error) => panic!("{error}\n{}", answer.body),
    }
}

/// Scrapes until `check` holds (counters move a little after the traffic
/// that moves them: a writer counts once its batch is written).
pub async fn scrape_until(
    addr: SocketAddr,
    path: &str,
    what: &str,
    check: impl Fn(&Exposition) -> bool,
) -> Exposition {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let exposition = scrape(addr, path).await;
        if check(&exposition) {
            return exposition;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen in {:#?}",
            exposition.families
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
