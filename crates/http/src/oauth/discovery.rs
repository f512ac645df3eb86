//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS. Every value here is what we really do.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ScopeSet;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{OAuthError, OAuthErrorBody};
use crate::state::AppState;

/// The provider's metadata (OIDC Discovery 1.0 §3, RFC 8414 §2).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: String,
    response_types_supported: &'static [&'static str],
    response_modes_supported: &'static [&'static str],
    grant_types_supported: &'static [&'static str],
    subject_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: &'static [&'static str],
    scopes_supported: Vec<&'static str>,
    claims_supported: &'static [&'static str],
    token_endpoint_auth_methods_supported: &'static [&'static str],
    revocation_endpoint_auth_methods_supported: &'static [&'static str],
    introspection_endpoint_auth_methods_supported: &'static [&'static str],
    code_challenge_methods_supported: &'static [&'static str],
    prompt_values_supported: &'static [&'static str],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
}

const CLIENT_AUTH_METHODS: &[&str] = &["client_secret_post", "client_secret_basic", "none"];

pub fn metadata(state: &AppState) -> ProviderMetadata {
    let issuer = state.issuer();
    ProviderMetadata {
        issuer: issuer.to_string(),
        authorization_endpoint: format!("{issuer}/oauth/v2/authorize"),
        token_endpoint: format!("{issuer}/oauth/v2/token"),
        revocation_endpoint: format!("{issuer}/oauth/v2/revoke"),
        introspection_endpoint: format!("{issuer}/oauth/v2/introspect"),
        jwks_uri: format!("{issuer}/oauth/v2/oidc/jwks"),
        userinfo_endpoint: format!("{issuer}/oauth/v2/oidc/userinfo"),
        response_types_supported: &["code"],
        response_modes_supported: &["query"],
        grant_types_supported: &["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported: &["public"],
        id_token_signing_alg_values_supported: &["RS256"],
        scopes_supported: ScopeSet::catalog().map(|scope| scope.name()).collect(),
        claims_supported: &[
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "name", "email", "locale", "zoneinfo",
            "updated_at",
        ],
        token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
        code_challenge_methods_supported: &["S256"],
        prompt_values_supported: &["none", "login", "consent"],
        claims_parameter_supported: false,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        authorization_response_iss_parameter_supported: true,
    }
}

fn cacheable(body: impl Serialize) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "oidc", operation_id = "oidc-discovery",
    responses((status = 200, description = "The provider's metadata (OIDC Discovery 1.0 §4).", body = ProviderMetadata)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    cacheable(metadata(&state))
}

/// The same metadata below the OIDC base path, where Make documents it.
#[utoipa::path(get, path = "/oauth/v2/oidc/.well-known/openid-configuration", tag = "oidc", operation_id = "oidc-discovery-make",
    responses((status = 200, description = "The provider's metadata (OIDC Discovery 1.0 §4).", body = ProviderMetadata)))]
pub async fn openid_configuration_make(state: State<AppState>) -> Response {
    openid_configuration(state).await
}

/// The same metadata where RFC 8414 §3 looks for it.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth", operation_id = "oauth-authorization-server-metadata",
    responses((status = 200, description = "The authorization server's metadata (RFC 8414 §3.2).", body = ProviderMetadata)))]
pub async fn authorization_server_metadata(state: State<AppState>) -> Response {
    openid_configuration(state).await
}

/// The public signing keys (RFC 7517 §5). The key ring renders them (`gatehouse_domain::oauth::jose`);
/// this type describes them.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct JwkSet {
    keys: Vec<Jwk>,
}

/// A public key (RFC 7517 §4): RSA for RS256, or EC P-256 for ES256.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Jwk {
    /// `RSA` or `EC`.
    kty: String,
    /// Always `sig`.
    #[schema(rename = "use")]
    key_use: String,
    /// `RS256` or `ES256`.
    alg: String,
    kid: String,
    /// RSA: the modulus, base64url.
    n: Option<String>,
    /// RSA: the exponent, base64url.
    e: Option<String>,
    /// EC: always `P-256`.
    crv: Option<String>,
    /// EC: the x coordinate, base64url.
    x: Option<String>,
    /// EC: the y coordinate, base64url.
    y: Option<String>,
}

#[utoipa::path(get, path = "/oauth/v2/oidc/jwks", tag = "oidc", operation_id = "oidc-jwks",
    responses(
        (status = 200, description = "The keys that verify ID tokens and access tokens, retired ones included until \
            every token they signed has expired.", body = JwkSet),
        (status = 500, description = "The key ring could not be loaded (`server_error`).", body = OAuthErrorBody),
    ))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.app.jwks().await {
        Ok(jwks) => cacheable(jwks),
        Err(error) => OAuthError::from(error).into_response(),
    }
}
