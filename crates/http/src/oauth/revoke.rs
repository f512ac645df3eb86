//! `POST /oauth/v2/revoke` (RFC 7009): the same 200 whatever the token was (§2.2).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth::authenticate_client;
use super::error::{OAuthResult, no_store};
use super::form::Form;
use crate::state::AppState;

pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

async fn handle(state: &AppState, headers: &HeaderMap, body: &Bytes) -> OAuthResult<()> {
    let form = Form::parse(headers, body)?;
    let client = authenticate_client(state, headers, &form).await?;
    Ok(state.app.revoke_token(&client, form.require("token")?).await?)
}
