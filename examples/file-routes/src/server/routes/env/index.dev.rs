//! `/env` in debug builds and under `crosswire dev`, for every method.

/// Says which file answered.
pub async fn handler() -> &'static str {
    "dev"
}
