//! A secret shown once to the browser that created it (a new API token, a new client secret), carried across
//! one redirect in a cookie, sealed with AES-256-GCM under a key derived from that browser's session secret.
//!
//! Why a sealed cookie: the console answers a form post with a redirect (post/redirect/get), so that reloading
//! the page never posts the form again and never creates a second token. The new value has to reach the page
//! the redirect leads to, and it may not be stored anywhere on the server in the clear, nor put in a URL. The
//! key comes from the session's secret, which only that browser holds: a sealed value cannot be opened by
//! another session, and no node needs shared state to open it. The purpose label goes in as associated
//! data, so a sealed token is never shown as a sealed client secret.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::random::{self, Random};

/// The key bytes a sealed value is sealed under.
pub type SealingKey = [u8; 32];

/// Seals `plaintext` for `purpose`. The nonce is random (96 bits): a session seals a handful of values.
pub fn seal(key: &SealingKey, random: &dyn Random, purpose: &str, plaintext: &str) -> Option<String> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce_bytes: [u8; NONCE_LEN] = random::bytes(random);
    let mut in_out = plaintext.as_bytes().to_vec();
    key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(purpose.as_bytes()), &mut in_out)
        .ok()?;
    let mut sealed = Vec::with_capacity(NONCE_LEN + in_out.len());
    sealed.extend_from_slice(&nonce_bytes);
    sealed.extend_from_slice(&in_out);
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a value sealed by [`seal`] under the same key and purpose; `None` for anything else.
pub fn open(key: &SealingKey, purpose: &str, sealed: &str) -> Option<String> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let mut in_out = bytes.split_off(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(&bytes).ok()?;
    let plaintext = key.open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut in_out).ok()?;
    String::from_utf8(plaintext.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn a_sealed_value_opens_with_its_key_and_purpose_only() {
        let random = SeededRandom::new(7);
        let key = [1u8; 32];
        let sealed = seal(&key, &random, "api-token", "0f1e2d3c-secret").expect("sealed");
        assert!(!sealed.contains("secret"), "the value is not readable in the cookie");
        assert_eq!(open(&key, "api-token", &sealed).as_deref(), Some("0f1e2d3c-secret"));
        assert_eq!(open(&[2u8; 32], "api-token", &sealed), None, "another session's key");
        assert_eq!(open(&key, "client-secret", &sealed), None, "another purpose");
    }

    #[test]
    fn tampered_or_truncated_values_do_not_open() {
        let random = SeededRandom::new(8);
        let key = [3u8; 32];
        let sealed = seal(&key, &random, "p", "value").expect("sealed");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(open(&key, "p", &String::from_utf8(tampered).expect("ascii")), None);
        assert_eq!(open(&key, "p", &sealed[..10]), None);
        assert_eq!(open(&key, "p", "not base64 !"), None);
        assert_eq!(open(&key, "p", ""), None);
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let random = SeededRandom::new(9);
        let key = [4u8; 32];
        assert_ne!(seal(&key, &random, "p", "v"), seal(&key, &random, "p", "v"));
    }
}
