//! `GET /files/{*path}`: a named catch-all.

use axum::extract::Path;

pub async fn handler(Path(path): Path<String>) -> String {
    format!("file {path}")
}
