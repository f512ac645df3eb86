//! Lifetimes and switches of the authorization server. Defaults follow Make's documented values.

use super::jose::SigningAlgorithm;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Make documents 5 minutes (its examples show `expires_in: 3600`; see docs/compatibility.md).
    pub access_token_ttl_secs: i64,
    pub id_token_ttl_secs: i64,
    /// Make: 6 months.
    pub refresh_token_ttl_secs: i64,
    /// Make: single use, 5 minutes.
    pub code_ttl_secs: i64,
    /// How long after a rotation a retry of the same old refresh token is answered instead of being
    /// treated as a replay.
    pub refresh_grace_secs: i64,
    /// Make's public clients get no refresh token; an operator may allow them server-wide.
    pub public_clients_get_refresh_tokens: bool,
    /// Browser sessions at the authorization endpoint.
    pub session_ttl_secs: i64,
    /// What signs access tokens. RS256 by default: every RFC 9068 resource server must accept it (§2.1).
    /// ID tokens are RS256 whatever this says.
    pub access_token_algorithm: SigningAlgorithm,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 300,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 183 * 86_400,
            code_ttl_secs: 300,
            refresh_grace_secs: 30,
            public_clients_get_refresh_tokens: false,
            session_ttl_secs: 12 * 3600,
            access_token_algorithm: SigningAlgorithm::Rs256,
        }
    }
}

impl OAuthSettings {
    /// A retired signing key stays published this long after it stops signing, so that every token it
    /// signed can still be verified until it expires. The margin covers nodes that go on signing with it
    /// until their next key reload (every minute).
    pub fn key_retirement_secs(&self) -> i64 {
        self.access_token_ttl_secs.max(self.id_token_ttl_secs) + 120
    }
}
