use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::Json;
use gatehouse_domain::{Scope, ScopeSet};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use crate::api::views;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::MakeQuery;
use crate::state::AppState;

pub async fn me(State(state): State<AppState>, caller: Caller, query: MakeQuery) -> ApiResult<Json<Value>> {
    let user = state
        .store
        .user_by_id(caller.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("The credential's user no longer exists.", Some("invalid_token")))?;
    Ok(Json(json!({ "authUser": query.select(views::auth_user(&user)) })))
}

/// `current-authorization` is what a resource server calls on every request to learn what a credential
/// may do. Its body depends only on the credential, so verification renders it once and caches it with
/// the credential; the handler then sends shared bytes, with no serialization and no allocation.
pub async fn current_authorization(caller: Caller) -> Response {
    let body = match caller.authorization_body {
        Some(body) => body,
        None => current_authorization_body(caller.method.auth_used(), caller.scopes),
    };
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// The `current-authorization` body for a credential: `{"authorization":{"authUsed":…,"scope":[…]}}`.
pub fn current_authorization_body(auth_used: &'static str, scopes: ScopeSet) -> Bytes {
    let body = CurrentAuthorization { authorization: AuthorizationView { auth_used, scope: scopes } };
    // Serializing a struct of static strings cannot fail; an empty body would be caught by every test.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}

#[derive(Serialize)]
struct CurrentAuthorization {
    authorization: AuthorizationView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationView {
    auth_used: &'static str,
    #[serde(serialize_with = "scope_names")]
    scope: ScopeSet,
}

fn scope_names<S: Serializer>(scopes: &ScopeSet, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(scopes.iter().map(Scope::name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_body_is_makes_authorization_object() {
        let scopes = ScopeSet::parse_names(["user:read", "scenarios:run"]).expect("known scopes");
        let body: Value = serde_json::from_slice(&current_authorization_body("token", scopes)).expect("JSON");
        assert_eq!(body, json!({ "authorization": { "authUsed": "token", "scope": ["scenarios:run", "user:read"] } }));
    }
}
