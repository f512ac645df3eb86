//! Request ids: the one a client (or the proxy in front) sent in `X-Request-Id` when it is sane, else one of
//! ours. Every response carries it back and the request log names it, so one request can be followed from
//! the proxy's log through ours to the client's report.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use gatehouse_domain::Random;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// A client's id is taken as it is only when it is short and plain: it is written into every log line, so
/// it must not be able to forge a line, smuggle markup, or fill the disk.
const MAX_LEN: usize = 64;

/// The request's id, in the request's extensions for whatever wants to name it (the audit log, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub HeaderValue);

impl RequestId {
    pub fn as_str(&self) -> &str {
        // Only ids that passed `is_sane` or that we made (hex and a dash) are ever held.
        self.0.to_str().unwrap_or_default()
    }
}

/// 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn is_sane(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

/// Makes this node's ids: a prefix drawn once from the injected randomness, so ids of different nodes and
/// of different starts never meet, and a counter, so that making one costs an atomic add and no syscall.
#[derive(Debug)]
pub struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl RequestIds {
    pub fn new(random: &dyn Random) -> Self {
        let mut bytes = [0u8; 6];
        random.fill(&mut bytes);
        let prefix = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        Self { prefix, next: AtomicU64::new(1) }
    }

    /// The client's id when it is sane, else a new one of ours.
    pub fn for_request(&self, headers: &HeaderMap) -> RequestId {
        match headers.get(HEADER) {
            Some(value) if is_sane(value.as_bytes()) => RequestId(value.clone()),
            _ => self.generate(),
        }
    }

    pub fn generate(&self) -> RequestId {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{number:x}", self.prefix);
        // Hex digits and a dash are always a valid header value.
        RequestId(HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("unknown")))
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::SeededRandom;

    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_sane(b"abc-123_X.y"));
        assert!(is_sane(&[b'a'; 64]));
        assert!(!is_sane(&[b'a'; 65]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"a b"));
        assert!(!is_sane(b"a\"}{"));
        assert!(!is_sane("é".as_bytes()));
    }

    #[test]
    fn a_generated_id_is_sane_and_new_each_time() {
        let ids = RequestIds::new(&SeededRandom::new(7));
        let first = ids.generate();
        let second = ids.generate();
        assert_ne!(first, second);
        assert!(is_sane(first.0.as_bytes()), "{}", first.as_str());
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_static("from-the-proxy.1"));
        assert_eq!(ids.for_request(&headers).as_str(), "from-the-proxy.1");
        headers.insert(HEADER, HeaderValue::from_static("not sane"));
        assert_ne!(ids.for_request(&headers).as_str(), "not sane");
    }
}
