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
    /// `application/x-www-form-urlencoded` decoding (RFC 6749 Appendix B), by the WHATWG URL rules the
    /// `form_urlencoded` crate implements: `+` is a space, `%XX` a byte, a `%` without two hex digits stays
    /// a `%`, and bytes that are not UTF-8 become U+FFFD. Repeats are kept, so that `single` can refuse them.
    pub fn parse(query: &str) -> Self {
        Self(form_urlencoded::parse(query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect())
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

    /// Re-encodes the parameters, to carry the request through the login and consent forms, and to build
    /// the query of a redirect (RFC 6749 Appendix B).
    pub fn to_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&self.0).finish()
    }
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
    // A URI registered before the browser-parsing rules (see `RedirectUri::parse`) is checked again here, so
    // a stored `http://evil.example\@localhost/cb` never receives a code.
    RedirectUri::parse(redirect_uri.as_str())
        .map_err(|_| unsafe_error("The registered redirect_uri is no longer accepted; the client must register it again."))?;
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
    fn plus_is_a_space_and_percent_escapes_are_bytes() {
        assert_eq!(RawParams::parse("a=b+c&d=%2F%zz&e&state=%E2%9C%93").0, vec![
            ("a".into(), "b c".into()),
            ("d".into(), "/%zz".into()),
            ("e".into(), "".into()),
            ("state".into(), "✓".into()),
        ]);
    }

    /// `u8::from_str_radix` accepts a leading `+`, so a hand-written decoder once read `%+1` as byte 0x01.
    #[test]
    fn percent_plus_one_is_never_byte_0x01() {
        let decoded = RawParams::parse("state=%+1&nonce=%+F").0;
        assert_eq!(decoded, vec![("state".into(), "% 1".into()), ("nonce".into(), "% F".into())]);
        assert!(decoded.iter().all(|(_, value)| !value.contains('\u{1}') && !value.contains('\u{f}')));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_kept_as_bytes() {
        assert_eq!(RawParams::parse("state=%FF%FEok").0, vec![("state".into(), "\u{FFFD}\u{FFFD}ok".into())]);
    }

    #[test]
    fn rfc6749_3_1_a_repeated_parameter_is_refused() {
        let repeated = query("&state=again");
        assert_eq!(repeated.single("state"), Err("The state parameter is repeated.".to_string()));
        assert!(matches!(validate(&repeated, Some(client())), Err(AuthorizeError::Redirect(error)) if error.error == "invalid_request"));
        assert_eq!(RawParams::parse("client_id=a&client_id=a").single("client_id").ok(), None, "even with the same value");
    }

    #[test]
    fn to_query_round_trips_every_character() {
        let raw = RawParams(vec![
            ("redirect_uri".into(), "https://app.example/cb?x=1&y=2#f".into()),
            ("state".into(), "a b+c%20d=é&".into()),
            ("empty".into(), String::new()),
        ]);
        let query = raw.to_query();
        assert!(!query.contains(' ') && !query.contains('#') && query.matches('&').count() == 2, "{query}");
        assert_eq!(RawParams::parse(&query).0, raw.0);
    }
}
