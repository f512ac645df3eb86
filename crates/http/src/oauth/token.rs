//! `POST /oauth/v2/token` (RFC 6749 §3.2): parses the form, authenticates the client, and hands the grant
//! to the application.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gatehouse_app::issue::TokenResponse;
use gatehouse_app::token_endpoint::CodeExchange;
use serde_json::{Value, json};

use super::client_auth::authenticate_client;
use super::error::{OAuthError, OAuthResult, json_no_store};
use super::form::Form;
use crate::state::AppState;

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    json_no_store(handle(&state, &headers, &body).await)
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<Value> {
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
    Ok(token_body(&response))
}

/// RFC 6749 §5.1.
fn token_body(response: &TokenResponse) -> Value {
    let mut body = json!({
        "access_token": response.access_token,
        "token_type": "Bearer",
        "expires_in": response.expires_in,
        "scope": response.scopes.to_space_delimited(),
    });
    if let Some(id_token) = &response.id_token {
        body["id_token"] = json!(id_token);
    }
    if let Some(refresh_token) = &response.refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    body
}
