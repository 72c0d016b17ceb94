//! `/`: `index` maps to its folder.

pub async fn handler() -> &'static str {
    "index"
}
