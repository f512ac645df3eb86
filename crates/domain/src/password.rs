//! Passwords: argon2id with the crate defaults (m=19456 KiB, t=2, p=1: the OWASP minimum), as PHC strings.
//!
//! These are slow on purpose and hold 19 MiB each: callers run them off the async threads.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ValidationError;
use crate::random::Random;

pub const MIN_CHARS: usize = 8;
pub const MAX_BYTES: usize = 1024;

pub fn check_policy(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() < MIN_CHARS {
        return Err(ValidationError::new(format!("The password must be at least {MIN_CHARS} characters.")));
    }
    if password.len() > MAX_BYTES {
        return Err(ValidationError::new(format!("The password must be at most {MAX_BYTES} bytes.")));
    }
    Ok(())
}

/// The salt's bytes are drawn before the (slow) hashing, so callers can draw them on the async thread and
/// hash on a blocking one.
pub fn salt(random: &dyn Random) -> [u8; 16] {
    crate::random::bytes(random)
}

pub fn hash(password: &str, salt: [u8; 16]) -> String {
    let salt = match SaltString::encode_b64(&salt) {
        Ok(salt) => salt,
        // 16 bytes is within the PHC salt limits; this cannot fail.
        Err(error) => unreachable!("a 16-byte salt was refused: {error}"),
    };
    match Argon2::default().hash_password(password.as_bytes(), &salt) {
        Ok(hash) => hash.to_string(),
        // Only reachable with parameters out of range, which the defaults are not.
        Err(error) => unreachable!("argon2 default parameters rejected: {error}"),
    }
}

/// Verifies in constant time (the argon2 crate compares the digests with `subtle`).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// A fixed hash to verify against when the account does not exist, so that "no such user" and "wrong
/// password" take the same time.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("gatehouse-timing-equaliser", *b"gatehouse-dummy!"))
}

/// A generated password for the first-start administrator: 24 characters from a 62-letter alphabet.
pub fn generate(random: &dyn Random) -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut password = String::with_capacity(24);
    while password.len() < 24 {
        let [byte] = crate::random::bytes::<1>(random);
        // Rejection sampling: 248 = 4 × 62, so every letter is equally likely.
        if byte < 248 {
            password.push(char::from(ALPHABET[usize::from(byte % 62)]));
        }
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash("correct horse battery", salt(&crate::OsRandom));
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterz", &phc));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn policy() {
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough").is_ok());
        assert!(check_policy(&"x".repeat(2000)).is_err());
    }
}
