//! Form bodies of the OAuth endpoints (`application/x-www-form-urlencoded`, RFC 6749 Appendix B), decoded
//! by the `form_urlencoded` crate, with RFC 6749 §3.1's rule that a parameter must not be repeated.

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

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
        // A body that is not UTF-8 was not written by a form. Inside it, percent-escapes that decode to
        // invalid UTF-8 become U+FFFD, as the WHATWG URL standard's form parser does.
        std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("The body is not UTF-8."))?;
        Ok(Self(form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()))
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

    /// Every non-empty value of a parameter a form may repeat (a group of checkboxes with one name).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, v)| k == key && !v.is_empty()).map(|(_, v)| v.as_str()).collect()
    }

    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)?.ok_or_else(|| OAuthError::invalid_request(format!("The {key} parameter is required.")))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn form(body: &'static [u8]) -> Result<Form, OAuthError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"));
        Form::parse(&headers, &Bytes::from_static(body))
    }

    #[test]
    fn plus_is_a_space_and_percent_plus_one_is_never_byte_0x01() {
        let form = form(b"scope=openid+profile&code_verifier=%+1&state=%2B").expect("a form");
        assert_eq!(form.get("scope").ok().flatten(), Some("openid profile"));
        assert_eq!(form.get("code_verifier").ok().flatten(), Some("% 1"));
        assert_eq!(form.get("state").ok().flatten(), Some("+"));
    }

    #[test]
    fn a_body_that_is_not_utf8_is_refused() {
        assert_eq!(form(b"code=\xff").err().map(|e| e.description), Some("The body is not UTF-8.".to_string()));
        // Escaped bytes that are not UTF-8 are replaced, never passed on as raw bytes.
        assert_eq!(form(b"code=%FF").expect("a form").get("code").ok().flatten(), Some("\u{FFFD}"));
    }

    #[test]
    fn rfc6749_3_1_a_repeated_parameter_is_refused_even_empty() {
        let form = form(b"grant_type=authorization_code&code=a&code=").expect("a form");
        assert_eq!(form.get("code").err().map(|e| e.error), Some("invalid_request"));
        assert_eq!(form.require("grant_type").ok(), Some("authorization_code"));
        assert_eq!(form.get("absent").ok(), Some(None));
    }

    #[test]
    fn empty_values_are_absent() {
        let form = form(b"client_secret=&scope").expect("a form");
        assert_eq!(form.get("client_secret").ok(), Some(None));
        assert_eq!(form.require("scope").err().map(|e| e.description), Some("The scope parameter is required.".to_string()));
    }

    #[test]
    fn other_content_types_are_refused_unless_the_body_is_empty() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(Form::parse(&headers, &Bytes::from_static(b"{}")).is_err());
        assert!(Form::parse(&headers, &Bytes::new()).is_ok());
        assert!(Form::parse(&HeaderMap::new(), &Bytes::from_static(b"a=b")).is_err(), "no content type");
    }
}
