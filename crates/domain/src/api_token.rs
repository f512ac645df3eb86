//! Make's API tokens: a random UUIDv4 shown once, stored only as a hash, keyed per user by `created`.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::ValidationError;
use crate::identity::UserId;
use crate::scope::ScopeSet;
use crate::time::Timestamp;

/// The plain value of an API token. It exists only between its creation and the response that shows it
/// once, or between parsing a request header and hashing it. `Debug` never prints it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ApiTokenSecret(Uuid);

/// Why a presented value is not an API token at all. Every variant answers 401 at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormatError {
    NotAUuid,
    /// A UUID, but not version 4 with the RFC 9562 variant: Gatehouse never issued it.
    NotVersion4,
}

impl ApiTokenSecret {
    /// A fresh token: 122 random bits, shaped as a version 4 UUID with the RFC 9562 variant.
    pub fn generate(random: &dyn crate::random::Random) -> Self {
        Self(uuid::Builder::from_random_bytes(crate::random::bytes(random)).into_uuid())
    }

    /// Accepts exactly the shape the official SDK recognises as an API token: 36 characters, hyphenated,
    /// version 4, RFC variant, hex in either case.
    pub fn parse(text: &str) -> Result<Self, TokenFormatError> {
        if text.len() != 36 {
            return Err(TokenFormatError::NotAUuid);
        }
        let uuid = Uuid::try_parse(text).map_err(|_| TokenFormatError::NotAUuid)?;
        if uuid.get_version_num() != 4 || uuid.get_variant() != uuid::Variant::RFC4122 {
            return Err(TokenFormatError::NotVersion4);
        }
        Ok(Self(uuid))
    }

    /// The value to hand to the user, once: lowercase hyphenated.
    pub fn reveal(&self) -> String {
        self.0.hyphenated().to_string()
    }

    /// The first UUID group, which Make keeps readable in listings.
    pub fn prefix(&self) -> String {
        self.reveal()[..8].to_string()
    }

    /// SHA-256 of the 16 UUID bytes. A 122-bit random secret needs no slow hash or pepper, and a fast one
    /// gives an attacker no CPU lever on the hot path.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of_bytes(self.0.as_bytes())
    }
}

impl fmt::Debug for ApiTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiTokenSecret(<redacted>)")
    }
}

/// The stored form of any machine-generated secret: its SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn from_stored(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex: how a hash travels in revocation events.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[index * 2..index * 2 + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// Constant-time comparison, for the places where a hash is compared rather than looked up.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// A token's label: free text, as in Make's UI, trimmed, 1 to 255 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLabel(String);

impl TokenLabel {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::new("The label must not be empty."));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(format!("The label must be at most {} characters.", Self::MAX_CHARS)));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new("The label must not contain control characters."));
        }
        Ok(Self(trimmed.to_string()))
    }

    /// For values read back from the store, which were validated on the way in.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A validated request to create a token. Tokens are never edited afterwards (Make: delete and recreate).
#[derive(Debug, Clone)]
pub struct NewApiTokenRequest {
    pub label: TokenLabel,
    pub scopes: ScopeSet,
    pub expires_at: Option<Timestamp>,
}

impl NewApiTokenRequest {
    pub fn new(
        label: &str,
        scope_names: &[impl AsRef<str>],
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        let label = TokenLabel::parse(label)?;
        let scopes = ScopeSet::parse_names(scope_names.iter().map(AsRef::as_ref))?;
        if let Some(scope) = scopes.iter().find(|scope| !scope.is_api_scope()) {
            return Err(ValidationError::new(format!("{scope} is an OpenID Connect scope, not an API scope.")));
        }
        if let Some(expires_at) = expires_at
            && expires_at <= now
        {
            return Err(ValidationError::new("The expiry must be in the future."));
        }
        Ok(Self { label, scopes, expires_at })
    }
}

/// A stored API token. It never holds the plain value.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub user_id: UserId,
    /// Make's key for a token: unique per user, millisecond precision.
    pub created: Timestamp,
    pub label: TokenLabel,
    pub scopes: ScopeSet,
    pub hash: TokenHash,
    pub prefix: String,
    /// Tokens are valid only in the zone that issued them (Make: "generate separate tokens for each zone").
    pub zone: String,
    pub expires_at: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
}

impl ApiToken {
    /// The listed form: the first UUID group readable, the rest masked, so that a client can still
    /// recognise its own token by prefix (as third-party Make clients do).
    pub fn masked(&self) -> String {
        format!("{}-****-****-****-************", self.prefix)
    }

    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|expires_at| expires_at <= now)
    }
}

/// Parses a duration such as `90d`, `12h`, `30m`, `45s` or `2w` into seconds.
pub fn parse_duration_secs(text: &str) -> Result<i64, ValidationError> {
    let text = text.trim();
    let invalid = || ValidationError::new(format!("Invalid duration {text:?}: use a number followed by s, m, h, d or w."));
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits.parse().map_err(|_| invalid())?;
    let unit_secs = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid()),
    };
    match amount.checked_mul(unit_secs) {
        Some(secs) if secs > 0 && secs <= 100 * 365 * 86_400 => Ok(secs),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_uuid_v4_and_parse_back() {
        let token = ApiTokenSecret::generate(&crate::OsRandom);
        let text = token.reveal();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4");
        assert_eq!(ApiTokenSecret::parse(&text), Ok(token));
        assert_eq!(ApiTokenSecret::parse(&text.to_uppercase()), Ok(token));
    }

    #[test]
    fn version_1_uuids_and_other_shapes_are_refused() {
        assert_eq!(ApiTokenSecret::parse("c232ab00-9414-11ec-b3c8-9f6bdeced846"), Err(TokenFormatError::NotVersion4));
        assert_eq!(ApiTokenSecret::parse("c232ab0094144c11b3c89f6bdeced846"), Err(TokenFormatError::NotAUuid));
        assert_eq!(ApiTokenSecret::parse("{c232ab00-9414-4c11-b3c8-9f6bdeced846}"), Err(TokenFormatError::NotAUuid));
        assert_eq!(ApiTokenSecret::parse("eyJhbGciOiJSUzI1NiJ9.e30.sig"), Err(TokenFormatError::NotAUuid));
    }

    #[test]
    fn hash_depends_on_the_value_and_debug_never_shows_it() {
        let a = ApiTokenSecret::generate(&crate::OsRandom);
        let b = ApiTokenSecret::generate(&crate::OsRandom);
        assert!(a.hash().matches(&a.hash()));
        assert!(!a.hash().matches(&b.hash()));
        assert!(!format!("{a:?}").contains(&a.prefix()));
    }

    #[test]
    fn hashes_round_trip_through_hex() {
        let hash = ApiTokenSecret::generate(&crate::OsRandom).hash();
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert_eq!(TokenHash::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn labels_are_trimmed_unicode_is_fine_control_characters_are_not() {
        assert_eq!(TokenLabel::parse("  ci 🚀 déploiement ").unwrap().as_str(), "ci 🚀 déploiement");
        assert!(TokenLabel::parse("   ").is_err());
        assert!(TokenLabel::parse("a\u{0}b").is_err());
        assert!(TokenLabel::parse(&"é".repeat(255)).is_ok());
        assert!(TokenLabel::parse(&"é".repeat(256)).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration_secs("45"), Ok(45));
        assert!(parse_duration_secs("0s").is_err());
        assert!(parse_duration_secs("-5m").is_err());
        assert!(parse_duration_secs("5y").is_err());
        assert!(parse_duration_secs("99999999999999999w").is_err());
    }
}
