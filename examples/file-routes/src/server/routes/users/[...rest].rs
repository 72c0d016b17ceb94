//! `/users/{*rest}`: the catch-all beside `[id]` takes two segments or more.

use axum::extract::Path;

pub async fn handler(Path(rest): Path<String>) -> String {
    format!("users rest {rest}")
}
