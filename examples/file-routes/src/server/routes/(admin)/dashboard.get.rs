//! `GET /dashboard`: the `(admin)` group folder leaves no trace in the URL.

pub async fn handler() -> &'static str {
    "dashboard"
}
