//! The limits a request counted against, told to the client.

use axum::http::{HeaderMap, HeaderValue};
use gatehouse_app::rate_limit::Quota;

/// draft-ietf-httpapi-ratelimit-headers: the limit the request counted against (the tightest when several
/// did), what is left of it, and the seconds until its window ends.
pub fn rate_limit_headers(headers: &mut HeaderMap, quota: Quota) {
    headers.insert("ratelimit-limit", HeaderValue::from(quota.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(quota.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(quota.reset_secs));
}
