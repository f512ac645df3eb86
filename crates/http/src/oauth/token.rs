//! `POST /oauth/v2/token` (RFC 6749 §3.2): parses the form, authenticates the client, and hands the grant
//! to the application.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_app::issue::TokenResponse;
use gatehouse_app::token_endpoint::CodeExchange;
use serde::Serialize;
use utoipa::ToSchema;

use super::client_auth::authenticate_client;
use super::error::{OAuthError, OAuthErrorBody, OAuthResult, json_no_store};
use super::form::Form;
use crate::state::AppState;

/// The token request's form (RFC 6749 §4.1.3, §6, §4.4). The handler reads the form itself (`Form`,
/// which refuses repeated parameters); this type describes it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    grant_type: String,
    /// authorization_code: the code from the redirect.
    code: Option<String>,
    /// authorization_code: the redirect URI of the authorization request, if it named one.
    redirect_uri: Option<String>,
    /// authorization_code: the PKCE verifier (RFC 7636 §4.5); required from public clients.
    code_verifier: Option<String>,
    /// refresh_token: the refresh token.
    refresh_token: Option<String>,
    /// refresh_token and client_credentials: space-delimited scopes, at most those granted.
    scope: Option<String>,
    /// `client_secret_post` and public clients: the client's id.
    client_id: Option<String>,
    /// `client_secret_post`: the client's secret.
    client_secret: Option<String>,
}

/// RFC 6749 §5.1.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponseBody {
    /// A JWT (RFC 9068).
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The granted scopes, space-delimited.
    scope: String,
    /// With the `openid` scope (OIDC Core §3.1.3.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    /// When the client may refresh and the grant allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// The token endpoint: exchanges a code, a refresh token or the client's own credentials for tokens.
#[utoipa::path(post, path = "/oauth/v2/token", tag = "oauth", operation_id = "oauth-token",
    security(("clientSecretBasic" = []), ()),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1); never cached.", body = TokenResponseBody),
        (status = 400, description = "RFC 6749 §5.2 error.", body = OAuthErrorBody),
        (status = 401, description = "Client authentication failed (`invalid_client`).", body = OAuthErrorBody),
        (status = 429, description = "Rate limited (`temporarily_unavailable`, with Retry-After).", body = OAuthErrorBody),
    ))]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &headers, &body).await)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<TokenResponseBody> {
    let form = Form::parse(headers, body)?;
    let grant_type = form.require("grant_type")?;
    let client = authenticate_client(state, headers, &form).await?;
    let response = match grant_type {
        "authorization_code" => {
            let exchange = CodeExchange {
                code: form.require("code")?,
                redirect_uri: form.get("redirect_uri")?,
                code_verifier: form.get("code_verifier")?,
            };
            state.app.exchange_code(&client, exchange).await?
        }
        "refresh_token" => state.app.refresh(&client, form.require("refresh_token")?, form.get("scope")?).await?,
        "client_credentials" => state.app.client_credentials(&client, form.get("scope")?).await?,
        other => return Err(OAuthError::unsupported_grant_type(format!("The grant type {other:?} is not supported."))),
    };
    Ok(token_body(response))
}

/// RFC 6749 §5.1.
fn token_body(response: TokenResponse) -> TokenResponseBody {
    TokenResponseBody {
        scope: response.scopes.to_space_delimited(),
        access_token: response.access_token,
        token_type: "Bearer",
        expires_in: response.expires_in,
        id_token: response.id_token,
        refresh_token: response.refresh_token,
    }
}
