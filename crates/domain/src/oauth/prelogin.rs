//! The pre-login cookie: what a browser holds between the authorization request and a successful sign-in.
//!
//! It is stateless on purpose (issue 10, hole 6): an anonymous visitor proves nothing, so nothing durable is
//! written for one. The cookie carries its expiry and a random nonce, signed with HMAC-SHA-256 under a key
//! every node shares (kept in the store's settings); the login form's CSRF token is a second MAC over the
//! cookie, so only a page this server rendered for this cookie can post the form.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::random::Random;
use crate::time::Timestamp;

type HmacSha256 = Hmac<Sha256>;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 16;
/// Versioned, so the format can change without a valid old cookie being misread.
const VERSION: &str = "p1";

/// The key that signs pre-login cookies. Shown as base64url to be kept as a setting.
pub struct PreLoginKey([u8; KEY_BYTES]);

impl PreLoginKey {
    pub fn generate(random: &dyn Random) -> Self {
        Self(crate::random::bytes(random))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
        <[u8; KEY_BYTES]>::try_from(decoded.as_slice()).ok().map(Self)
    }

    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    fn mac(&self, purpose: &str, message: &str) -> HmacSha256 {
        // A MAC over any key length cannot fail to initialise; the fallback is never taken.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| <HmacSha256 as Mac>::new(&Default::default()));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message.as_bytes());
        mac
    }

    fn sign(&self, purpose: &str, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(purpose, message).finalize().into_bytes())
    }

    fn verify(&self, purpose: &str, message: &str, tag: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(tag) {
            // `verify_slice` compares in constant time.
            Ok(tag) => self.mac(purpose, message).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }

    /// A new pre-login cookie value, valid until `expires_at`.
    pub fn issue(&self, random: &dyn Random, expires_at: Timestamp) -> PreLogin {
        let nonce: [u8; NONCE_BYTES] = crate::random::bytes(random);
        let body = format!("{VERSION}.{}.{}", expires_at.as_millis(), URL_SAFE_NO_PAD.encode(nonce));
        let tag = self.sign("gatehouse-prelogin", &body);
        let value = format!("{body}.{tag}");
        let csrf = self.sign("gatehouse-prelogin-csrf", &value);
        PreLogin { value, csrf, expires_at }
    }

    /// The pre-login a cookie value stands for, if this key signed it and it has not expired.
    pub fn open(&self, value: &str, now: Timestamp) -> Option<PreLogin> {
        if value.len() > 200 {
            return None;
        }
        let (body, tag) = value.rsplit_once('.')?;
        if !self.verify("gatehouse-prelogin", body, tag) {
            return None;
        }
        let mut parts = body.split('.');
        let (Some(VERSION), Some(expires), Some(_nonce), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let expires_at = Timestamp::from_millis(expires.parse().ok()?);
        if expires_at <= now {
            return None;
        }
        let csrf = self.sign("gatehouse-prelogin-csrf", value);
        Some(PreLogin { value: value.to_string(), csrf, expires_at })
    }
}

/// A verified pre-login cookie and the CSRF token of the forms rendered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreLogin {
    pub value: String,
    csrf: String,
    pub expires_at: Timestamp,
}

impl PreLogin {
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn csrf_matches(&self, presented: &str) -> bool {
        crate::oauth::secret::constant_time_eq(presented, &self.csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;

    const NOW: Timestamp = Timestamp::from_millis(1_767_225_600_000);

    #[test]
    fn a_cookie_opens_under_its_key_until_it_expires() {
        let random = SeededRandom::new(1);
        let key = PreLoginKey::generate(&random);
        let issued = key.issue(&random, NOW.plus_secs(60));
        let opened = key.open(&issued.value, NOW).unwrap();
        assert_eq!(opened, issued);
        assert!(opened.csrf_matches(issued.csrf()));
        assert!(key.open(&issued.value, NOW.plus_secs(60)).is_none(), "expired");
        let other = PreLoginKey::generate(&random);
        assert!(other.open(&issued.value, NOW).is_none(), "another deployment's key");
        assert_eq!(PreLoginKey::parse(&key.to_text()).unwrap().open(&issued.value, NOW), Some(issued));
    }

    #[test]
    fn a_tampered_cookie_is_refused() {
        let random = SeededRandom::new(2);
        let key = PreLoginKey::generate(&random);
        let issued = key.issue(&random, NOW.plus_secs(60));
        let (body, tag) = issued.value.rsplit_once('.').unwrap();
        // A later expiry with the old tag.
        let extended = body.replacen(&NOW.plus_secs(60).as_millis().to_string(), &NOW.plus_secs(6000).as_millis().to_string(), 1);
        assert!(key.open(&format!("{extended}.{tag}"), NOW).is_none());
        let mut flipped = issued.value.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert!(key.open(std::str::from_utf8(&flipped).unwrap(), NOW).is_none());
        assert!(key.open("", NOW).is_none());
        assert!(key.open("p1.1.2", NOW).is_none());
        assert!(!issued.csrf_matches(&key.sign("gatehouse-prelogin", &issued.value)), "the CSRF token is its own MAC");
    }
}
