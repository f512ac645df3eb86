//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
//! `client_secret_basic`, `client_secret_post` (Make's only method), and `none` for public clients.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_domain::oauth::authorize::form_pairs;
use gatehouse_app::token_endpoint::PresentedClient;
use gatehouse_domain::oauth::OAuthClient;

use super::error::OAuthError;
use super::form::Form;
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

/// RFC 6749 §2.3.1: `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let malformed = || OAuthError::invalid_client("The Basic credentials are malformed.", true);
    let text = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = text.split_once(' ') else { return Err(malformed()) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client("Only Basic client authentication is accepted in the header.", true));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let decode = |part: &str| form_pairs(&format!("v={part}")).pop().map(|(_, v)| v).unwrap_or_default();
    Ok(Some((decode(id), decode(secret))))
}
