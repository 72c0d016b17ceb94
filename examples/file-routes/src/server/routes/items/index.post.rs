//! `POST /items`: shares the route with `index.get.rs`; an extractor reads the body.

pub async fn handler(body: String) -> String {
    format!("created {body}")
}
