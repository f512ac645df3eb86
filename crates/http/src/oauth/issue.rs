//! Minting tokens: RFC 9068 access tokens, OIDC ID tokens, and opaque rotating refresh tokens.

use gatehouse_domain::oauth::jose::{ACCESS_TOKEN_TYP, AccessTokenClaims, ID_TOKEN_TYP, IdTokenClaims, at_hash};
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{ClientType, OAuthClient, OpaqueSecret, RefreshToken};
use gatehouse_domain::{Scope, ScopeSet, Timestamp, TokenHash, User};
use serde_json::{Map, Value, json};

use super::error::OAuthError;
use super::runtime::OAuthRuntime;

/// Who and what a token is for.
pub struct Subject<'a> {
    pub client: &'a OAuthClient,
    /// None for client credentials.
    pub user: Option<&'a User>,
    pub scopes: ScopeSet,
    pub organization_id: Option<i64>,
    pub family_id: &'a str,
    pub auth_time: Option<Timestamp>,
}

pub fn access_token(runtime: &OAuthRuntime, ring: &gatehouse_domain::oauth::jose::KeyRing, subject: &Subject<'_>, now: Timestamp) -> Result<(String, AccessTokenClaims), OAuthError> {
    let claims = AccessTokenClaims {
        iss: runtime.issuer.clone(),
        sub: match subject.user {
            Some(user) => user.id.0.to_string(),
            None => subject.client.id.as_str().to_string(),
        },
        aud: runtime.audience.clone(),
        client_id: subject.client.id.as_str().to_string(),
        scope: subject.scopes.to_space_delimited(),
        exp: now.as_secs() + runtime.settings.access_token_ttl_secs,
        iat: now.as_secs(),
        jti: random_id(),
        auth_time: subject.auth_time.map(Timestamp::as_secs),
        org_id: subject.organization_id,
        fam: subject.family_id.to_string(),
    };
    // A JWT starts with "eyJ" and has two dots: it can never match the SDK's UUIDv4 pattern, so the SDK
    // always sends it as Bearer.
    let token = ring.sign_with(runtime.settings.access_token_algorithm, ACCESS_TOKEN_TYP, &claims)?;
    Ok((token, claims))
}

pub fn has(scopes: ScopeSet, name: &str) -> bool {
    Scope::parse(name).is_some_and(|scope| scopes.contains(scope))
}

/// The OIDC claims a user's scopes release (OIDC Core §5.4), shared by ID tokens and userinfo.
pub fn profile_claims(user: &User, scopes: ScopeSet) -> Map<String, Value> {
    let mut claims = Map::new();
    if has(scopes, "profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("locale".into(), json!(user.locale));
        claims.insert("zoneinfo".into(), json!(user.timezone));
        claims.insert("updated_at".into(), json!(user.created.as_secs()));
    }
    if has(scopes, "email") {
        claims.insert("email".into(), json!(user.email.as_str()));
    }
    claims
}

#[allow(clippy::too_many_arguments)]
pub fn id_token(
    runtime: &OAuthRuntime,
    ring: &gatehouse_domain::oauth::jose::KeyRing,
    client: &OAuthClient,
    user: &User,
    scopes: ScopeSet,
    nonce: Option<String>,
    auth_time: Timestamp,
    access_token: &str,
    now: Timestamp,
) -> Result<String, OAuthError> {
    let claims = IdTokenClaims {
        iss: runtime.issuer.clone(),
        sub: user.id.0.to_string(),
        aud: client.id.as_str().to_string(),
        exp: now.as_secs() + runtime.settings.id_token_ttl_secs,
        iat: now.as_secs(),
        auth_time: auth_time.as_secs(),
        nonce,
        azp: client.id.as_str().to_string(),
        at_hash: Some(at_hash(access_token)),
        profile: profile_claims(user, scopes),
    };
    Ok(ring.sign(ID_TOKEN_TYP, &claims)?)
}

/// Whether this client gets refresh tokens: confidential clients always (Make); public clients only when
/// the server or the client is configured to allow it (Make's public clients get none).
pub fn gets_refresh_token(runtime: &OAuthRuntime, client: &OAuthClient) -> bool {
    match client.client_type {
        ClientType::Confidential => true,
        ClientType::Public => client.allow_refresh || runtime.settings.public_clients_get_refresh_tokens,
    }
}

/// A new refresh token (the secret to return once, and the row to store).
#[allow(clippy::too_many_arguments)]
pub fn refresh_token(
    runtime: &OAuthRuntime,
    client: &OAuthClient,
    user: &User,
    grant_id: i64,
    family_id: &str,
    parent: Option<TokenHash>,
    scopes: ScopeSet,
    organization_id: Option<i64>,
    auth_time: Timestamp,
    now: Timestamp,
) -> (OpaqueSecret, RefreshToken) {
    let secret = OpaqueSecret::generate();
    let row = RefreshToken {
        hash: secret.hash(),
        family_id: family_id.to_string(),
        parent_hash: parent,
        client_id: client.id.clone(),
        user_id: user.id,
        grant_id,
        scopes,
        organization_id,
        auth_time,
        created: now,
        expires_at: now.plus_secs(runtime.settings.refresh_token_ttl_secs),
        used_at: None,
        revoked_at: None,
    };
    (secret, row)
}
