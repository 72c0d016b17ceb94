//! Every other method on `/items`: a method-less file beside method files is
//! their fallback, as in Nitro.

use axum::http::Method;

pub async fn handler(method: Method) -> String {
    format!("{method} items")
}
