//! Bodies refused by their declared size, on every route: refused before a byte is read, and then drained
//! for a bounded while so that the refusal reaches the client (issue 10, holes 5 and 11).
//!
//! A server that answers 413 and closes with the client's body still arriving makes the kernel reset the
//! connection, and a client that writes its whole body before reading (fetch, undici: the official Make
//! SDK) then sees `EPIPE` instead of the 413. So the body is read and thrown away after the answer, up to
//! `EdgeLimits::drain_bytes` and within the request timeout; past either bound the connection is closed.

use axum::body::Body;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;

use crate::state::{EdgeLimits, MAX_BODY_BYTES};

/// Whether the request declares a body larger than any route accepts.
pub fn declared_too_large(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
}

/// Reads and discards `body` in the background, within the bounds of `limits`.
pub fn drain(body: Body, limits: &EdgeLimits) {
    let (most, within) = (limits.drain_bytes, limits.request_timeout);
    tokio::spawn(async move {
        let mut body = body;
        let discard = async {
            let mut seen: u64 = 0;
            while let Some(Ok(frame)) = body.frame().await {
                seen = seen.saturating_add(frame.data_ref().map_or(0, |data| data.len() as u64));
                if seen >= most {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(within, discard).await;
    });
}
