//! Bodies rendered once and shared: `current-authorization` is what a resource server calls on every
//! request, so its body is built once per way of authenticating and scope set, not per request.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::Bytes;
use gatehouse_domain::{Scope, ScopeSet};

/// `current-authorization` bodies, one per way of authenticating and distinct scope set, shared by every
/// credential with that set, so that the hot path sends shared bytes. Rendering is HTTP's: the verified
/// credentials in the application's caches hold no body. Bounded: past `MAX_RENDERED` distinct sets,
/// bodies are rendered per request.
#[derive(Default)]
pub struct RenderedBodies(RwLock<HashMap<(&'static str, ScopeSet), Bytes>>);

const MAX_RENDERED: usize = 4096;

impl RenderedBodies {
    pub fn for_scopes(&self, auth_used: &'static str, scopes: ScopeSet) -> Option<Bytes> {
        let key = (auth_used, scopes);
        if let Some(body) = self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return Some(body.clone());
        }
        let mut rendered = self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if rendered.len() >= MAX_RENDERED {
            return None;
        }
        let body = rendered.entry(key).or_insert_with(|| current_authorization_body(auth_used, scopes));
        Some(body.clone())
    }
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

    #[test]
    fn tokens_with_the_same_scopes_share_one_rendered_body() {
        let rendered = RenderedBodies::default();
        let first = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let second = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        assert_eq!(first.as_ptr(), second.as_ptr(), "one allocation for every token with these scopes");
    }

    #[test]
    fn rendered_bodies_are_bounded() {
        let rendered = RenderedBodies::default();
        let first_twelve: Vec<_> = ScopeSet::catalog().take(12).collect();
        for bits in 0..MAX_RENDERED {
            let mut scopes = ScopeSet::EMPTY;
            for (index, scope) in first_twelve.iter().enumerate() {
                if bits & (1 << index) != 0 {
                    scopes.insert(*scope);
                }
            }
            assert!(rendered.for_scopes("token", scopes).is_some());
        }
        assert!(rendered.for_scopes("token", ScopeSet::all_api_scopes()).is_none(), "past the bound: rendered per request");
    }

    #[test]
    fn bodies_are_kept_apart_by_how_the_caller_authenticated() {
        let rendered = RenderedBodies::default();
        let token = rendered.for_scopes("token", ScopeSet::all_api_scopes()).expect("kept");
        let oauth = rendered.for_scopes("oauth", ScopeSet::all_api_scopes()).expect("kept");
        assert!(token.starts_with(br#"{"authorization":{"authUsed":"token""#));
        assert!(oauth.starts_with(br#"{"authorization":{"authUsed":"oauth""#));
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use serde_json::{Value, json};

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
