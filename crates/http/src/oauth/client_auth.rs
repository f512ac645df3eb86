//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post` (Make's only method), and `none` for public clients.

use std::sync::Arc;

use axum::http::HeaderMap;
use gatehouse_app::token_endpoint::PresentedClient;
use gatehouse_domain::oauth::OAuthClient;

use super::error::OAuthError;
use super::form::Form;
use crate::credentials::{self, CredentialError, Presented};
use crate::state::AppState;

pub async fn authenticate_client(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<Arc<OAuthClient>, OAuthError> {
    let basic = basic_credentials(headers)?;
    let post_id = form.get("client_id")?;
    let post_secret = form.get("client_secret")?;
    let used_basic = basic.is_some();
    // RFC 6749 §2.3: a client must not use more than one authentication method in a request.
    if basic.is_some() && post_secret.is_some() {
        return Err(OAuthError::invalid_request("Use one client authentication method, not two."));
    }
    let (id, secret) = match basic {
        Some((id, secret)) => {
            if post_id.is_some_and(|post_id| post_id != id) {
                return Err(OAuthError::invalid_request("client_id differs from the Basic credentials."));
            }
            (id, Some(secret))
        }
        None => {
            let id = post_id.ok_or_else(|| OAuthError::invalid_client("Client authentication is required.", false))?;
            (id.to_string(), post_secret.map(str::to_string))
        }
    };
    let presented = PresentedClient { id: &id, secret: secret.as_deref(), via_basic: used_basic };
    Ok(state.app.authenticate_client(presented).await?)
}

/// `client_secret_basic` (RFC 6749 §2.3.1), if the request used it: `None` without an `Authorization` header.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let malformed = || OAuthError::invalid_client("The Basic credentials are malformed.", true);
    match credentials::presented(headers) {
        Ok(Presented::Basic { user, password }) => Ok(Some((user, password))),
        Err(CredentialError::Missing) => Ok(None),
        // RFC 6749 §2.3: one authentication method, so one set of credentials.
        Err(CredentialError::Repeated) => Err(OAuthError::invalid_request("Send exactly one Authorization header.")),
        Err(CredentialError::NotText | CredentialError::Malformed | CredentialError::Basic(_)) => Err(malformed()),
        Ok(Presented::Token(_) | Presented::Bearer(_)) | Err(CredentialError::UnknownScheme | CredentialError::Token(_)) => {
            Err(OAuthError::invalid_client("Only Basic client authentication is accepted in the header.", true))
        }
    }
}
