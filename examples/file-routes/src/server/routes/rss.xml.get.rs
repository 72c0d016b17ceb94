//! `GET /rss.xml`: dots other than the extension and method stay.

pub async fn handler() -> ([(&'static str, &'static str); 1], &'static str) {
    ([("content-type", "application/rss+xml")], "<rss/>")
}
