//! Validation of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
//!
//! Validation is two-phase because the client comes from the store: first the client id and redirect URI
//! are read (errors there are never redirected, RFC 6749 §4.1.2.1), then, with the client in hand,
//! everything else is checked and reported to the client's redirect URI.

use crate::scope::ScopeSet;

use super::client::{ClientId, OAuthClient, RedirectUri};
use super::grant::Prompt;
use super::pkce::CodeChallenge;

/// The raw query parameters of the request, in order.
#[derive(Debug, Clone, Default)]
pub struct RawParams(pub Vec<(String, String)>);

impl RawParams {
    pub fn parse(query: &str) -> Self {
        Self(form_pairs(query))
    }

    fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A parameter that may appear at most once (RFC 6749 §3.1). Empty values count as absent.
    fn single(&self, key: &str) -> Result<Option<&str>, String> {
        let mut values = self.all(key);
        let first = values.next();
        if values.next().is_some() {
            return Err(format!("The {key} parameter is repeated."));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// Re-encodes the parameters, to carry the request through the login and consent forms.
    pub fn to_query(&self) -> String {
        let mut out = String::new();
        for (key, value) in &self.0 {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(&encode(key));
            out.push('=');
            out.push_str(&encode(value));
        }
        out
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid UTF-8 is replaced.
pub fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            (decode(key), decode(value))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error that must not be redirected: shown to the user on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeError(pub String);

/// An error reported to the client at its (verified) redirect URI (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    pub redirect_uri: RedirectUri,
    pub state: Option<String>,
    pub error: &'static str,
    pub description: String,
}

/// Phase one: who the client claims to be.
pub fn client_id_of(params: &RawParams) -> Result<ClientId, UnsafeError> {
    let id = params.single("client_id").map_err(UnsafeError)?;
    let id = id.ok_or_else(|| UnsafeError("The request has no client_id.".into()))?;
    ClientId::parse(id).ok_or_else(|| UnsafeError("The client_id is malformed.".into()))
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: OAuthClient,
    pub redirect_uri: RedirectUri,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub challenge: CodeChallenge,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The original parameters, carried through the login and consent forms.
    pub raw: RawParams,
}

pub enum AuthorizeError {
    Unsafe(UnsafeError),
    Redirect(RedirectError),
}

/// Phase two: with the client (or its absence) from the store.
pub fn validate(params: &RawParams, client: Option<OAuthClient>) -> Result<AuthorizationRequest, AuthorizeError> {
    let unsafe_error = |message: &str| AuthorizeError::Unsafe(UnsafeError(message.to_string()));
    let Some(client) = client.filter(OAuthClient::is_approved) else {
        return Err(unsafe_error("The client is unknown or not approved."));
    };
    let presented = params.single("redirect_uri").map_err(|e| unsafe_error(&e))?;
    let redirect_uri = match presented {
        Some(uri) => client
            .redirect_uri(uri)
            .cloned()
            .ok_or_else(|| unsafe_error("The redirect_uri is not registered for this client. It must match exactly."))?,
        // RFC 6749 §3.1.2.3: may be omitted when exactly one is registered.
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => return Err(unsafe_error("The request has no redirect_uri and the client registered several.")),
    };
    // From here on, errors go back to the client. `state` is echoed even if later checks fail.
    let state = params.0.iter().find(|(k, _)| k == "state").map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let redirect = |error: &'static str, description: String| {
        AuthorizeError::Redirect(RedirectError { redirect_uri: redirect_uri.clone(), state: state.clone(), error, description })
    };
    let single = |key: &str| params.single(key).map_err(|e| redirect("invalid_request", e));

    single("state")?;
    if single("request")?.is_some() {
        return Err(redirect("request_not_supported", "Request objects are not supported.".into()));
    }
    if single("request_uri")?.is_some() {
        return Err(redirect("request_uri_not_supported", "request_uri is not supported.".into()));
    }
    match single("response_type")? {
        Some("code") => {}
        None => return Err(redirect("invalid_request", "response_type is required.".into())),
        Some(_) => {
            return Err(redirect("unsupported_response_type", "Only the authorization code flow (response_type=code) is supported.".into()));
        }
    }
    if let Some(mode) = single("response_mode")?
        && mode != "query"
    {
        return Err(redirect("invalid_request", "Only response_mode=query is supported.".into()));
    }
    let scope_text = single("scope")?.ok_or_else(|| redirect("invalid_scope", "scope is required.".into()))?;
    let scopes = ScopeSet::parse_delimited(scope_text).map_err(|e| redirect("invalid_scope", e.0))?;
    if scopes.is_empty() {
        return Err(redirect("invalid_scope", "scope is required.".into()));
    }
    let beyond = scopes.difference(client.grantable_scopes());
    if !beyond.is_empty() {
        return Err(redirect(
            "invalid_scope",
            format!("The client is not approved for: {}.", beyond.to_space_delimited()),
        ));
    }
    let challenge = CodeChallenge::parse(single("code_challenge")?, single("code_challenge_method")?)
        .map_err(|e| redirect("invalid_request", e.description().into()))?;
    let mut prompt = Prompt::default();
    if let Some(text) = single("prompt")? {
        for value in text.split(' ').filter(|v| !v.is_empty()) {
            match value {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => return Err(redirect("invalid_request", format!("Unknown prompt value {value:?}."))),
            }
        }
        // OIDC Core §3.1.2.1: none with any other value is an error.
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(redirect("invalid_request", "prompt=none cannot be combined with other values.".into()));
        }
    }
    let max_age = match single("max_age")? {
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|age| *age >= 0)
                .ok_or_else(|| redirect("invalid_request", "max_age must be a non-negative integer.".into()))?,
        ),
        None => None,
    };
    let nonce = single("nonce")?.map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(redirect("invalid_request", "nonce is too long.".into()));
    }
    let login_hint = single("login_hint")?.map(str::to_string);
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        scopes,
        state,
        nonce,
        challenge,
        prompt,
        max_age,
        login_hint,
        raw: params.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::UserId;
    use crate::oauth::client::{NewClient, approve};
    use crate::oauth::pkce::s256_challenge;
    use crate::time::Timestamp;

    fn client() -> OAuthClient {
        let mut client = NewClient::new("a", "", "public", &["https://app.example/cb"], &["teams:read"])
            .unwrap()
            .into_client(UserId(1), Timestamp::from_millis(0), &crate::SeededRandom::new(1));
        approve(&mut client, &crate::SeededRandom::new(2));
        client
    }

    fn query(extra: &str) -> RawParams {
        let challenge = s256_challenge(&"v".repeat(43));
        RawParams::parse(&format!(
            "client_id=x&response_type=code&scope=openid%20teams:read&code_challenge={challenge}&code_challenge_method=S256&state=s{extra}"
        ))
    }

    #[test]
    fn a_good_request_validates_and_round_trips() {
        let request = validate(&query(""), Some(client())).ok().unwrap();
        assert_eq!(request.redirect_uri.as_str(), "https://app.example/cb");
        assert_eq!(request.scopes.names(), vec!["teams:read", "openid"]);
        let again = RawParams::parse(&request.raw.to_query());
        assert!(validate(&again, Some(client())).is_ok());
    }

    #[test]
    fn unknown_clients_and_unregistered_uris_are_never_redirected() {
        assert!(matches!(validate(&query(""), None), Err(AuthorizeError::Unsafe(_))));
        let off_by_one = query("&redirect_uri=https%3A%2F%2Fapp.example%2Fcc");
        assert!(matches!(validate(&off_by_one, Some(client())), Err(AuthorizeError::Unsafe(_))));
    }

    #[test]
    fn scopes_beyond_approval_and_plain_pkce_are_redirected_errors() {
        let wide = RawParams::parse(&query("").to_query().replace("teams%3Aread", "teams%3Awrite"));
        match validate(&wide, Some(client())) {
            Err(AuthorizeError::Redirect(error)) => assert_eq!(error.error, "invalid_scope"),
            _ => panic!("expected a redirect"),
        }
        let plain = RawParams::parse(&query("").to_query().replace("S256", "plain"));
        match validate(&plain, Some(client())) {
            Err(AuthorizeError::Redirect(error)) => {
                assert_eq!(error.error, "invalid_request");
                assert_eq!(error.state.as_deref(), Some("s"));
            }
            _ => panic!("expected a redirect"),
        }
    }

    #[test]
    fn form_decoding() {
        assert_eq!(form_pairs("a=b+c&d=%2F%zz&e"), vec![
            ("a".into(), "b c".into()),
            ("d".into(), "/%zz".into()),
            ("e".into(), "".into())
        ]);
    }
}
