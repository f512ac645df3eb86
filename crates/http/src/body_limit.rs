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

/// Wraps a request body that may be found too large only while it is read (chunked, undeclared): if the
/// handler drops it after more than the limit went through, the rest is drained as above. A body dropped
/// for any other reason (a timeout, a handler that never reads) is not: draining a slow body would only
/// give a slow client more time.
pub fn drain_if_refused(request: axum::extract::Request, limits: &EdgeLimits) -> axum::extract::Request {
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return request;
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(DrainOnDrop { inner: Some(body), seen: 0, ended: false, limits: *limits });
    axum::extract::Request::from_parts(parts, body)
}

struct DrainOnDrop {
    inner: Option<Body>,
    seen: u64,
    ended: bool,
    limits: EdgeLimits,
}

impl http_body::Body for DrainOnDrop {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let Some(inner) = self.inner.as_mut() else { return std::task::Poll::Ready(None) };
        let polled = std::pin::Pin::new(inner).poll_frame(cx);
        match &polled {
            std::task::Poll::Ready(Some(Ok(frame))) => {
                let length = frame.data_ref().map_or(0, |data| data.len() as u64);
                self.seen = self.seen.saturating_add(length);
            }
            std::task::Poll::Ready(None | Some(Err(_))) => self.ended = true,
            std::task::Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.as_ref().map(http_body::Body::size_hint).unwrap_or_default()
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        if self.ended || self.seen <= MAX_BODY_BYTES as u64 {
            return;
        }
        // Dropped outside a runtime (at shutdown), there is nobody left to answer: just close.
        if let (Some(body), Ok(_)) = (self.inner.take(), tokio::runtime::Handle::try_current()) {
            drain(body, &self.limits);
        }
    }
}
