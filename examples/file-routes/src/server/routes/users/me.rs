//! `/users/me`: a static segment beats the `[id]` parameter beside it.

pub async fn handler() -> &'static str {
    "me"
}
