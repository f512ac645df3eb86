use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_domain::{Scope, ScopeSet};
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeQuery;
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let user = state
        .app
        .user(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    Ok(Json(json!({ "authUser": query.select(views::auth_user(&user)) })))
}

/// `current-authorization` is what a resource server calls on every request to learn what a credential
/// may do. Profiling showed serde_json's escaping of fifty scope names as the largest cost of the request,
/// so a cached credential carries its body rendered once per scope set (see `auth::RenderedBodies`), and
/// the fallback writes it into one buffer of exact size, without a JSON tree or a string per scope.
pub async fn current_authorization(caller: Caller) -> Response {
    let body = match caller.authorization_body {
        Some(body) => body,
        None => current_authorization_body(caller.method.auth_used(), caller.scopes),
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// `{"authorization":{"authUsed":…,"scope":[…]}}`. Every string in it is a static name from the scope
/// catalog or `AuthMethod`, and none needs escaping (a test checks each), so they are copied as they are.
pub fn current_authorization_body(auth_used: &'static str, scopes: ScopeSet) -> Bytes {
    const HEAD: &str = r#"{"authorization":{"authUsed":""#;
    const MIDDLE: &str = r#"","scope":["#;
    const TAIL: &str = "]}}";
    let names_length: usize = scopes.iter().map(|scope| scope.name().len() + 3).sum();
    let length = HEAD.len() + auth_used.len() + MIDDLE.len() + names_length + TAIL.len();
    let mut body = Vec::with_capacity(length);
    body.extend_from_slice(HEAD.as_bytes());
    body.extend_from_slice(auth_used.as_bytes());
    body.extend_from_slice(MIDDLE.as_bytes());
    for (index, name) in scopes.iter().map(Scope::name).enumerate() {
        if index > 0 {
            body.push(b',');
        }
        body.push(b'"');
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
    }
    body.extend_from_slice(TAIL.as_bytes());
    Bytes::from(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_no_json_escaping(text: &str) -> bool {
        serde_json::to_string(text).ok().as_deref() == Some(&format!("\"{text}\""))
    }

    #[test]
    fn every_name_in_the_body_is_copied_verbatim_safely() {
        assert!(ScopeSet::catalog().all(|scope| needs_no_json_escaping(scope.name())));
        let method = gatehouse_app::AuthMethod::ApiToken { created: gatehouse_domain::Timestamp::from_millis(0) };
        assert!(needs_no_json_escaping(method.auth_used()));
    }

    #[test]
    fn the_body_is_makes_authorization_object() {
        let scopes = ScopeSet::parse_names(["user:read", "scenarios:run"]).expect("known scopes");
        let body: Value = serde_json::from_slice(&current_authorization_body("token", scopes)).expect("JSON");
        assert_eq!(body, json!({ "authorization": { "authUsed": "token", "scope": ["scenarios:run", "user:read"] } }));
        let every: Value = serde_json::from_slice(&current_authorization_body("token", ScopeSet::all_api_scopes())).expect("JSON");
        assert_eq!(every["authorization"]["scope"], json!(ScopeSet::all_api_scopes().names()));
        let none: Value = serde_json::from_slice(&current_authorization_body("token", ScopeSet::EMPTY)).expect("JSON");
        assert_eq!(none["authorization"]["scope"], json!([]));
    }
}
