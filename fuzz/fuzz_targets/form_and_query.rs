//! The OAuth form decoder (RFC 6749 Appendix B, http/oauth/form.rs) and Make's query (`pg[...]`, `cols[]`,
//! http/extract.rs). Invariants: no panic; a form parameter is either absent, once, or refused as repeated.
#![no_main]

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use gatehouse_http::extract::MakeQuery;
use gatehouse_http::oauth::form::Form;
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 8] = ["grant_type", "code", "redirect_uri", "client_id", "scope", "refresh_token", "code_verifier", "state"];

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
    let body = Bytes::copy_from_slice(data);
    if let Ok(form) = Form::parse(&headers, &body) {
        for key in KEYS {
            let occurrences = form.0.iter().filter(|(k, _)| k == key).count();
            match form.get(key) {
                Ok(_) => assert!(occurrences <= 1),
                Err(_) => assert!(occurrences > 1),
            }
            let _ = form.require(key);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let query = MakeQuery::parse(text);
        if let Ok(page) = query.page() {
            assert!(page.limit >= 1);
        }
        let _ = query.cols();
        let _ = query.required_id("organizationId");
        let _ = query.select(serde_json::json!({ "id": 1, "name": "n" }));
    }
});
