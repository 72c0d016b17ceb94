//! Every path no other route matches: the unnamed catch-all, whose parameter
//! is `_` as in Nitro.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;

pub async fn handler(Path(params): Path<HashMap<String, String>>) -> (StatusCode, String) {
    let rest = params.get("_").cloned().unwrap_or_default();
    (StatusCode::NOT_FOUND, format!("nothing at /{rest}"))
}
