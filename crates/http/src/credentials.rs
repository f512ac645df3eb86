//! The `Authorization` request header, parsed once for every endpoint (RFC 9110 §11.6.2): exactly one
//! header, `auth-scheme 1*SP token68` (RFC 9110 §11.4), the scheme compared case-insensitively (§11.1).
//!
//! This module only says what was presented, or why it is not a credential at all. Which schemes an
//! endpoint accepts, and how a refusal reads (Make's schema, RFC 6749 §5.2, RFC 6750 §3), stay with the
//! endpoint.

use std::borrow::Cow;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_domain::ApiTokenSecret;
use gatehouse_domain::api_token::TokenFormatError;

/// A credential as presented, before verification.
#[derive(Clone)]
pub enum Presented<'a> {
    /// `Token <uuid>`: a Make API token, already known to be a version 4 UUID.
    Token(ApiTokenSecret),
    /// `Bearer <b64token>` (RFC 6750 §2.1): an OAuth access token, or for userinfo an ID token.
    Bearer(&'a str),
    /// `Basic <base64(user-id ":" password)>` (RFC 7617 §2): a client's id and secret at the token,
    /// revocation and introspection endpoints, both already form-urlencoded-decoded (RFC 6749 §2.3.1).
    Basic { user: String, password: String },
}

/// Debug without the secret: these values end up in test failures and, through errors, in logs.
impl std::fmt::Debug for Presented<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::Token(_) => f.write_str("Token(..)"),
            Presented::Bearer(_) => f.write_str("Bearer(..)"),
            Presented::Basic { user, .. } => f.debug_struct("Basic").field("user", user).finish_non_exhaustive(),
        }
    }
}

/// Why the header holds no usable credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    /// No `Authorization` header: RFC 6750 §3.1 wants a challenge without an error code.
    Missing,
    /// More than one `Authorization` header, so more than one credential (RFC 6750 §3.1: invalid_request).
    Repeated,
    /// Bytes outside visible ASCII, space and tab (obs-text, RFC 9110 §5.5): not text a scheme could name.
    NotText,
    /// Text, but not `auth-scheme 1*SP token68`: no credential, tabs or other whitespace around it, an
    /// auth-param list, or a character token68 does not allow.
    Malformed,
    /// A well-formed credential under a scheme Gatehouse does not speak.
    UnknownScheme,
    /// `Token`, but its credential is not a version 4 UUID.
    Token(TokenFormatError),
    /// `Basic`, but its credential does not decode to `user-id ":" password`.
    Basic(BasicError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicError {
    NotBase64,
    /// The decoded bytes, or one part after form-urlencoded decoding, are not UTF-8.
    NotUtf8,
    /// RFC 7617 §2: the user-id and password are separated by a colon; there is none.
    NoColon,
}

/// The one `Authorization` header of a request.
pub fn presented(headers: &HeaderMap) -> Result<Presented<'_>, CredentialError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or(CredentialError::Missing)?;
    if values.next().is_some() {
        return Err(CredentialError::Repeated);
    }
    let text = value.to_str().map_err(|_| CredentialError::NotText)?;
    // RFC 9110 §11.4: `credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`. Every scheme spoken
    // here carries a token68, so a missing one is as malformed as a stray tab.
    let (scheme, credential) = text.split_once(' ').ok_or(CredentialError::Malformed)?;
    let credential = credential.trim_start_matches(' ');
    if !is_token(scheme) || !is_token68(credential) {
        return Err(CredentialError::Malformed);
    }
    if scheme.eq_ignore_ascii_case("token") {
        ApiTokenSecret::parse(credential).map(Presented::Token).map_err(CredentialError::Token)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Presented::Bearer(credential))
    } else if scheme.eq_ignore_ascii_case("basic") {
        basic(credential).map_err(CredentialError::Basic)
    } else {
        Err(CredentialError::UnknownScheme)
    }
}

/// RFC 7617 §2 with RFC 6749 §2.3.1: `base64(urlencode(client_id) ":" urlencode(client_secret))`. The
/// user-id cannot contain a colon, so the first one separates.
fn basic(credential: &str) -> Result<Presented<'static>, BasicError> {
    let decoded = STANDARD.decode(credential).map_err(|_| BasicError::NotBase64)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BasicError::NotUtf8)?;
    let (user, password) = decoded.split_once(':').ok_or(BasicError::NoColon)?;
    Ok(Presented::Basic { user: form_decoded(user)?, password: form_decoded(password)? })
}

/// One `application/x-www-form-urlencoded` component: `+` is a space, then percent-decoding, which keeps a
/// `%` that two hex digits do not follow. A raw `=` or `&` (from clients that skip the encoding) stays.
fn form_decoded(part: &str) -> Result<String, BasicError> {
    let spaced = part.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced).decode_utf8().map_err(|_| BasicError::NotUtf8)?;
    Ok(match decoded {
        Cow::Borrowed(text) => text.to_string(),
        Cow::Owned(text) => text,
    })
}

/// RFC 9110 §5.6.2: `token = 1*tchar`.
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 §11.2: `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, which is also
/// RFC 6750 §2.1's `b64token`.
fn is_token68(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const V4: &str = "c232ab00-9414-4c11-b3c8-9f6bdeced846";

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_bytes(value).expect("a header value"));
        }
        headers
    }

    /// What was presented, owned, so a test can compare it after the headers are gone.
    #[derive(Debug, PartialEq, Eq)]
    enum Seen {
        Token,
        Bearer(String),
        Basic(String, String),
    }

    fn parse(value: &str) -> Result<Seen, CredentialError> {
        presented(&with(&[value.as_bytes()])).map(|presented| match presented {
            Presented::Token(_) => Seen::Token,
            Presented::Bearer(token) => Seen::Bearer(token.to_string()),
            Presented::Basic { user, password } => Seen::Basic(user, password),
        })
    }

    fn bearer(token: &str) -> Result<Seen, CredentialError> {
        Ok(Seen::Bearer(token.to_string()))
    }

    fn basic(user: &str, password: &str) -> Result<Seen, CredentialError> {
        Ok(Seen::Basic(user.to_string(), password.to_string()))
    }

    fn basic_of(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn no_header_is_missing_and_two_are_repeated() {
        assert_eq!(presented(&HeaderMap::new()).err(), Some(CredentialError::Missing));
        let token = format!("Token {V4}");
        assert_eq!(presented(&with(&[token.as_bytes(), token.as_bytes()])).err(), Some(CredentialError::Repeated));
        assert_eq!(presented(&with(&[token.as_bytes(), b"Bearer x"])).err(), Some(CredentialError::Repeated));
    }

    #[test]
    fn rfc9110_11_1_the_scheme_is_case_insensitive() {
        for scheme in ["Token", "token", "TOKEN", "tOkEn"] {
            assert!(parse(&format!("{scheme} {V4}")) == Ok(Seen::Token), "{scheme}");
        }
        for scheme in ["Bearer", "bearer", "BEARER"] {
            assert_eq!(parse(&format!("{scheme} abc.def-ghi_jkl")), bearer("abc.def-ghi_jkl"));
        }
        assert!(parse(&basic_of("a:b").replace("Basic", "bAsIc")) == basic("a", "b"));
    }

    #[test]
    fn token_needs_a_version_4_uuid() {
        assert_eq!(parse("Token c232ab00-9414-11ec-b3c8-9f6bdeced846"), Err(CredentialError::Token(TokenFormatError::NotVersion4)));
        assert_eq!(parse("Token 12345678-12ef-abcd-1234-1234567890ab"), Err(CredentialError::Token(TokenFormatError::NotVersion4)));
        assert_eq!(parse("Token not-a-uuid"), Err(CredentialError::Token(TokenFormatError::NotAUuid)));
        assert_eq!(parse("Token c232ab0094144c11b3c89f6bdeced846"), Err(CredentialError::Token(TokenFormatError::NotAUuid)));
        assert!(parse(&format!("Token {}", V4.to_uppercase())) == Ok(Seen::Token));
    }

    #[test]
    fn extra_spaces_before_the_credential_are_one_separator() {
        assert!(parse(&format!("Token    {V4}")) == Ok(Seen::Token));
        assert_eq!(parse("Bearer   abc"), bearer("abc"));
    }

    #[test]
    fn an_empty_credential_or_none_is_malformed() {
        for value in ["Token", "Token ", "Token    ", "Bearer", "Bearer ", "Basic ", "", " ", " Token abc"] {
            assert_eq!(parse(value), Err(CredentialError::Malformed), "{value:?}");
        }
    }

    #[test]
    fn tabs_and_inner_spaces_are_malformed() {
        for value in [
            &format!("Token\t{V4}") as &str,
            &format!("Token \t{V4}"),
            &format!("Token {V4}\t"),
            &format!("Token {V4} "),
            "Token a b",
            "Bearer a b",
            "Bearer\tabc",
        ] {
            assert_eq!(parse(value), Err(CredentialError::Malformed), "{value:?}");
        }
    }

    #[test]
    fn only_token68_credentials_are_accepted() {
        // An auth-param list (RFC 9110 §11.4) is valid HTTP, but no scheme spoken here uses one.
        assert_eq!(parse("Bearer realm=\"x\""), Err(CredentialError::Malformed));
        assert_eq!(parse("Bearer a,b"), Err(CredentialError::Malformed));
        assert_eq!(parse("Bearer ===="), Err(CredentialError::Malformed));
        assert_eq!(parse("Bearer ab=c"), Err(CredentialError::Malformed), "padding only at the end");
        assert_eq!(parse("Bearer a+/b~c=="), bearer("a+/b~c=="));
        assert_eq!(parse("Tok(en) abc"), Err(CredentialError::Malformed), "a scheme is an RFC 9110 token");
    }

    #[test]
    fn non_ascii_bytes_are_not_text() {
        assert_eq!(presented(&with(&[b"Token \xff\xfe"])).err(), Some(CredentialError::NotText));
        assert_eq!(parse("Token 🚀🚀🚀"), Err(CredentialError::NotText));
        assert_eq!(parse("Bearer café"), Err(CredentialError::NotText));
    }

    #[test]
    fn other_schemes_are_unknown() {
        assert_eq!(parse("Digest abc"), Err(CredentialError::UnknownScheme));
        assert_eq!(parse("Negotiate YII="), Err(CredentialError::UnknownScheme));
        assert_eq!(parse(V4), Err(CredentialError::Malformed), "a bare token has no scheme");
    }

    #[test]
    fn rfc6749_2_3_1_basic_parts_are_form_urlencoded_decoded() {
        assert_eq!(
            parse(&basic_of("my%20client:s%3Acret+with%2Bplus")),
            basic("my client", "s:cret with+plus")
        );
        // RFC 7617 §2: the first colon separates; the password may contain more.
        assert_eq!(parse(&basic_of("id:a:b")), basic("id", "a:b"));
        assert_eq!(parse(&basic_of("id:")), basic("id", ""));
        // Clients that skip the encoding still get their `=`, `&` and a lone `%` through unchanged.
        assert_eq!(parse(&basic_of("id:a=b&c%")), basic("id", "a=b&c%"));
        // `%+1` is a `%` then a space then `1`, never byte 0x01.
        assert_eq!(parse(&basic_of("id:%+1")), basic("id", "% 1"));
    }

    #[test]
    fn broken_basic_credentials_say_why() {
        assert_eq!(parse("Basic !!!"), Err(CredentialError::Malformed), "not even token68");
        assert_eq!(parse("Basic YWJj*"), Err(CredentialError::Malformed));
        assert_eq!(parse("Basic YWJjZA"), Err(CredentialError::Basic(BasicError::NotBase64)), "padding is required");
        assert_eq!(parse("Basic a-b_"), Err(CredentialError::Basic(BasicError::NotBase64)), "base64url is not base64");
        assert_eq!(parse(&basic_of("no colon")), Err(CredentialError::Basic(BasicError::NoColon)));
        assert_eq!(parse(&format!("Basic {}", STANDARD.encode(b"id:\xff"))), Err(CredentialError::Basic(BasicError::NotUtf8)));
        assert_eq!(parse(&basic_of("id:%FF")), Err(CredentialError::Basic(BasicError::NotUtf8)));
    }
}
