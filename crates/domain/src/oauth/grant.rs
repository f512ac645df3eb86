//! Consent, codes, refresh tokens and the families that tie every token to the grant it came from.

use crate::api_token::TokenHash;
use crate::identity::UserId;
use crate::ids::{FamilyId, GrantId, Kid, OrganizationId};
use crate::scope::ScopeSet;
use crate::time::Timestamp;

use super::client::{ClientId, RedirectUri};
use super::pkce::CodeChallenge;

/// What a user consented to: a client, scopes, and the organization the access applies to.
#[derive(Debug, Clone)]
pub struct Grant {
    pub id: GrantId,
    pub user_id: UserId,
    pub client_id: ClientId,
    pub organization_id: Option<OrganizationId>,
    pub scopes: ScopeSet,
    pub created: Timestamp,
    pub last_used: Option<Timestamp>,
}

/// `prompt` (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Whether the consent page must be shown: always for `prompt=consent`, and whenever scopes beyond the
/// remembered consent are asked for.
pub fn needs_consent(remembered: Option<&Grant>, requested: ScopeSet, prompt: Prompt) -> bool {
    if prompt.consent {
        return true;
    }
    match remembered {
        Some(grant) => !requested.is_subset_of(grant.scopes),
        None => true,
    }
}

/// Everything issued from one authorization code (or one client-credentials request) shares a family.
/// Revoking the family revokes its refresh tokens and makes its access tokens fail at once.
#[derive(Debug, Clone)]
pub struct TokenFamily {
    pub id: FamilyId,
    pub client_id: ClientId,
    pub user_id: Option<UserId>,
    pub grant_id: Option<GrantId>,
    pub created: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub hash: TokenHash,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub grant_id: GrantId,
    pub family_id: FamilyId,
    pub redirect_uri: RedirectUri,
    /// Whether the authorization request carried `redirect_uri` (rather than leaving it to the one
    /// registered): then the token request must carry the identical value (RFC 6749 §4.1.3).
    pub redirect_uri_in_request: bool,
    pub scopes: ScopeSet,
    pub organization_id: Option<OrganizationId>,
    pub challenge: CodeChallenge,
    pub nonce: Option<String>,
    pub auth_time: Timestamp,
    pub created: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

impl AuthorizationCode {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at <= now
    }
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub hash: TokenHash,
    pub family_id: FamilyId,
    /// The token this one replaced, if any.
    pub parent_hash: Option<TokenHash>,
    pub client_id: ClientId,
    pub user_id: UserId,
    pub grant_id: GrantId,
    /// RFC 6749 §6: every rotation keeps the original scope, whatever narrower scope an access token got.
    pub scopes: ScopeSet,
    pub organization_id: Option<OrganizationId>,
    pub auth_time: Timestamp,
    pub created: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// What presenting a refresh token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshVerdict {
    /// Unused and valid: rotate it.
    Rotate,
    /// Already rotated, but within the grace window: a retry of a request whose answer was lost. Answer it
    /// with a fresh pair and keep the family.
    GraceRetry,
    /// Already rotated, after the grace window, or superseded by a retry while its family lives: someone
    /// holds a copy. Revoke the whole family (RFC 9700 §4.14.2).
    Replay,
    Expired,
    Revoked,
}

/// `family_live` is whether the token's family still stands. Within a live family a token is revoked by
/// itself only when a grace retry superseded it: the party that retried holds the family's newest token,
/// so whoever presents the superseded one is the other party (or the retry was the other party's), and
/// RFC 9700 §4.14.2 says the family ends.
pub fn judge_refresh(token: &RefreshToken, family_live: bool, now: Timestamp, grace_secs: i64) -> RefreshVerdict {
    if !family_live {
        return RefreshVerdict::Revoked;
    }
    if token.revoked_at.is_some() {
        return RefreshVerdict::Replay;
    }
    match token.used_at {
        Some(used_at) if now < used_at.plus_secs(grace_secs) => RefreshVerdict::GraceRetry,
        Some(_) => RefreshVerdict::Replay,
        None if token.expires_at <= now => RefreshVerdict::Expired,
        None => RefreshVerdict::Rotate,
    }
}

/// A browser session at the authorization endpoint. Anonymous until the user logs in.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub hash: TokenHash,
    pub user_id: Option<UserId>,
    pub auth_time: Option<Timestamp>,
    pub created: Timestamp,
    pub expires_at: Timestamp,
}

/// An RSA signing key, kept in the store. It signs until a newer key exists, and stays published (and
/// trusted) until `retire_at`.
#[derive(Clone)]
pub struct SigningKeyRecord {
    pub kid: Kid,
    pub private_pkcs8: Vec<u8>,
    pub created: Timestamp,
    pub retire_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord").field("kid", &self.kid).field("created", &self.created).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(used_at: Option<i64>) -> RefreshToken {
        RefreshToken {
            hash: TokenHash::of_bytes(b"x"),
            family_id: "f".into(),
            parent_hash: None,
            client_id: ClientId::from_stored("c".into()),
            user_id: UserId(1),
            grant_id: crate::ids::GrantId(1),
            scopes: ScopeSet::EMPTY,
            organization_id: None,
            auth_time: Timestamp::from_millis(0),
            created: Timestamp::from_millis(0),
            expires_at: Timestamp::from_millis(1_000_000),
            used_at: used_at.map(Timestamp::from_millis),
            revoked_at: None,
        }
    }

    #[test]
    fn refresh_verdicts_follow_the_grace_window() {
        assert_eq!(judge_refresh(&token(None), true, Timestamp::from_millis(10), 30), RefreshVerdict::Rotate);
        assert_eq!(judge_refresh(&token(Some(0)), true, Timestamp::from_millis(29_999), 30), RefreshVerdict::GraceRetry);
        assert_eq!(judge_refresh(&token(Some(0)), true, Timestamp::from_millis(30_000), 30), RefreshVerdict::Replay);
        assert_eq!(judge_refresh(&token(None), true, Timestamp::from_millis(1_000_000), 30), RefreshVerdict::Expired);
    }

    /// RFC 9700 §4.14.2: a token superseded by a grace retry, presented while its family lives, is a replay;
    /// in a revoked family every token is merely revoked.
    #[test]
    fn a_superseded_token_in_a_live_family_is_a_replay() {
        let superseded = RefreshToken { revoked_at: Some(Timestamp::from_millis(5)), ..token(None) };
        assert_eq!(judge_refresh(&superseded, true, Timestamp::from_millis(10), 30), RefreshVerdict::Replay);
        assert_eq!(judge_refresh(&superseded, false, Timestamp::from_millis(10), 30), RefreshVerdict::Revoked);
        assert_eq!(judge_refresh(&token(None), false, Timestamp::from_millis(10), 30), RefreshVerdict::Revoked);
    }

    #[test]
    fn consent_is_remembered_unless_new_scopes_or_prompt_consent() {
        let read = ScopeSet::parse_names(["teams:read"]).unwrap();
        let both = ScopeSet::parse_names(["teams:read", "teams:write"]).unwrap();
        let grant = Grant {
            id: crate::ids::GrantId(1),
            user_id: UserId(1),
            client_id: ClientId::from_stored("c".into()),
            organization_id: Some(crate::ids::OrganizationId(1)),
            scopes: read,
            created: Timestamp::from_millis(0),
            last_used: None,
        };
        assert!(!needs_consent(Some(&grant), read, Prompt::default()));
        assert!(needs_consent(Some(&grant), both, Prompt::default()));
        assert!(needs_consent(Some(&grant), read, Prompt { consent: true, ..Prompt::default() }));
        assert!(needs_consent(None, read, Prompt::default()));
    }
}
