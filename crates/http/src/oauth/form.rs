//! Form bodies of the OAuth endpoints (`application/x-www-form-urlencoded`), with RFC 6749 §3.2's rule
//! that a parameter must not be repeated.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use gatehouse_domain::oauth::authorize::form_pairs;

use super::error::OAuthError;

#[derive(Debug, Default, Clone)]
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn parse(headers: &HeaderMap, body: &Bytes) -> Result<Self, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")));
        if !is_form && !body.is_empty() {
            return Err(OAuthError::invalid_request("Send the parameters as application/x-www-form-urlencoded."));
        }
        let text = std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("The body is not UTF-8."))?;
        Ok(Self(form_pairs(text)))
    }

    /// A parameter that may appear once; empty values are absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("The {key} parameter is repeated.")));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)?.ok_or_else(|| OAuthError::invalid_request(format!("The {key} parameter is required.")))
    }
}
