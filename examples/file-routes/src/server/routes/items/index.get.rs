//! `GET /items`.

pub async fn handler() -> &'static str {
    "list items"
}
