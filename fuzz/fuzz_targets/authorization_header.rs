//! The `Authorization` parser (http/credentials.rs): any bytes as one or two header values. Invariants: it
//! never panics, a `Token` credential is always a version 4 UUID, and two headers are always `Repeated`.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, header};
use gatehouse_domain::ApiTokenSecret;
use gatehouse_http::credentials::{CredentialError, Presented, presented};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else { return };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    match presented(&headers) {
        Ok(Presented::Token(secret)) => {
            let again = ApiTokenSecret::parse(&secret.reveal());
            assert!(again.is_ok(), "a Token credential re-parses");
        }
        Ok(Presented::Bearer(token)) => assert!(!token.is_empty() && !token.contains(' ')),
        Ok(Presented::Basic { .. }) | Err(_) => {}
    }
    headers.append(header::AUTHORIZATION, value);
    assert_eq!(presented(&headers).err(), Some(CredentialError::Repeated));
});
