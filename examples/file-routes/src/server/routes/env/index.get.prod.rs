//! `GET /env` in release builds started outside `crosswire dev`.

/// Says which file answered.
pub async fn handler() -> &'static str {
    "prod"
}
