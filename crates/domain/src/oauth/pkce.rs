//! PKCE (RFC 7636) with S256 only. `plain` is refused: it protects nothing against an attacker who can read
//! the authorization request (RFC 9700 §2.1.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::secret::constant_time_eq;

/// A `code_challenge` for the S256 method: the unpadded base64url of a SHA-256 digest, so 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    Missing,
    /// `plain` or any method other than S256.
    UnsupportedMethod,
    Malformed,
}

impl PkceError {
    pub fn description(self) -> &'static str {
        match self {
            PkceError::Missing => "code_challenge is required (PKCE with S256, RFC 7636).",
            PkceError::UnsupportedMethod => "code_challenge_method must be S256; plain is not supported.",
            PkceError::Malformed => "code_challenge must be the base64url SHA-256 of the verifier (43 characters).",
        }
    }
}

impl CodeChallenge {
    /// RFC 7636 §4.3. A missing method defaults to `plain` per §4.3, which we refuse, so the method is
    /// required in practice.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.filter(|c| !c.is_empty()).ok_or(PkceError::Missing)?;
        if method != Some("S256") {
            return Err(PkceError::UnsupportedMethod);
        }
        let valid = challenge.len() == 43
            && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|bytes| bytes.len() == 32);
        if valid { Ok(Self(challenge.to_string())) } else { Err(PkceError::Malformed) }
    }

    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`, compared in constant
    /// time. A verifier outside §4.1's grammar (43 to 128 unreserved characters) never verifies.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_valid_verifier(verifier) {
            return false;
        }
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        constant_time_eq(&computed, &self.0)
    }
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// For tests and clients: the S256 challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    #[test]
    fn rfc7636_appendix_b_example_verifies() {
        let challenge = CodeChallenge::parse(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256")).unwrap();
        assert!(challenge.verify(VERIFIER));
        assert!(!challenge.verify(&format!("{VERIFIER}x")));
    }

    #[test]
    fn plain_and_missing_methods_are_refused() {
        let c = s256_challenge(VERIFIER);
        assert_eq!(CodeChallenge::parse(Some(&c), Some("plain")), Err(PkceError::UnsupportedMethod));
        assert_eq!(CodeChallenge::parse(Some(&c), None), Err(PkceError::UnsupportedMethod));
        assert_eq!(CodeChallenge::parse(None, Some("S256")), Err(PkceError::Missing));
        assert_eq!(CodeChallenge::parse(Some("short"), Some("S256")), Err(PkceError::Malformed));
    }

    #[test]
    fn verifiers_outside_the_grammar_never_verify() {
        let short = "a".repeat(42);
        let challenge = CodeChallenge::parse(Some(&s256_challenge(&short)), Some("S256")).unwrap();
        assert!(!challenge.verify(&short));
        let long = "a".repeat(129);
        let challenge = CodeChallenge::parse(Some(&s256_challenge(&long)), Some("S256")).unwrap();
        assert!(!challenge.verify(&long));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&format!("{}!", "a".repeat(50))));
    }
}
