//! Machine-generated OAuth secrets: client secrets, authorization codes, refresh tokens, browser sessions.
//!
//! Each is 256 bits from the operating system's CSPRNG, shown as unpadded base64url (43 characters), and
//! stored only as the SHA-256 of its 32 bytes. 256 random bits need no slow hash (see stack notes), and the
//! 43-character shape can never be mistaken for an API token's UUIDv4.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::api_token::TokenHash;
use crate::random::Random;

pub const SECRET_BYTES: usize = 32;
/// Length of the base64url text of 32 bytes, without padding.
pub const SECRET_CHARS: usize = 43;

#[derive(Clone, PartialEq, Eq)]
pub struct OpaqueSecret([u8; SECRET_BYTES]);

impl OpaqueSecret {
    pub fn generate(random: &dyn Random) -> Self {
        Self(crate::random::bytes(random))
    }

    /// Parses the text form. Anything that is not exactly 43 base64url characters is not one of ours.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != SECRET_CHARS {
            return None;
        }
        let decoded = URL_SAFE_NO_PAD.decode(text).ok()?;
        <[u8; SECRET_BYTES]>::try_from(decoded.as_slice()).ok().map(Self)
    }

    pub fn reveal(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of_bytes(&self.0)
    }

    /// A value derived from this secret for another purpose (a CSRF token from a session secret, say):
    /// SHA-256 over a purpose label and the secret, so that knowing one never reveals the other.
    pub fn derive(&self, purpose: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.derive_key(purpose))
    }

    /// The 32 bytes [`derive`](Self::derive) encodes: a key for another purpose (sealing a one-time value
    /// to this session, say).
    pub fn derive_key(&self, purpose: &str) -> [u8; SECRET_BYTES] {
        let mut input = Vec::with_capacity(purpose.len() + 1 + SECRET_BYTES);
        input.extend_from_slice(purpose.as_bytes());
        input.push(0);
        input.extend_from_slice(&self.0);
        *TokenHash::of_bytes(&input).as_bytes()
    }
}

impl fmt::Debug for OpaqueSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OpaqueSecret(<redacted>)")
    }
}

/// A short random identifier that is not a secret (a token family, a JWT `jti`, a client id): 128 bits,
/// base64url.
pub fn random_id(random: &dyn Random) -> String {
    URL_SAFE_NO_PAD.encode(crate::random::bytes::<16>(random))
}

/// Compares two strings in constant time with respect to their contents.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_round_trip_and_are_never_uuid_shaped() {
        let secret = OpaqueSecret::generate(&crate::OsRandom);
        let text = secret.reveal();
        assert_eq!(text.len(), SECRET_CHARS);
        assert_eq!(OpaqueSecret::parse(&text), Some(secret.clone()));
        assert!(crate::ApiTokenSecret::parse(&text).is_err());
        assert!(OpaqueSecret::parse(&text[1..]).is_none());
        assert!(OpaqueSecret::parse(&format!("{}=", &text[1..])).is_none());
        assert!(!format!("{secret:?}").contains(&text));
    }

    #[test]
    fn derived_values_depend_on_purpose() {
        let secret = OpaqueSecret::generate(&crate::OsRandom);
        assert_ne!(secret.derive("csrf"), secret.derive("other"));
        assert_eq!(secret.derive("csrf"), secret.derive("csrf"));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
