//! OAuth clients, the Make way: requested by a developer, approved by hand, never granted more than the
//! scopes they were approved for.

use std::fmt;

use crate::api_token::TokenHash;
use crate::error::ValidationError;
use crate::identity::{UserId, parse_name};
use crate::scope::ScopeSet;
use crate::time::Timestamp;
use crate::random::Random;

use super::secret::{OpaqueSecret, random_id};

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// A new random client id. Never one that starts with `-`: people pass client ids to the command line
    /// (`gatehouse client approve <id>`), where a leading dash reads as an option. One draw in 64 is
    /// redrawn, which leaves 127.9 random bits.
    pub fn generate(random: &dyn Random) -> Self {
        loop {
            let id = random_id(random);
            if !id.starts_with('-') {
                return Self(id);
            }
        }
    }

    /// A client id as presented: printable ASCII without spaces, at most 128 characters. Whether it names
    /// a client is the store's answer.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(text.to_string()))
    }

    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6749 §2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret: authenticates with `client_secret_post` or `client_secret_basic`.
    Confidential,
    /// A browser or native app: identifies itself by `client_id` alone (`none`), so PKCE is its only proof.
    Public,
}

impl ClientType {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "confidential" => Ok(Self::Confidential),
            "public" => Ok(Self::Public),
            other => Err(ValidationError::new(format!("Unknown client type {other:?}: use confidential or public."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    Requested,
    Approved,
    Rejected,
}

impl ClientStatus {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "requested" => Ok(Self::Requested),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            other => Err(ValidationError::new(format!("Unknown client status {other:?}."))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

/// A registered redirect URI. Matching is exact, byte for byte (RFC 9700 §4.1.3): no normalisation, no
/// prefix or wildcard matching, so a look-alike URI is never redirected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Registration rules: an absolute URI without a fragment (RFC 6749 §3.1.2); `https`, or `http` only on
    /// a loopback host (RFC 8252 §7.3), or a private-use scheme for native apps (RFC 8252 §7.1).
    ///
    /// The URI is read as a browser reads it (the WHATWG URL standard, which the `url` crate implements),
    /// and must already be in the form a browser would serialise it to. Whatever a browser would rewrite
    /// (a backslash that becomes `/`, an upper-case host, a default port, a `..` segment, a stray
    /// percent-encoding) is refused: `http://evil.example\@localhost/cb` looks like a loopback URI to a
    /// naive reading, but a browser sends the code to `evil.example`.
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &str| ValidationError::new(format!("Invalid redirect URI {text:?}: {why}."));
        if text.len() > 2000 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("it must be at most 2000 characters without spaces"));
        }
        if text.contains('#') {
            return Err(invalid("it must not contain a fragment"));
        }
        if text.contains('\\') {
            return Err(invalid("it must not contain a backslash"));
        }
        let url = url::Url::parse(text).map_err(|_| invalid("it must be absolute"))?;
        if url.as_str() != text {
            return Err(invalid(&format!("a browser reads it as {:?}; register it in that form", url.as_str())));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it must not contain a user name or password"));
        }
        match url.scheme() {
            "https" => {
                url.host_str().filter(|host| !host.is_empty()).ok_or_else(|| invalid("it has no host"))?;
            }
            "http" => {
                let loopback = match url.host() {
                    Some(url::Host::Ipv4(address)) => address == std::net::Ipv4Addr::LOCALHOST,
                    Some(url::Host::Ipv6(address)) => address == std::net::Ipv6Addr::LOCALHOST,
                    Some(url::Host::Domain(name)) => name == "localhost",
                    None => false,
                };
                if !loopback {
                    return Err(invalid("http is only allowed on a loopback host; use https"));
                }
            }
            "javascript" | "data" | "file" | "vbscript" | "blob" | "about" => {
                return Err(invalid("this scheme is not allowed"));
            }
            scheme if !scheme.contains('.') => {
                return Err(invalid("a private-use scheme must be a reversed domain name, e.g. com.example.app"));
            }
            _ => {}
        }
        Ok(Self(text.to_string()))
    }

    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub id: ClientId,
    pub name: String,
    pub description: String,
    pub client_type: ClientType,
    /// Only confidential clients have one, and only once approved.
    pub secret_hash: Option<TokenHash>,
    pub redirect_uris: Vec<RedirectUri>,
    /// Requested scopes while `Requested`; the approved ones afterwards.
    pub scopes: ScopeSet,
    pub status: ClientStatus,
    pub owner: UserId,
    /// A public client that may receive refresh tokens even when the server default says no.
    pub allow_refresh: bool,
    pub created: Timestamp,
}

impl OAuthClient {
    pub fn is_approved(&self) -> bool {
        self.status == ClientStatus::Approved
    }

    /// Exact match, byte for byte, against the registered list.
    pub fn redirect_uri(&self, presented: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|uri| uri.as_str() == presented)
    }

    /// Whether the presented secret is this client's: hashed, then compared in constant time.
    pub fn secret_matches(&self, presented: &str) -> bool {
        let Some(stored) = &self.secret_hash else { return false };
        match OpaqueSecret::parse(presented) {
            Some(secret) => secret.hash().matches(stored),
            None => false,
        }
    }

    /// The scopes this client may ever be granted: its approved API scopes plus the OpenID Connect scopes,
    /// which describe the user's identity rather than API access and need no approval.
    pub fn grantable_scopes(&self) -> ScopeSet {
        let openid = ScopeSet::catalog().filter(|scope| !scope.is_api_scope()).collect::<ScopeSet>();
        self.scopes.union(openid)
    }
}

/// A validated client request (from the API or the CLI).
#[derive(Debug, Clone)]
pub struct NewClient {
    pub name: String,
    pub description: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<RedirectUri>,
    pub scopes: ScopeSet,
    pub allow_refresh: bool,
}

impl NewClient {
    pub fn new(
        name: &str,
        description: &str,
        client_type: &str,
        redirect_uris: &[impl AsRef<str>],
        scope_names: &[impl AsRef<str>],
    ) -> Result<Self, ValidationError> {
        let name = parse_name(name, "client")?;
        let description = description.trim().to_string();
        if description.chars().count() > 2000 {
            return Err(ValidationError::new("The description must be at most 2000 characters."));
        }
        let client_type = ClientType::parse(client_type)?;
        if redirect_uris.is_empty() {
            return Err(ValidationError::new("At least one redirect URI is required."));
        }
        if redirect_uris.len() > 20 {
            return Err(ValidationError::new("At most 20 redirect URIs may be registered."));
        }
        let redirect_uris =
            redirect_uris.iter().map(|uri| RedirectUri::parse(uri.as_ref())).collect::<Result<Vec<_>, _>>()?;
        let scopes = ScopeSet::parse_names(scope_names.iter().map(AsRef::as_ref))?;
        if scopes.is_empty() {
            return Err(ValidationError::new("At least one scope is required."));
        }
        Ok(Self { name, description, client_type, redirect_uris, scopes, allow_refresh: false })
    }

    /// The client as first stored: requested, without a secret.
    pub fn into_client(self, owner: UserId, now: Timestamp, random: &dyn Random) -> OAuthClient {
        OAuthClient {
            id: ClientId::generate(random),
            name: self.name,
            description: self.description,
            client_type: self.client_type,
            secret_hash: None,
            redirect_uris: self.redirect_uris,
            scopes: self.scopes,
            status: ClientStatus::Requested,
            owner,
            allow_refresh: self.allow_refresh,
            created: now,
        }
    }
}

/// Approval: a confidential client gets a secret, shown once and stored hashed. Returns the secret to show.
pub fn approve(client: &mut OAuthClient, random: &dyn Random) -> Option<OpaqueSecret> {
    client.status = ClientStatus::Approved;
    match client.client_type {
        ClientType::Confidential => {
            let secret = OpaqueSecret::generate(random);
            client.secret_hash = Some(secret.hash());
            Some(secret)
        }
        ClientType::Public => {
            client.secret_hash = None;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_client_id_never_reads_as_a_command_line_option() {
        // Without the redraw, one id in 64 starts with '-': among 2000, one would all but surely.
        let random = crate::random::SeededRandom::new(11);
        for _ in 0..2000 {
            let id = ClientId::generate(&random);
            assert!(!id.as_str().starts_with('-'), "{}", id.as_str());
            assert_eq!(id.as_str().len(), 22);
        }
    }

    #[test]
    fn redirect_uris_follow_the_registration_rules() {
        assert!(RedirectUri::parse("https://app.example.com/cb").is_ok());
        assert!(RedirectUri::parse("http://127.0.0.1:8123/cb").is_ok());
        assert!(RedirectUri::parse("http://localhost/cb").is_ok());
        assert!(RedirectUri::parse("http://[::1]:9/cb").is_ok());
        assert!(RedirectUri::parse("com.example.app:/oauth").is_ok());
        assert!(RedirectUri::parse("http://app.example.com/cb").is_err());
        assert!(RedirectUri::parse("http://127.0.0.1.evil.com/cb").is_err());
        assert!(RedirectUri::parse("https://app.example.com/cb#x").is_err());
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
        assert!(RedirectUri::parse("myapp:/cb").is_err());
        assert!(RedirectUri::parse("/relative").is_err());
    }

    /// Issue 10, hole 8: what a browser parses differently from a naive reading is refused (WHATWG URL).
    #[test]
    fn redirect_uris_a_browser_reads_differently_are_refused() {
        // A browser turns `\` into `/` in http(s) URLs: the host is evil.example, not localhost.
        assert!(RedirectUri::parse("http://evil.example\\@localhost/cb").is_err());
        assert!(RedirectUri::parse("https://evil.example\\@app.example.com/cb").is_err());
        assert!(RedirectUri::parse("http://localhost\\.evil.example/cb").is_err());
        // Userinfo, even on a loopback host.
        assert!(RedirectUri::parse("http://evil.example@localhost/cb").is_err());
        assert!(RedirectUri::parse("https://user:pass@app.example.com/cb").is_err());
        // Forms a browser would rewrite before sending the code.
        assert!(RedirectUri::parse("https://APP.example.com/cb").is_err());
        assert!(RedirectUri::parse("https://app.example.com:443/cb").is_err());
        assert!(RedirectUri::parse("https://app.example.com/a/../cb").is_err());
        assert!(RedirectUri::parse("http://127.1/cb").is_err());
        assert!(RedirectUri::parse("http://0x7f.0.0.1/cb").is_err());
        assert!(RedirectUri::parse("https:app.example.com/cb").is_err());
        assert!(RedirectUri::parse("https:///app.example.com/cb").is_err());
        assert!(RedirectUri::parse("https://app.example.com").is_err());
        // Loopback addresses other than the three named in RFC 8252 §7.3 are not loopback to us.
        assert!(RedirectUri::parse("http://127.0.0.2/cb").is_err());
        // What was valid stays valid.
        assert!(RedirectUri::parse("https://app.example.com/cb?x=1").is_ok());
        assert!(RedirectUri::parse("http://localhost:3000/cb").is_ok());
    }

    #[test]
    fn redirect_uri_matching_is_exact() {
        let mut client = NewClient::new("a", "", "public", &["https://app.example.com/cb"], &["teams:read"])
            .unwrap()
            .into_client(UserId(1), Timestamp::from_millis(0), &crate::SeededRandom::new(1));
        client.status = ClientStatus::Approved;
        assert!(client.redirect_uri("https://app.example.com/cb").is_some());
        assert!(client.redirect_uri("https://app.example.com/cb/").is_none());
        assert!(client.redirect_uri("https://app.example.com/cB").is_none());
        assert!(client.redirect_uri("https://APP.example.com/cb").is_none());
    }

    #[test]
    fn approval_gives_confidential_clients_a_secret_that_matches() {
        let mut client = NewClient::new("a", "", "confidential", &["https://a.example/cb"], &["teams:read"])
            .unwrap()
            .into_client(UserId(1), Timestamp::from_millis(0), &crate::SeededRandom::new(1));
        let secret = approve(&mut client, &crate::SeededRandom::new(2)).unwrap();
        assert!(client.secret_matches(&secret.reveal()));
        assert!(!client.secret_matches(&OpaqueSecret::generate(&crate::OsRandom).reveal()));
        assert!(!client.secret_matches("short"));
    }
}
