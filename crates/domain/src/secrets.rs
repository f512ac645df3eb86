//! Secrets kept at rest under keys the operator supplies (issue 10, hole 7): a read-only copy of the
//! database must not be enough to sign tokens. Like Hydra's `SECRETS_SYSTEM`, the operator gives a list of
//! secrets: the first encrypts, every one decrypts, so a secret is rotated by putting the new one first,
//! re-encrypting (`gatehouse keys reencrypt`), then dropping the old one.
//!
//! The cipher is AES-256-GCM from aws-lc-rs (already our JOSE backend); nothing here is hand-rolled. Each
//! operator secret becomes a 256-bit key through HKDF-SHA256, and each ciphertext is stored as
//! `MAGIC ‖ key id (4 bytes) ‖ nonce (12 bytes) ‖ ciphertext ‖ tag`, the key id naming the secret that
//! sealed it. The caller's associated data (a signing key's `kid`) binds a ciphertext to its row, so rows
//! cannot be swapped.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, KeyType, Salt};
use sha2::{Digest, Sha256};

use crate::random::Random;

/// What every sealed value starts with. A DER-encoded PKCS#8 key starts with 0x30, so a value written
/// before encryption existed is told apart by its first bytes.
const MAGIC: &[u8; 4] = b"ghs1";
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;
/// An operator secret this short is a password, not a key.
pub const MIN_SECRET_CHARS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("a secrets key must be at least {MIN_SECRET_CHARS} characters (e.g. `gatehouse keys generate-secret`)")]
    TooShort,
    #[error("no secrets key was given")]
    Empty,
    #[error("the value was sealed under secrets key {0}, which is not among the configured keys")]
    UnknownKey(String),
    #[error("the value does not decrypt under the configured secrets key (wrong key, or altered data)")]
    Undecryptable,
    #[error("the value is too short to be sealed")]
    Truncated,
    #[error("encryption failed")]
    Seal,
}

struct Len(usize);

impl KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// One operator secret, as a key.
#[derive(Clone)]
struct SecretsKey {
    id: [u8; KEY_ID_LEN],
    key: [u8; 32],
}

impl SecretsKey {
    fn derive(secret: &str) -> Result<Self, SecretsError> {
        let secret = secret.trim();
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(SecretsError::TooShort);
        }
        let prk = Salt::new(HKDF_SHA256, b"gatehouse secrets v1").extract(secret.as_bytes());
        let mut key = [0u8; 32];
        prk.expand(&[b"signing keys at rest"], Len(32)).and_then(|okm| okm.fill(&mut key)).map_err(|_| SecretsError::Seal)?;
        let digest = Sha256::new().chain_update(b"gatehouse secrets key id").chain_update(key).finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Ok(Self { id, key })
    }

    fn cipher(&self) -> Result<LessSafeKey, SecretsError> {
        Ok(LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.key).map_err(|_| SecretsError::Seal)?))
    }
}

/// The operator's secrets, newest first: the first seals, every one opens.
#[derive(Clone)]
pub struct SecretsKeys(Vec<SecretsKey>);

impl std::fmt::Debug for SecretsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretsKeys").field(&self.key_ids()).finish()
    }
}

impl SecretsKeys {
    /// Secrets, the sealing one first.
    pub fn from_secrets<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Result<Self, SecretsError> {
        let keys = secrets
            .into_iter()
            .map(str::trim)
            .filter(|secret| !secret.is_empty())
            .map(SecretsKey::derive)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(SecretsError::Empty);
        }
        Ok(Self(keys))
    }

    /// A list as an environment variable or a file holds it: separated by commas or line breaks; lines
    /// starting with `#` are comments.
    pub fn parse_list(text: &str) -> Result<Self, SecretsError> {
        Self::from_secrets(text.lines().filter(|line| !line.trim_start().starts_with('#')).flat_map(|line| line.split(',')))
    }

    /// The ids of the keys, the sealing one first (hex), for logs and `gatehouse keys list`.
    pub fn key_ids(&self) -> Vec<String> {
        self.0.iter().map(|key| hex(&key.id)).collect()
    }

    /// Encrypts `plaintext` under the first key, bound to `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8], random: &dyn Random) -> Result<Vec<u8>, SecretsError> {
        let key = self.0.first().ok_or(SecretsError::Empty)?;
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut sealed = Vec::with_capacity(HEADER_LEN + plaintext.len() + AES_256_GCM.tag_len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&key.id);
        sealed.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        key.cipher()?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut body)
            .map_err(|_| SecretsError::Seal)?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Decrypts a value [`seal`](Self::seal) wrote, under whichever configured key sealed it.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SecretsError> {
        if !is_sealed(sealed) {
            return Err(SecretsError::Truncated);
        }
        if sealed.len() < HEADER_LEN + AES_256_GCM.tag_len() {
            return Err(SecretsError::Truncated);
        }
        let id = &sealed[MAGIC.len()..MAGIC.len() + KEY_ID_LEN];
        let key = self.0.iter().find(|key| key.id == id).ok_or_else(|| SecretsError::UnknownKey(hex(id)))?;
        let nonce = Nonce::try_assume_unique_for_key(&sealed[MAGIC.len() + KEY_ID_LEN..HEADER_LEN])
            .map_err(|_| SecretsError::Truncated)?;
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plaintext = key.cipher()?.open_in_place(nonce, Aad::from(aad), &mut body).map_err(|_| SecretsError::Undecryptable)?;
        Ok(plaintext.to_vec())
    }

    /// Whether `sealed` is sealed under the first key (so re-encryption may leave it).
    pub fn sealed_under_first(&self, sealed: &[u8]) -> bool {
        is_sealed(sealed) && self.0.first().is_some_and(|key| sealed[MAGIC.len()..MAGIC.len() + KEY_ID_LEN] == key.id)
    }
}

/// Whether a stored value is sealed (rather than plaintext written before encryption at rest).
pub fn is_sealed(stored: &[u8]) -> bool {
    stored.len() >= HEADER_LEN && stored.starts_with(MAGIC)
}

/// A new random secret for an operator to keep: 256 bits, base64url.
pub fn generate_secret(random: &dyn Random) -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    const OLD: &str = "an-old-operator-secret-of-at-least-32-characters";
    const NEW: &str = "a-new-operator-secret-of-at-least-32-characters!";

    #[test]
    fn sealed_values_open_under_any_listed_key_and_only_with_their_aad() {
        let random = SeededRandom::new(1);
        let old = SecretsKeys::from_secrets([OLD]).unwrap();
        let sealed = old.seal(b"pkcs8", b"kid-1", &random).unwrap();
        assert!(is_sealed(&sealed));
        assert!(!sealed.windows(5).any(|window| window == b"pkcs8"), "the plaintext is not in the ciphertext");
        assert_eq!(old.open(&sealed, b"kid-1").unwrap(), b"pkcs8");
        assert_eq!(old.open(&sealed, b"kid-2"), Err(SecretsError::Undecryptable), "bound to its row");
        let rotated = SecretsKeys::from_secrets([NEW, OLD]).unwrap();
        assert_eq!(rotated.open(&sealed, b"kid-1").unwrap(), b"pkcs8", "every listed key opens");
        assert!(!rotated.sealed_under_first(&sealed));
        assert!(rotated.sealed_under_first(&rotated.seal(b"pkcs8", b"kid-1", &random).unwrap()));
        let new_only = SecretsKeys::from_secrets([NEW]).unwrap();
        assert!(matches!(new_only.open(&sealed, b"kid-1"), Err(SecretsError::UnknownKey(_))));
    }

    #[test]
    fn short_or_missing_secrets_are_refused_and_lists_parse() {
        assert_eq!(SecretsKeys::from_secrets(["short"]).err(), Some(SecretsError::TooShort));
        assert_eq!(SecretsKeys::parse_list(" \n# only a comment\n").err(), Some(SecretsError::Empty));
        let list = SecretsKeys::parse_list(&format!("{NEW},{OLD}")).unwrap();
        assert_eq!(list.key_ids().len(), 2);
        let lines = SecretsKeys::parse_list(&format!("# newest first\n{NEW}\n{OLD}\n")).unwrap();
        assert_eq!(lines.key_ids(), list.key_ids());
        assert!(!is_sealed(&[0x30, 0x82, 0x04, 0xbe]), "DER PKCS#8 is not sealed");
    }
}
