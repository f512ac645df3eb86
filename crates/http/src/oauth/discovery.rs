//! Discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS. Every value here is what we really do.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use gatehouse_domain::ScopeSet;
use serde_json::{Value, json};

use super::error::OAuthError;
use crate::state::AppState;

pub fn metadata(state: &AppState) -> Value {
    let issuer = state.issuer();
    let scopes: Vec<&str> = ScopeSet::catalog().map(|scope| scope.name()).collect();
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/v2/authorize"),
        "token_endpoint": format!("{issuer}/oauth/v2/token"),
        "revocation_endpoint": format!("{issuer}/oauth/v2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/v2/introspect"),
        "jwks_uri": format!("{issuer}/oauth/v2/oidc/jwks"),
        "userinfo_endpoint": format!("{issuer}/oauth/v2/oidc/userinfo"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "name", "email", "locale", "zoneinfo", "updated_at"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

fn cacheable(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

pub async fn openid_configuration(State(state): State<AppState>) -> Response {
    cacheable(metadata(&state))
}

pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.app.jwks().await {
        Ok(jwks) => cacheable(jwks),
        Err(error) => OAuthError::from(error).into_response(),
    }
}
