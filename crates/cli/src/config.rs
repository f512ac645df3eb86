//! Settings, with precedence flags > `GATEHOUSE_*` environment variables > TOML file > defaults. Clap
//! resolves the first two; this module fills the rest from the file and the defaults.

use std::net::SocketAddr;
use std::path::Path;

use gatehouse_app::keys::KeyProtection;
use gatehouse_app::mail::MailSettings;
use gatehouse_app::smtp::SmtpMailer;
use gatehouse_app::rate_limit::{LimitSettings, RedisCounters};
use gatehouse_domain::secrets::SecretsKeys;
use gatehouse_domain::policy::Policy;
use gatehouse_http::client_address::TrustedProxies;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://./gatehouse.db";

/// The TOML file. Unknown keys are an error: a misspelt setting must not be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub zone: Option<String>,
    pub issuer: Option<String>,
    pub last_used_flush_secs: Option<u64>,
    /// OAuth access-token lifetime in seconds (default 300, Make's documented 5 minutes).
    pub access_token_lifetime_secs: Option<i64>,
    /// How long a retried refresh of an already-rotated token is answered (default 30 s).
    pub refresh_grace_secs: Option<i64>,
    /// Whether public clients get refresh tokens (default false, as at Make).
    pub public_client_refresh_tokens: Option<bool>,
    /// What signs OAuth access tokens: "RS256" (default) or "ES256". ID tokens are always RS256.
    pub access_token_algorithm: Option<String>,
    pub revocation_poll_ms: Option<u64>,
    /// Proxies (addresses or CIDR ranges) whose `Forwarded` / `X-Forwarded-For` headers are believed.
    /// Default: loopback only.
    pub trusted_proxies: Option<Vec<String>>,
    /// The forward-auth route policy (TOML). Default: Make's own endpoint → scope table.
    pub policy: Option<std::path::PathBuf>,
    /// Redis shared by the nodes for rate-limit counters (`serve --redis-url` overrides it).
    pub redis_url: Option<String>,
    /// Rate limits beyond Make's per-organization one.
    pub rate_limits: Option<RateLimitsConfig>,
    /// A file holding the secrets keys that encrypt the signing keys at rest (one a line, the encrypting
    /// one first). `GATEHOUSE_SECRETS_KEY` and `--secrets-key-file` take precedence.
    pub secrets_key_file: Option<std::path::PathBuf>,
    /// Connection bounds: timeouts and the connection cap.
    pub server: Option<ServerConfig>,
    /// Where Prometheus metrics are served (`serve --metrics-listen` overrides it); unset: nowhere.
    pub metrics_listen: Option<String>,
    /// The SMTP server email goes out through (`serve --smtp-url` overrides it); unset: no email.
    pub smtp_url: Option<String>,
    /// The `From` of Gatehouse's email (`serve --mail-from`); default `Gatehouse <noreply@ISSUER-HOST>`.
    pub mail_from: Option<String>,
}

/// `[server]`: every key optional. A slow or silent client is cut off at these bounds (issue 10, hole 5).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Seconds for a request's headers to arrive, and for a kept-alive connection to start its next request
    /// (default 10).
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a connection may be silent, neither side sending, before it is closed (default 60).
    pub idle_timeout_secs: Option<u64>,
    /// Seconds from a request's headers to its response, reading the body included (default 30).
    pub request_timeout_secs: Option<u64>,
    /// Connections served at once; further clients wait to be accepted (default 4096).
    pub max_connections: Option<usize>,
}

/// `[rate_limits]`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsConfig {
    /// Prefix of every Redis key (default "gatehouse:"): deployments sharing a Redis use different ones.
    pub redis_prefix: Option<String>,
    /// Requests per minute per API token or OAuth access token (default: no limit).
    pub per_token_per_minute: Option<u64>,
    /// `/api/v2` requests per minute per OAuth client, its tokens together (default: no limit).
    pub per_client_per_minute: Option<u64>,
    /// Token-endpoint requests per minute per client id (default 600).
    pub token_endpoint_per_client_per_minute: Option<u64>,
    /// Password checks per minute for one account from one address (default 5; the backoff's first rung).
    pub login_checks_per_minute: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("invalid listen address {value:?}: {reason}; write HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080 ([::1]:8080 for IPv6)")]
    Listen { value: String, reason: String },
    #[error(
        "--listen {0} accepts connections from other machines, so Gatehouse must be told the public URL they reach it at: \
         set --issuer (or GATEHOUSE_ISSUER, or issuer in the config file), e.g. --issuer https://auth.example.com. \
         Without it, discovery and every token would name http://{0}, which clients elsewhere cannot use. \
         To serve this machine only, listen on 127.0.0.1 or localhost"
    )]
    PublicListenWithoutIssuer(String),
    #[error("invalid issuer {0:?}: it must be an absolute http(s) URL without query or fragment")]
    Issuer(String),
    #[error("invalid {flag} {value:?}: {reason}")]
    Duration { flag: &'static str, value: String, reason: String },
    #[error("invalid trusted proxy: {0}")]
    TrustedProxy(String),
    #[error("invalid route policy {path}: {reason}")]
    Policy { path: String, reason: String },
    #[error("invalid rate-limit setting: {0}")]
    RateLimits(String),
    #[error("invalid email setting: {0}")]
    Mail(String),
    #[error("invalid OAuth setting: {0}")]
    OAuth(String),
    #[error("invalid secrets key ({origin}): {reason}")]
    Secrets { origin: String, reason: String },
    #[error("invalid [server] setting: {0}")]
    Server(&'static str),
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else { return Ok(Self::default()) };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.display().to_string(), source })
    }
}

/// The secrets keys that seal the signing keys at rest (issue 10, hole 7): `GATEHOUSE_SECRETS_KEY` over
/// the key file (flag, then config file). Without any, only the named development mode stores keys in
/// clear; otherwise nothing may read or write them (and `serve` refuses to start).
pub fn resolve_key_protection(
    key_file_flag: Option<&Path>,
    insecure_dev_keys: bool,
    file: &FileConfig,
) -> Result<KeyProtection, ConfigError> {
    let invalid = |origin: &str, reason: String| ConfigError::Secrets { origin: origin.to_string(), reason };
    let from_env = std::env::var("GATEHOUSE_SECRETS_KEY").ok().filter(|value| !value.trim().is_empty());
    let (source, text) = match (from_env, key_file_flag.or(file.secrets_key_file.as_deref())) {
        (Some(value), _) => ("GATEHOUSE_SECRETS_KEY".to_string(), value),
        (None, Some(path)) => {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|error| invalid(&shown, error.to_string()))?;
            warn_if_others_may_read(path);
            (shown, text)
        }
        (None, None) if insecure_dev_keys => return Ok(KeyProtection::InsecurePlaintext),
        (None, None) => return Ok(KeyProtection::Missing),
    };
    let keys = SecretsKeys::parse_list(&text).map_err(|error| invalid(&source, error.to_string()))?;
    Ok(KeyProtection::Sealed(std::sync::Arc::new(keys)))
}

/// A secrets key file others may read is a key in clear beside the store: said once, at start.
fn warn_if_others_may_read(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the secrets key file is readable by others than its owner: chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Where `serve` listens: the address it binds, and the host as written, so that a name given on the command
/// line (`localhost:8080`) stays a name in the default issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress {
    /// The host as written (an IPv6 address in brackets), for URLs.
    pub host: String,
    pub addr: SocketAddr,
}

impl ListenAddress {
    /// `http://HOST:PORT`: the issuer when none is set, with the port really bound (port 0 picks one).
    pub fn default_issuer(&self, bound_port: u16) -> String {
        format!("http://{}:{bound_port}", self.host)
    }

    /// Whether other machines can connect: any address but loopback (0.0.0.0 and :: are every interface).
    pub fn is_public(&self) -> bool {
        !self.addr.ip().is_loopback()
    }
}

impl std::fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.addr.port())
    }
}

/// The flag over the file over `127.0.0.1:8080`. A host name is resolved (its IPv4 address first, as
/// `localhost` should mean 127.0.0.1 where both exist).
pub fn resolve_listen(flag: Option<String>, file: &FileConfig) -> Result<ListenAddress, ConfigError> {
    let text = flag.or_else(|| file.listen.clone()).unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    parse_listen(text.trim())
}

fn parse_listen(text: &str) -> Result<ListenAddress, ConfigError> {
    use std::net::ToSocketAddrs;
    let invalid = |reason: String| ConfigError::Listen { value: text.to_string(), reason };
    if let Ok(addr) = text.parse::<SocketAddr>() {
        let host = match addr {
            SocketAddr::V4(v4) => v4.ip().to_string(),
            SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
        };
        return Ok(ListenAddress { host, addr });
    }
    let Some((host, port)) = text.rsplit_once(':') else { return Err(invalid("no port".into())) };
    if host.is_empty() {
        return Err(invalid("no host".into()));
    }
    if host.contains(':') && !host.starts_with('[') {
        return Err(invalid("an IPv6 address goes in brackets".into()));
    }
    let port: u16 = port.parse().map_err(|_| invalid(format!("{port:?} is not a port (0 to 65535)")))?;
    let resolved: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|error| invalid(format!("cannot resolve {host}: {error}")))?.collect();
    let addr = resolved
        .iter()
        .find(|addr| addr.is_ipv4())
        .or_else(|| resolved.first())
        .copied()
        .ok_or_else(|| invalid(format!("{host} resolves to no address")))?;
    Ok(ListenAddress { host: host.to_string(), addr })
}

/// A public listen address needs an issuer: the default one (`http://0.0.0.0:8080`) names no place a
/// client can reach, and OAuth clients compare the discovered issuer byte for byte.
pub fn check_public_listen(listen: &ListenAddress, issuer_set: bool) -> Result<(), ConfigError> {
    if listen.is_public() && !issuer_set {
        return Err(ConfigError::PublicListenWithoutIssuer(listen.to_string()));
    }
    Ok(())
}

/// Flags (or `GATEHOUSE_TRUSTED_PROXIES`, comma-separated) over the file over loopback.
pub fn resolve_trusted_proxies(flags: Vec<String>, file: &FileConfig) -> Result<TrustedProxies, ConfigError> {
    let entries: Vec<String> = if flags.is_empty() {
        match &file.trusted_proxies {
            Some(entries) => entries.clone(),
            None => return Ok(TrustedProxies::loopback()),
        }
    } else {
        flags.iter().flat_map(|flag| flag.split(',')).map(str::trim).filter(|entry| !entry.is_empty()).map(String::from).collect()
    };
    TrustedProxies::parse(&entries).map_err(ConfigError::TrustedProxy)
}

/// The forward-auth route policy: the flag over the file over Make's table. Read and validated before
/// anything starts, so a typo in a rule stops `serve` instead of denying (or allowing) in production.
pub fn resolve_policy(flag: Option<&Path>, file: &FileConfig) -> Result<Policy, ConfigError> {
    let Some(path) = flag.or(file.policy.as_deref()) else {
        return Policy::make_default().map_err(|error| ConfigError::Policy { path: "(built in)".into(), reason: error.to_string() });
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Policy { path: shown.clone(), reason: error.to_string() })?;
    Policy::from_toml(&text).map_err(|error| ConfigError::Policy { path: shown, reason: error.to_string() })
}

/// The flag over the file; limits beyond Make's from the file. A malformed Redis URL stops the start
/// rather than quietly counting per node.
pub fn resolve_limits(redis_url: Option<String>, file: &FileConfig) -> Result<LimitSettings, ConfigError> {
    let mut limits = LimitSettings { redis_url: redis_url.or_else(|| file.redis_url.clone()).filter(|url| !url.is_empty()), ..LimitSettings::default() };
    if let Some(url) = &limits.redis_url {
        RedisCounters::new(url, "").map_err(|error| ConfigError::RateLimits(error.to_string()))?;
    }
    if let Some(config) = &file.rate_limits {
        if let Some(prefix) = &config.redis_prefix {
            limits.redis_prefix.clone_from(prefix);
        }
        limits.per_token_per_minute = config.per_token_per_minute;
        limits.per_client_per_minute = config.per_client_per_minute;
        if let Some(limit) = config.token_endpoint_per_client_per_minute {
            limits.token_endpoint_per_client_per_minute = limit;
        }
        if let Some(limit) = config.login_checks_per_minute {
            limits.login_checks_per_minute = limit;
        }
        let zero = [limits.per_token_per_minute, limits.per_client_per_minute, Some(limits.token_endpoint_per_client_per_minute), Some(limits.login_checks_per_minute)];
        if zero.contains(&Some(0)) {
            return Err(ConfigError::RateLimits("a limit of 0 would refuse everything; leave it out to turn it off".into()));
        }
    }
    Ok(limits)
}

/// The `[server]` section over the defaults.
pub fn resolve_edge(file: &FileConfig) -> Result<gatehouse_http::EdgeLimits, ConfigError> {
    use std::time::Duration;
    let mut edge = gatehouse_http::EdgeLimits::default();
    let Some(config) = &file.server else { return Ok(edge) };
    let secs = |value: Option<u64>, default: Duration, what: &'static str| match value {
        Some(0) => Err(ConfigError::Server(what)),
        Some(secs) if secs > 86_400 => Err(ConfigError::Server(what)),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Ok(default),
    };
    edge.header_read_timeout = secs(config.header_read_timeout_secs, edge.header_read_timeout, "header_read_timeout_secs must be from 1 to 86400")?;
    edge.idle_timeout = secs(config.idle_timeout_secs, edge.idle_timeout, "idle_timeout_secs must be from 1 to 86400")?;
    edge.request_timeout = secs(config.request_timeout_secs, edge.request_timeout, "request_timeout_secs must be from 1 to 86400")?;
    // The idle check does not know whether a request is in flight: a handler waiting on the store writes
    // nothing, and must reach its own deadline (a 408) before the connection is deemed idle.
    if edge.idle_timeout < edge.request_timeout {
        return Err(ConfigError::Server("idle_timeout_secs must be at least request_timeout_secs"));
    }
    if let Some(max) = config.max_connections {
        if max == 0 {
            return Err(ConfigError::Server("max_connections must be at least 1"));
        }
        edge.max_connections = max;
    }
    Ok(edge)
}

pub fn resolve_database(flag: Option<String>, file: &FileConfig) -> String {
    flag.or_else(|| file.database.clone()).unwrap_or_else(|| DEFAULT_DATABASE.to_string())
}

/// The flags over the file. A malformed SMTP URL or sender stops the start rather than losing every message
/// later; the URL's password is never part of the error.
pub fn resolve_mail(smtp_url: Option<String>, mail_from: Option<String>, file: &FileConfig) -> Result<MailSettings, ConfigError> {
    let smtp_url = smtp_url.or_else(|| file.smtp_url.clone()).filter(|url| !url.trim().is_empty());
    let from = mail_from.or_else(|| file.mail_from.clone()).filter(|from| !from.trim().is_empty());
    if let Some(url) = &smtp_url {
        SmtpMailer::from_url(url).map_err(|error| ConfigError::Mail(error.0))?;
    }
    if let Some(from) = &from {
        SmtpMailer::check_sender(from).map_err(|error| ConfigError::Mail(error.0))?;
    }
    Ok(MailSettings { smtp_url, from })
}

/// The issuer is the server's public URL: the flag or the file, else `default` (where it listens).
pub fn resolve_issuer(chosen: Option<String>, default: String) -> Result<String, ConfigError> {
    let issuer = chosen.unwrap_or(default);
    let issuer = issuer.trim_end_matches('/').to_string();
    let valid = (issuer.starts_with("http://") || issuer.starts_with("https://"))
        && !issuer.contains(['?', '#', ' '])
        && issuer.len() > "https://".len();
    if valid { Ok(issuer) } else { Err(ConfigError::Issuer(issuer)) }
}

/// A duration as flags take it: a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`90d`, `5m`). A bare
/// number is refused rather than read as seconds: `--expires-in 90` meant days as often as seconds.
pub fn parse_duration(flag: &'static str, text: &str) -> Result<std::time::Duration, ConfigError> {
    let text = text.trim();
    let invalid = |reason: String| ConfigError::Duration { flag, value: text.to_string(), reason };
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(invalid("write a whole number and a unit, e.g. 90s, 30m, 12h or 90d".into()));
    }
    let amount: u64 = digits.parse().map_err(|_| invalid("the number is too large".into()))?;
    let unit_secs = match unit {
        "" => return Err(invalid(format!("add a unit: {amount}s, {amount}m, {amount}h or {amount}d"))),
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(invalid(format!("unknown unit {unit:?}: use s, m, h, d or w (e.g. 90s, 30m, 12h, 90d)"))),
    };
    let secs = amount.checked_mul(unit_secs).ok_or_else(|| invalid("the duration is too long".into()))?;
    Ok(std::time::Duration::from_secs(secs))
}

/// A bounded duration setting, from a flag (with a unit) or from the file (in seconds).
fn duration_setting(
    flag: (&'static str, Option<String>),
    file: (&'static str, Option<i64>),
    range: std::ops::RangeInclusive<u64>,
    shown_range: &str,
) -> Result<Option<i64>, ConfigError> {
    let secs = match (flag.1, file.1) {
        (Some(text), _) => parse_duration(flag.0, &text)?.as_secs(),
        (None, Some(secs)) => u64::try_from(secs).map_err(|_| ConfigError::OAuth(format!("{} must be {shown_range} (in seconds)", file.0)))?,
        (None, None) => return Ok(None),
    };
    if !range.contains(&secs) {
        return Err(ConfigError::OAuth(format!("{} / {} must be {shown_range}", flag.0, file.0)));
    }
    Ok(Some(secs as i64))
}

/// OAuth settings: flags > file > defaults. The flags' durations take a unit (`5m`); the file's keys are
/// in seconds, as their names say.
pub fn resolve_oauth(
    access_token_lifetime: Option<String>,
    refresh_grace: Option<String>,
    public_refresh: Option<bool>,
    access_token_algorithm: Option<String>,
    file: &FileConfig,
) -> Result<gatehouse_domain::oauth::OAuthSettings, ConfigError> {
    let mut settings = gatehouse_domain::oauth::OAuthSettings::default();
    let lifetime = duration_setting(
        ("--access-token-lifetime", access_token_lifetime),
        ("access_token_lifetime_secs", file.access_token_lifetime_secs),
        30..=86_400,
        "from 30 seconds to 24 hours (30s to 24h)",
    )?;
    if let Some(secs) = lifetime {
        settings.access_token_ttl_secs = secs;
    }
    let grace = duration_setting(
        ("--refresh-grace", refresh_grace),
        ("refresh_grace_secs", file.refresh_grace_secs),
        0..=300,
        "from 0 to 5 minutes (0s to 5m)",
    )?;
    if let Some(secs) = grace {
        settings.refresh_grace_secs = secs;
    }
    if let Some(allow) = public_refresh.or(file.public_client_refresh_tokens) {
        settings.public_clients_get_refresh_tokens = allow;
    }
    if let Some(name) = access_token_algorithm.or_else(|| file.access_token_algorithm.clone()) {
        settings.access_token_algorithm = gatehouse_domain::oauth::jose::SigningAlgorithm::parse(&name)
            .ok_or_else(|| ConfigError::OAuth("the access-token algorithm must be RS256 or ES256".into()))?;
    }
    Ok(settings)
}

/// The host (and port) of a URL: the default zone name.
pub fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let file = FileConfig { listen: Some("127.0.0.1:9000".into()), ..FileConfig::default() };
        assert_eq!(resolve_listen(Some("127.0.0.1:9100".into()), &file).unwrap().addr.port(), 9100);
        assert_eq!(resolve_listen(None, &file).unwrap().addr.port(), 9000);
        assert_eq!(resolve_listen(None, &FileConfig::default()).unwrap().addr.port(), 8080);
    }

    #[test]
    fn listen_takes_host_names_and_explains_the_form() {
        let named = resolve_listen(Some("localhost:8081".into()), &FileConfig::default()).unwrap();
        assert_eq!((named.host.as_str(), named.addr.port()), ("localhost", 8081));
        assert!(named.addr.ip().is_loopback() && !named.is_public());
        assert_eq!(named.default_issuer(8081), "http://localhost:8081");
        let v6 = resolve_listen(Some("[::1]:8082".into()), &FileConfig::default()).unwrap();
        assert_eq!(v6.default_issuer(8082), "http://[::1]:8082");
        for bad in ["localhost", "8080", ":8080", "localhost:http", "::1:8080"] {
            let error = resolve_listen(Some(bad.into()), &FileConfig::default()).unwrap_err().to_string();
            assert!(error.contains("HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_public_listen_address_needs_an_issuer() {
        for public in ["0.0.0.0:8097", "[::]:8097"] {
            let listen = resolve_listen(Some(public.into()), &FileConfig::default()).unwrap();
            assert!(check_public_listen(&listen, false).unwrap_err().to_string().contains("--issuer"), "{public}");
            assert!(check_public_listen(&listen, true).is_ok());
        }
        let local = resolve_listen(Some("127.0.0.1:8097".into()), &FileConfig::default()).unwrap();
        assert!(check_public_listen(&local, false).is_ok());
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("--expires-in", "90d").unwrap().as_secs(), 90 * 86_400);
        assert_eq!(parse_duration("--expires-in", "5m").unwrap().as_secs(), 300);
        assert_eq!(parse_duration("--refresh-grace", "0s").unwrap().as_secs(), 0);
        let bare = parse_duration("--expires-in", "90").unwrap_err().to_string();
        assert!(bare.contains("add a unit: 90s, 90m, 90h or 90d"), "{bare}");
        for bad in ["soon", "-5m", "5y", "99999999999999999999w", "m"] {
            assert!(parse_duration("--expires-in", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oauth_durations_take_a_unit_on_flags_and_seconds_in_the_file() {
        let file = FileConfig::default();
        assert_eq!(resolve_oauth(Some("2m".into()), Some("0s".into()), None, None, &file).unwrap().access_token_ttl_secs, 120);
        assert!(resolve_oauth(Some("120".into()), None, None, None, &file).unwrap_err().to_string().contains("add a unit"));
        assert!(resolve_oauth(Some("10s".into()), None, None, None, &file).is_err(), "below 30 seconds");
        assert!(resolve_oauth(None, Some("10m".into()), None, None, &file).is_err(), "above 5 minutes");
        let file = FileConfig { access_token_lifetime_secs: Some(600), refresh_grace_secs: Some(0), ..FileConfig::default() };
        let settings = resolve_oauth(None, None, None, None, &file).unwrap();
        assert_eq!((settings.access_token_ttl_secs, settings.refresh_grace_secs), (600, 0));
    }

    #[test]
    fn server_bounds_default_and_are_checked() {
        let defaults = resolve_edge(&FileConfig::default()).unwrap();
        assert_eq!(defaults, gatehouse_http::EdgeLimits::default());
        let file: FileConfig = toml::from_str("[server]\nheader_read_timeout_secs = 2\nrequest_timeout_secs = 5\nidle_timeout_secs = 9\nmax_connections = 10\n").unwrap();
        let edge = resolve_edge(&file).unwrap();
        assert_eq!(edge.header_read_timeout.as_secs(), 2);
        assert_eq!(edge.request_timeout.as_secs(), 5);
        assert_eq!(edge.idle_timeout.as_secs(), 9);
        assert_eq!(edge.max_connections, 10);
        for bad in ["max_connections = 0", "header_read_timeout_secs = 0", "idle_timeout_secs = 5\nrequest_timeout_secs = 10", "header_timeout = 3"] {
            let parsed: Result<FileConfig, _> = toml::from_str(&format!("[server]\n{bad}\n"));
            assert!(parsed.map_err(|_| ()).and_then(|file| resolve_edge(&file).map_err(|_| ())).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_defaults_to_the_listen_address_and_must_be_a_url() {
        let listen = resolve_listen(Some("127.0.0.1:0".into()), &FileConfig::default()).unwrap();
        assert_eq!(resolve_issuer(None, listen.default_issuer(8080)).unwrap(), "http://127.0.0.1:8080");
        assert_eq!(resolve_issuer(Some("https://auth.example.com/".into()), listen.default_issuer(8080)).unwrap(), "https://auth.example.com");
        assert!(resolve_issuer(Some("auth.example.com".into()), listen.default_issuer(8080)).is_err());
        assert_eq!(host_of("https://auth.example.com/x"), "auth.example.com");
    }

    #[test]
    fn the_access_token_algorithm_is_rs256_unless_es256_is_chosen() {
        use gatehouse_domain::oauth::jose::SigningAlgorithm;
        let file = FileConfig::default();
        assert_eq!(resolve_oauth(None, None, None, None, &file).unwrap().access_token_algorithm, SigningAlgorithm::Rs256);
        let file = FileConfig { access_token_algorithm: Some("ES256".into()), ..FileConfig::default() };
        assert_eq!(resolve_oauth(None, None, None, None, &file).unwrap().access_token_algorithm, SigningAlgorithm::Es256);
        assert_eq!(
            resolve_oauth(None, None, None, Some("RS256".into()), &file).unwrap().access_token_algorithm,
            SigningAlgorithm::Rs256,
            "the flag wins over the file"
        );
        assert!(resolve_oauth(None, None, None, Some("HS256".into()), &file).is_err(), "no shared-secret algorithms");
        assert!(resolve_oauth(None, None, None, Some("none".into()), &file).is_err());
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        assert!(toml::from_str::<FileConfig>("listne = \"x\"").is_err());
        assert!(toml::from_str::<FileConfig>("zone = \"eu1.example.com\"").is_ok());
    }
}
