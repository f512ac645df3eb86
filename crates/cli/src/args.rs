//! The command line's arguments, as clap reads them. What each command does is in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gatehouse_domain::identity::DEFAULT_API_LIMIT;

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "Make-compatible API tokens, scopes and OAuth 2.0 / OpenID Connect")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args)]
pub struct Global {
    /// Store URL: sqlite://PATH (default sqlite://./gatehouse.db) or postgres://USER@HOST:PORT/DATABASE.
    /// Only `serve` (and `migrate --to`) create a store; every other command needs an existing one.
    #[arg(long, global = true, env = "GATEHOUSE_DATABASE_URL")]
    pub database: Option<String>,
    /// TOML configuration file (flags and GATEHOUSE_* variables take precedence).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The zone this deployment serves (default: the issuer's host:port). Recorded by the first `serve`;
    /// a different one is refused afterwards (see `serve --change-zone`).
    #[arg(long, global = true, env = "GATEHOUSE_ZONE")]
    pub zone: Option<String>,
    /// Print JSON instead of plain values.
    #[arg(long, global = true)]
    pub json: bool,
    /// A file holding the secrets keys that encrypt the OAuth signing keys at rest: one a line, the
    /// encrypting one first. The GATEHOUSE_SECRETS_KEY variable (comma-separated) takes precedence.
    #[arg(long, global = true, env = "GATEHOUSE_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<PathBuf>,
    /// Development only: without a secrets key, store the OAuth signing keys in clear.
    #[arg(
        long,
        global = true,
        env = "GATEHOUSE_DEV_MODE",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure_dev_keys: bool,
    /// Log lines as text (default) or as one JSON object a line. `GATEHOUSE_LOG` filters them
    /// (default info,sqlx=warn).
    #[arg(long, global = true, env = "GATEHOUSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage teams.
    #[command(subcommand)]
    Team(TeamCommand),
    /// Manage organization and team memberships.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage the OAuth signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Inspect the forward-auth route policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read the audit log: who did what, when and from where.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        shell: clap_complete::Shell,
    },
    /// Print gatehouse's man page (roff) on stdout, or write one page per command into a directory.
    Man {
        /// Write gatehouse.1, gatehouse-user.1, gatehouse-user-create.1, … into this directory instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Copy a whole store to another (e.g. SQLite to PostgreSQL). Tokens keep working.
    Migrate(MigrateArgs),
    /// Print the OpenAPI document of the HTTP API (as the server serves it at /api/v2/openapi.json).
    Openapi {
        /// The issuer (base URL) the document names as its server and in its OAuth flows
        /// [default: https://gatehouse.example.com, as in docs/openapi.json].
        #[arg(long)]
        issuer: Option<String>,
    },
}

#[derive(Args)]
pub struct MigrateArgs {
    /// Source store URL. It must exist, and hold something unless --allow-empty-source.
    #[arg(long)]
    pub from: String,
    /// Target store URL (created if missing; migrations are applied to it first).
    #[arg(long)]
    pub to: String,
    /// Delete every row of a non-empty target first instead of refusing. Says what it will delete and
    /// asks for confirmation at a terminal; elsewhere --yes is needed.
    #[arg(long)]
    pub replace: bool,
    /// Copy a source that holds no rows (refused by default: a mistyped path is the usual cause).
    #[arg(long)]
    pub allow_empty_source: bool,
    /// Confirm --replace without asking (needed when standard input is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args)]
pub struct ClientSpec {
    /// The developer who owns the client (an existing user's email).
    #[arg(long)]
    pub owner: String,
    #[arg(long)]
    pub name: String,
    /// confidential or public.
    #[arg(long = "type")]
    pub client_type: String,
    /// A redirect URI, matched exactly; repeat for several.
    #[arg(long = "redirect-uri", required = true)]
    pub redirect_uris: Vec<String>,
    /// A scope from the catalog; repeat for several.
    #[arg(long = "scope", required = true)]
    pub scopes: Vec<String>,
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Request a client (status: requested); prints its client_id.
    Request(ClientSpec),
    /// Make an approved client at once; prints client_id and client_secret (null for public clients).
    Create {
        #[command(flatten)]
        spec: ClientSpec,
        /// Let this public client receive refresh tokens.
        #[arg(long)]
        allow_refresh: bool,
    },
    /// Approve a requested client; prints its secret (shown once) for a confidential client.
    Approve {
        client_id: String,
        /// Approve only these of the requested scopes (default: all requested).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long)]
        allow_refresh: bool,
    },
    /// Reject a requested client.
    Reject { client_id: String },
    /// List clients, optionally by status (requested, approved, rejected).
    List {
        #[arg(long)]
        status: Option<String>,
    },
    /// Delete a client with its grants and tokens.
    Delete { client_id: String },
    /// Give a confidential client a new secret (the old one stops working at once); prints it once.
    RotateSecret { client_id: String },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Add new signing keys (RS256, and ES256 when access tokens use it). The old ones stop signing and
    /// stay published until their tokens expire.
    Rotate {
        /// The access-token algorithm the servers run with (RS256 or ES256), when not in the config file.
        #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_ALGORITHM")]
        access_token_algorithm: Option<String>,
    },
    /// List the signing keys.
    List,
    /// Re-encrypt every signing key under the first secrets key (after putting a new secrets key first;
    /// then the old one can be dropped). Keys still in clear are encrypted too.
    Reencrypt,
    /// Print a new random secrets key (256 bits) to put in GATEHOUSE_SECRETS_KEY or the key file.
    GenerateSecret,
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT: 127.0.0.1:8080 (the default), localhost:8080, [::1]:8080. Port 0
    /// picks a free port (the address is logged). Any address but loopback needs --issuer.
    #[arg(long, env = "GATEHOUSE_LISTEN")]
    pub listen: Option<String>,
    /// Public base URL of this server, e.g. https://auth.example.com (default http://LISTEN).
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    pub issuer: Option<String>,
    /// OAuth access-token lifetime, with a unit: 300s, 5m, 1h (default 5m, Make's; from 30s to 24h).
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_LIFETIME")]
    pub access_token_lifetime: Option<String>,
    /// How long a retried refresh of a rotated token is still answered, with a unit: 30s, 1m (default
    /// 30s; from 0s to 5m).
    #[arg(long, env = "GATEHOUSE_REFRESH_GRACE")]
    pub refresh_grace: Option<String>,
    /// Serve a zone other than the one recorded in the store (from --zone, GATEHOUSE_ZONE or the config
    /// file) and record it. Every existing API token stops working: tokens are bound to their zone.
    #[arg(long)]
    pub change_zone: bool,
    /// Give public OAuth clients refresh tokens (Make gives them none).
    #[arg(long, env = "GATEHOUSE_PUBLIC_CLIENT_REFRESH_TOKENS")]
    pub public_client_refresh_tokens: Option<bool>,
    /// What signs OAuth access tokens: RS256 (default; every RFC 9068 resource server accepts it) or ES256
    /// (much faster to sign). ID tokens are always RS256.
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_ALGORITHM")]
    pub access_token_algorithm: Option<String>,
    /// A proxy (address or CIDR range) whose Forwarded / X-Forwarded-For headers are believed; repeat for
    /// several (default: loopback only).
    #[arg(long = "trusted-proxy", env = "GATEHOUSE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
    /// Redis that nodes share rate-limit counters through, e.g. redis://127.0.0.1:6379/0 (default: each
    /// node counts in its memory).
    #[arg(long, env = "GATEHOUSE_REDIS_URL")]
    pub redis_url: Option<String>,
    /// The forward-auth route policy, a TOML file of "METHOD /path" = [scopes] rules (default: Make's own
    /// endpoint → scope table for /api/v2).
    #[arg(long, env = "GATEHOUSE_POLICY")]
    pub policy: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics, on this listener only (default: not served). Keep it
    /// off the public network: it names routes and counts, never credentials.
    #[arg(long, env = "GATEHOUSE_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// SMTP server for email (new-token notices, password reset links): smtp://HOST:PORT,
    /// smtp://USER:PASSWORD@HOST:587?tls=starttls or smtps://USER:PASSWORD@HOST (default: no email, and no
    /// password reset by email).
    #[arg(long, env = "GATEHOUSE_SMTP_URL", value_name = "URL")]
    pub smtp_url: Option<String>,
    /// The From of Gatehouse's email, e.g. "Gatehouse <noreply@example.com>" (default: noreply at the
    /// issuer's host).
    #[arg(long, env = "GATEHOUSE_MAIL_FROM", value_name = "MAILBOX")]
    pub mail_from: Option<String>,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Explain which rule decides a request and what it requires: `policy check [FILE] METHOD PATH`.
    /// Without FILE, the config file's `policy`, else Make's built-in table.
    Check {
        #[arg(num_args = 2..=3, required = true, value_names = ["FILE", "METHOD", "PATH"])]
        words: Vec<String>,
    },
}

/// Which part of a listing to print: all of it unless asked.
#[derive(Args)]
pub struct Listing {
    /// Print at most this many.
    #[arg(long)]
    pub limit: Option<u32>,
    /// Skip this many first.
    #[arg(long, default_value_t = 0)]
    pub offset: u32,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user. At a terminal the password is asked for twice, without echo; otherwise it is stdin's
    /// first line. Empty: no password (API tokens only).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the user a platform administrator.
        #[arg(long)]
        admin: bool,
    },
    /// List users: id, email, name, administrator, created.
    List(Listing),
    /// Delete a user with their tokens and memberships; running servers drop their credentials.
    Delete {
        #[arg(long)]
        email: String,
    },
    /// Set a user's password (asked as for `user create`) and sign them out of every browser session, on
    /// every node. The way back in after a lost first-start password.
    ResetPassword {
        #[arg(long)]
        email: String,
        /// Generate a password and print it, once, instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// Make a user a platform administrator, or with --revoke no longer one; running servers apply it at
    /// once.
    SetAdmin {
        #[arg(long)]
        email: String,
        /// Take the administrator role away.
        #[arg(long)]
        revoke: bool,
    },
    /// Lift every login limit on a user's account, on every node.
    Unlock {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organization owned by a user; prints its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner: String,
        /// Requests per minute (Make's license.apiLimit).
        #[arg(long, default_value_t = DEFAULT_API_LIMIT)]
        api_limit: i64,
    },
    /// List every organization: id, name, owners, member count.
    List(Listing),
    /// Set an organization's requests per minute (Make's license.apiLimit).
    SetLimit {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        api_limit: i64,
    },
    /// Delete an organization with its teams and memberships. Asks at a terminal; otherwise needs --yes.
    Delete {
        #[arg(long)]
        org: i64,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Create a team in an organization; prints its id.
    Create {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        name: String,
    },
    /// List an organization's teams: id, name.
    List {
        #[arg(long)]
        org: i64,
        #[command(flatten)]
        listing: Listing,
    },
    /// Delete a team with its memberships. Asks at a terminal; otherwise needs --yes.
    Delete {
        #[arg(long)]
        team: i64,
        /// Delete without asking.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Add a user to an organization with a role (owner, admin, member, accountant, app-developer), or
    /// to a team with --team and a team role (admin, member, monitoring, operator, restricted-member). It
    /// never demotes an organization's last owner.
    Add {
        #[arg(long, required_unless_present = "team")]
        org: Option<i64>,
        #[arg(long)]
        team: Option<i64>,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "member")]
        role: String,
    },
    /// Remove a user from an organization (and its teams; their OAuth consents for it are revoked), or
    /// from a team with --team. An organization's last owner cannot be removed.
    Remove {
        #[arg(long, required_unless_present = "team", conflicts_with = "team")]
        org: Option<i64>,
        #[arg(long)]
        team: Option<i64>,
        #[arg(long)]
        user: String,
    },
    /// List an organization's members with their roles, or a team's members with --team.
    List {
        #[arg(long, required_unless_present = "team", conflicts_with = "team")]
        org: Option<i64>,
        #[arg(long)]
        team: Option<i64>,
        #[command(flatten)]
        listing: Listing,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token; prints only the token.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
        /// A scope from the catalog; repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime with a unit: 90d, 12h, 30m, 45s or 2w (default: no expiry, as in Make).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// List a user's tokens (masked).
    List {
        #[arg(long)]
        user: String,
    },
    /// Delete a user's token by its created timestamp.
    Delete {
        #[arg(long)]
        user: String,
        #[arg(long)]
        created: String,
    },
}


#[derive(Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List {
        /// Only events an organization's log shows (its own, and its members' on their accounts).
        #[arg(long = "org")]
        organization: Option<i64>,
        /// Only this kind of event (e.g. login_failed, api_token_created); repeat for several.
        #[arg(long = "event")]
        events: Vec<String>,
        /// Only events done by this user (an existing user's email).
        #[arg(long)]
        user: Option<String>,
        /// Only events at or after this time (RFC 3339, e.g. 2026-01-01T00:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Only events at or before this time (RFC 3339).
        #[arg(long)]
        until: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Skip this many events first.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
}
