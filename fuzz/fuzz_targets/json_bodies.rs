//! The JSON bodies of `/api/v2` and the domain checks their fields go through: API-token creation (label,
//! scopes, expiry), OAuth client requests (redirect URIs, scopes), organizations and teams.
//! Invariant: no panic on any input.
#![no_main]

use gatehouse_domain::oauth::client::RedirectUri;
use gatehouse_domain::{ScopeSet, Timestamp, TokenLabel};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<gatehouse_http::api::tokens::CreateTokenBody>(data);
    let _ = serde_json::from_slice::<gatehouse_http::api::oauth_clients::RequestBody>(data);
    let _ = serde_json::from_slice::<gatehouse_http::api::organizations::CreateBody>(data);
    let _ = serde_json::from_slice::<gatehouse_http::api::organizations::UpdateBody>(data);
    let _ = serde_json::from_slice::<gatehouse_http::api::teams::CreateBody>(data);
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else { return };
    if let Some(Value::String(label)) = body.get("label") {
        let _ = TokenLabel::parse(label);
    }
    if let Some(Value::Array(names)) = body.get("scope") {
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        if let Ok(scopes) = ScopeSet::parse_names(names.iter().copied()) {
            assert!(scopes.len() <= names.len());
        }
    }
    if let Some(Value::String(expires)) = body.get("expires") {
        if let Some(at) = Timestamp::parse_iso(expires) {
            assert_eq!(Timestamp::parse_iso(&at.to_iso()), Some(at), "an expiry round-trips");
        }
    }
    if let Some(Value::Array(uris)) = body.get("redirectUris") {
        for uri in uris.iter().filter_map(Value::as_str) {
            let _ = RedirectUri::parse(uri);
        }
    }
});
