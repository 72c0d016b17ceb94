//! `GET /hello`: the `.get` suffix picks the method; other methods get 405.

pub async fn handler() -> &'static str {
    "hello"
}
