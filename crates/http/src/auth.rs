//! Credentials: parsing `Authorization`, verifying API tokens through a bounded in-memory cache, and the
//! [`Caller`] that handlers receive.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use gatehouse_domain::api_token::TokenFormatError;
use gatehouse_domain::{ApiToken, ApiTokenSecret, Clock, ScopeSet, Timestamp, TokenHash, UserId};
use gatehouse_store::DynStore;
use moka::sync::Cache;

use crate::api::users::current_authorization_body;
use crate::credentials::{self, CredentialError, Presented};
use crate::error::ApiError;
use crate::oauth::runtime::{OAuthRuntime, TokenCheck, VerifiedAccessToken};
use crate::usage::{UsageCell, UsageRecorder};

/// How the caller authenticated, as `current-authorization` reports it.
#[derive(Debug, Clone)]
pub enum AuthMethod {
    /// An API token, identified by its per-user key.
    ApiToken { created: Timestamp },
    /// An OAuth access token (RFC 9068), issued to a client: its verified claims, shared with the cache.
    OAuth { token: Arc<VerifiedAccessToken> },
}

impl AuthMethod {
    const API_TOKEN_USED: &'static str = "token";
    const OAUTH_USED: &'static str = "oauth";

    /// Make's `authUsed` value.
    pub fn auth_used(&self) -> &'static str {
        match self {
            AuthMethod::ApiToken { .. } => Self::API_TOKEN_USED,
            AuthMethod::OAuth { .. } => Self::OAUTH_USED,
        }
    }
}

/// Who is calling, with what scopes. Built once per request by the route's requirement layer.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub scopes: ScopeSet,
    pub is_admin: bool,
    pub method: AuthMethod,
    /// The `current-authorization` body, rendered once per scope set and shared (see `RenderedBodies`);
    /// `None` when the credential did not come from the cache of verified tokens.
    pub authorization_body: Option<Bytes>,
    /// Which organizations the credential reaches. An OAuth grant reaches only the organization the user
    /// chose at consent.
    pub organizations: OrganizationLimit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganizationLimit {
    /// Every organization the user belongs to (API tokens; client credentials, which act as the owner).
    Any,
    Only(i64),
    /// A consent given while the user belonged to no organization.
    Nothing,
}

impl Caller {
    /// Whether the credential may reach this organization at all (membership is checked separately).
    pub fn reaches_organization(&self, id: i64) -> bool {
        match self.organizations {
            OrganizationLimit::Any => true,
            OrganizationLimit::Only(only) => only == id,
            OrganizationLimit::Nothing => false,
        }
    }

    pub fn is_oauth(&self) -> bool {
        matches!(self.method, AuthMethod::OAuth { .. })
    }
}

/// What a verified API token lets through, cached by hash.
#[derive(Debug, Clone)]
struct VerifiedToken {
    user_id: UserId,
    created: Timestamp,
    scopes: ScopeSet,
    /// Whether the token was issued for the zone this node serves. Decided once, at verification, so an
    /// entry holds no string of its own: the cache may hold up to `VERIFIED_CAPACITY` of them.
    in_this_zone: bool,
    expires_at: Option<Timestamp>,
    is_admin: bool,
    /// Where requests note their use, without a lock (see `usage`).
    usage: Arc<UsageCell>,
    authorization_body: Option<Bytes>,
}

pub struct Authenticator {
    store: DynStore,
    clock: Arc<dyn Clock>,
    zone: String,
    verified: Cache<TokenHash, Arc<VerifiedToken>>,
    rendered: RenderedBodies,
    pub usage: UsageRecorder,
    oauth: Arc<OAuthRuntime>,
}

/// `current-authorization` bodies, one per way of authenticating and distinct scope set, shared by every
/// credential with that set, so that the hot path sends shared bytes and a cache entry holds no body of
/// its own. Only a credential's first use asks (an API token's cache miss, an OAuth token's first use,
/// which it then keeps). Bounded: past `MAX_RENDERED` distinct sets, bodies are rendered per request.
#[derive(Default)]
struct RenderedBodies(RwLock<HashMap<(&'static str, ScopeSet), Bytes>>);

const MAX_RENDERED: usize = 4096;

impl RenderedBodies {
    fn for_scopes(&self, auth_used: &'static str, scopes: ScopeSet) -> Option<Bytes> {
        let key = (auth_used, scopes);
        if let Some(body) = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return Some(body.clone());
        }
        let mut rendered = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if rendered.len() >= MAX_RENDERED {
            return None;
        }
        let body = rendered.entry(key).or_insert_with(|| current_authorization_body(auth_used, scopes));
        Some(body.clone())
    }
}

/// How long a verified token is trusted without asking the store again. Deletions on this node
/// invalidate at once; the TTL bounds staleness for changes made elsewhere (a user's admin flag, say).
const VERIFIED_TTL: Duration = Duration::from_secs(60);
const VERIFIED_CAPACITY: u64 = 1_000_000;

impl Authenticator {
    pub fn new(store: DynStore, clock: Arc<dyn Clock>, zone: String, oauth: Arc<OAuthRuntime>) -> Self {
        Self {
            store,
            clock,
            zone,
            rendered: RenderedBodies::default(),
            oauth,
            verified: Cache::builder().max_capacity(VERIFIED_CAPACITY).time_to_live(VERIFIED_TTL).build(),
            usage: UsageRecorder::default(),
        }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Forgets a token at once, so that a deletion takes effect on the next request.
    pub fn invalidate(&self, hash: &TokenHash) {
        self.verified.invalidate(hash);
        self.usage.forget(hash);
    }

    /// Forgets every verified credential: for revocations that name no single token (a user's).
    pub fn invalidate_all(&self) {
        self.verified.invalidate_all();
    }

    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        match parse_authorization(headers)? {
            Presented::Token(secret) => self.verify_api_token(secret).await,
            Presented::Bearer(value) => {
                if ApiTokenSecret::parse(value).is_ok() {
                    return Err(ApiError::unauthorized(
                        "API tokens are sent with the Token scheme: Authorization: Token <api-token>. \
                         Bearer is for OAuth access tokens.",
                        Some("invalid_token"),
                    ));
                }
                self.verify_access_token(value).await
            }
            // Basic authenticates OAuth clients at the token endpoint, never a caller of the API.
            Presented::Basic { .. } => Err(malformed()),
        }
    }

    async fn verify_api_token(&self, secret: ApiTokenSecret) -> Result<Caller, ApiError> {
        let hash = secret.hash();
        let verified = match self.verified.get(&hash) {
            Some(verified) => verified,
            None => {
                let token = self.store.api_token_by_hash(&hash).await?;
                let Some(token) = token.filter(|token| token.hash.matches(&hash)) else {
                    return Err(invalid_token());
                };
                let user = self.store.user_by_id(token.user_id).await?.ok_or_else(invalid_token)?;
                let body = self.rendered.for_scopes(AuthMethod::API_TOKEN_USED, token.scopes);
                let verified = Arc::new(VerifiedToken::from_token(&token, user.is_admin, &self.zone, body));
                self.verified.insert(hash, verified.clone());
                verified
            }
        };
        let now = self.clock.now();
        if !verified.in_this_zone {
            return Err(ApiError::unauthorized(
                "The API token was issued for another zone. Generate a token in this zone.",
                Some("invalid_token"),
            ));
        }
        if verified.expires_at.is_some_and(|expires_at| expires_at <= now) {
            return Err(ApiError::unauthorized("The API token has expired.", Some("invalid_token")));
        }
        self.usage.note(&hash, &verified.usage, now);
        Ok(Caller {
            user_id: verified.user_id,
            scopes: verified.scopes,
            is_admin: verified.is_admin,
            method: AuthMethod::ApiToken { created: verified.created },
            authorization_body: verified.authorization_body.clone(),
            organizations: OrganizationLimit::Any,
        })
    }
}

impl Authenticator {
    /// An OAuth access token: RFC 9068 checks, then liveness (revocation takes effect at once), then the
    /// same scope rules as API tokens, limited to the organization chosen at consent.
    async fn verify_access_token(&self, token: &str) -> Result<Caller, ApiError> {
        match self.oauth.verify_access_token(token).await {
            Ok((verified, principal)) => {
                let claims = &verified.claims;
                let organizations = if verified.is_client_credentials() {
                    OrganizationLimit::Any
                } else {
                    claims.org_id.map_or(OrganizationLimit::Nothing, OrganizationLimit::Only)
                };
                Ok(Caller {
                    user_id: principal.user_id,
                    scopes: verified.scopes,
                    is_admin: principal.is_admin,
                    method: AuthMethod::OAuth { token: verified.clone() },
                    organizations,
                    authorization_body: verified
                        .authorization_body
                        .get_or_init(|| self.rendered.for_scopes(AuthMethod::OAUTH_USED, verified.scopes))
                        .clone(),
                })
            }
            Err(TokenCheck::Invalid(reason)) => {
                tracing::debug!(reason, "access token refused");
                Err(ApiError::unauthorized("The access token is invalid, expired or revoked.", Some("invalid_token")))
            }
            Err(TokenCheck::Internal(cause)) => Err(ApiError::internal(&cause)),
        }
    }
}

impl VerifiedToken {
    fn from_token(token: &ApiToken, is_admin: bool, zone: &str, authorization_body: Option<Bytes>) -> Self {
        Self {
            user_id: token.user_id,
            created: token.created,
            scopes: token.scopes,
            in_this_zone: token.zone == zone,
            expires_at: token.expires_at,
            is_admin,
            usage: Arc::default(),
            authorization_body,
        }
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthorized("The API token is invalid or has been deleted.", Some("invalid_token"))
}

/// The one `Authorization` header, as the API answers it: `Token` or `Bearer`, refusals in Make's schema.
fn parse_authorization(headers: &HeaderMap) -> Result<Presented<'_>, ApiError> {
    match credentials::presented(headers) {
        Ok(presented) => Ok(presented),
        Err(CredentialError::Missing) => Err(ApiError::unauthorized(
            "Authentication is required: send Authorization: Token <api-token> or Bearer <access-token>.",
            None,
        )),
        Err(CredentialError::Repeated) => {
            // RFC 6750 §3.1: a request with more than one credential is an invalid_request, answered 400.
            let mut error = ApiError::bad_request("Send exactly one Authorization header.");
            error.challenge = Some(crate::error::Challenge { error: Some("invalid_request"), scope: None });
            Err(error)
        }
        Err(CredentialError::Token(TokenFormatError::NotVersion4)) => Err(ApiError::unauthorized(
            "The API token is not a valid token: API tokens are version 4 UUIDs.",
            Some("invalid_token"),
        )),
        Err(CredentialError::Token(TokenFormatError::NotAUuid)) => Err(ApiError::unauthorized(
            "The API token is not a valid token: API tokens are UUIDs.",
            Some("invalid_token"),
        )),
        Err(CredentialError::NotText | CredentialError::Malformed | CredentialError::UnknownScheme | CredentialError::Basic(_)) => {
            Err(malformed())
        }
    }
}

fn malformed() -> ApiError {
    ApiError::unauthorized(
        "The Authorization header is malformed: use Authorization: Token <api-token>.",
        Some("invalid_request"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_with_the_same_scopes_share_one_rendered_body() {
        let rendered = RenderedBodies::default();
        let first = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let second = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        assert_eq!(first.as_ptr(), second.as_ptr(), "one allocation for every token with these scopes");
    }

    #[test]
    fn rendered_bodies_are_bounded() {
        let rendered = RenderedBodies::default();
        let first_twelve: Vec<_> = ScopeSet::catalog().take(12).collect();
        for bits in 0..MAX_RENDERED {
            let mut scopes = ScopeSet::EMPTY;
            for (index, scope) in first_twelve.iter().enumerate() {
                if bits & (1 << index) != 0 {
                    scopes.insert(*scope);
                }
            }
            assert!(rendered.for_scopes("token", scopes).is_some());
        }
        assert!(rendered.for_scopes("token", ScopeSet::all_api_scopes()).is_none(), "past the bound: rendered per request");
    }

    #[test]
    fn bodies_are_kept_apart_by_how_the_caller_authenticated() {
        let rendered = RenderedBodies::default();
        let token = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let oauth = rendered.for_scopes("oauth", ScopeSet::all_api_scopes()).expect("kept");
        assert!(token.starts_with(br#"{"authorization":{"authUsed":"token""#));
        assert!(oauth.starts_with(br#"{"authorization":{"authUsed":"oauth""#));
    }
}
