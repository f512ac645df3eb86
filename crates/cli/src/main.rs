//! `gatehouse`: the command line. Every command prints plain ids or tokens on stdout, or JSON with
//! `--json`; messages for people go to stderr.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatehouse::bootstrap;
use gatehouse::config::{self, FileConfig};
use gatehouse::server;
use gatehouse_domain::api_token::parse_duration_secs;
use gatehouse_domain::identity::{DEFAULT_API_LIMIT, NewUser, parse_name};
use gatehouse_domain::{Clock, Email, NewApiTokenRequest, OrgRole, SystemClock, Timestamp, password};
use gatehouse_http::ServerConfig;
use gatehouse_http::api::tokens::issue_api_token;
use gatehouse_domain::oauth::client as oauth_client;
use gatehouse_domain::oauth::{ClientId, ClientStatus, ClientType, NewClient, OAuthClient, OpaqueSecret};
use gatehouse_domain::ScopeSet;
use gatehouse_store::{DynStore, NewOrganization};
use serde_json::json;

/// mimalloc instead of the system allocator: under load glibc's malloc showed as a quarter of the
/// instructions of a cached token check (per-thread arenas, consolidation of freed chunks), mimalloc's
/// thread-local free lists make the few allocations left on that path cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "gatehouse", version, about = "Make-compatible API tokens, scopes and OAuth 2.0 / OpenID Connect")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Store URL: sqlite://PATH (default ./gatehouse.db) or postgres://…
    #[arg(long, global = true, env = "GATEHOUSE_DATABASE_URL")]
    database: Option<String>,
    /// TOML configuration file (flags and GATEHOUSE_* variables take precedence).
    #[arg(long, global = true, env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    /// The zone this deployment serves. Recorded in the store on first use.
    #[arg(long, global = true, env = "GATEHOUSE_ZONE")]
    zone: Option<String>,
    /// Print JSON instead of plain values.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
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
    /// Copy a whole store to another (e.g. SQLite to PostgreSQL). Tokens keep working.
    Migrate {
        /// Source store URL.
        #[arg(long)]
        from: String,
        /// Target store URL (migrations are applied to it first).
        #[arg(long)]
        to: String,
        /// Empty a non-empty target first instead of refusing.
        #[arg(long)]
        replace: bool,
    },
}

#[derive(Args)]
struct ClientSpec {
    /// The developer who owns the client (an existing user's email).
    #[arg(long)]
    owner: String,
    #[arg(long)]
    name: String,
    /// confidential or public.
    #[arg(long = "type")]
    client_type: String,
    /// A redirect URI, matched exactly; repeat for several.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// A scope from the catalog; repeat for several.
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    #[arg(long, default_value = "")]
    description: String,
}

#[derive(Subcommand)]
enum ClientCommand {
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
enum KeysCommand {
    /// Add new signing keys (RS256, and ES256 when access tokens use it). The old ones stop signing and
    /// stay published until their tokens expire.
    Rotate {
        /// The access-token algorithm the servers run with (RS256 or ES256), when not in the config file.
        #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_ALGORITHM")]
        access_token_algorithm: Option<String>,
    },
    /// List the signing keys.
    List,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is logged).
    #[arg(long, env = "GATEHOUSE_LISTEN")]
    listen: Option<String>,
    /// Public base URL of this server (default http://LISTEN).
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    issuer: Option<String>,
    /// OAuth access-token lifetime in seconds (default 300: Make's 5 minutes).
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_LIFETIME")]
    access_token_lifetime: Option<i64>,
    /// Seconds during which a retried refresh of a rotated token is answered (default 30).
    #[arg(long, env = "GATEHOUSE_REFRESH_GRACE")]
    refresh_grace: Option<i64>,
    /// Give public OAuth clients refresh tokens (Make gives them none).
    #[arg(long, env = "GATEHOUSE_PUBLIC_CLIENT_REFRESH_TOKENS")]
    public_client_refresh_tokens: Option<bool>,
    /// What signs OAuth access tokens: RS256 (default; every RFC 9068 resource server accepts it) or ES256
    /// (much faster to sign). ID tokens are always RS256.
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_ALGORITHM")]
    access_token_algorithm: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from stdin (empty: no password, API tokens only).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Make the user a platform administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Delete a user with their tokens and memberships; running servers drop their credentials.
    Delete {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
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
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team in an organization; prints its id.
    Create {
        #[arg(long)]
        org: i64,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum MemberCommand {
    /// Add a user to an organization with a role (owner, admin, member), or to a team with --team.
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
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token; prints only the token.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        label: String,
        /// A scope from the catalog; repeat for several.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime such as 90d, 12h, 30m (default: no expiry, as in Make).
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

#[derive(Debug)]
struct CliError(String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(error: E) -> Self {
        CliError(error.to_string())
    }
}

type CliResult = Result<(), CliError>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gatehouse: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError(message)) => {
            eprintln!("gatehouse: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

struct Context {
    store: DynStore,
    zone: String,
    file: FileConfig,
    json: bool,
    clock: Arc<dyn Clock>,
}

impl Context {
    async fn open(global: &Global, listen_for_default_zone: Option<&str>) -> Result<Self, CliError> {
        let file = FileConfig::load(global.config.as_deref())?;
        let url = config::resolve_database(global.database.clone(), &file);
        let store = gatehouse_store::open(&url).await?;
        // The zone is chosen once and recorded, so that every later command and restart agrees on it.
        let zone = match global.zone.clone().or_else(|| file.zone.clone()) {
            Some(zone) => zone,
            None => match store.setting("zone").await? {
                Some(zone) => zone,
                None => listen_for_default_zone.unwrap_or(config::DEFAULT_LISTEN).to_string(),
            },
        };
        if store.setting("zone").await?.is_none() {
            store.put_setting("zone", &zone).await?;
        }
        Ok(Self { store, zone, file, json: global.json, clock: Arc::new(SystemClock) })
    }

    async fn user(&self, email: &str) -> Result<gatehouse_domain::User, CliError> {
        let email = Email::parse(email)?;
        self.store.user_by_email(&email).await?.ok_or_else(|| CliError(format!("no user with email {}", email.as_str())))
    }

    fn print_id(&self, key: &str, id: i64) {
        if self.json {
            println!("{}", json!({ key: id }));
        } else {
            println!("{id}");
        }
    }
}

async fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Serve(args) => serve(&cli.global, args).await,
        Command::User(command) => user(&cli.global, command).await,
        Command::Org(command) => org(&cli.global, command).await,
        Command::Team(command) => team(&cli.global, command).await,
        Command::Member(command) => member(&cli.global, command).await,
        Command::Token(command) => token(&cli.global, command).await,
        Command::Client(command) => client(&cli.global, command).await,
        Command::Keys(command) => keys(&cli.global, command).await,
        Command::Migrate { from, to, replace } => migrate(&from, &to, replace, cli.global.json).await,
    }
}

async fn serve(global: &Global, args: ServeArgs) -> CliResult {
    let file = FileConfig::load(global.config.as_deref())?;
    let listen = config::resolve_listen(args.listen, &file)?;
    let default_zone = config::host_of(&config::resolve_issuer(args.issuer.clone(), &file, listen)?);
    let context = Context::open(global, Some(&default_zone)).await?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|error| CliError(format!("cannot listen on {listen}: {error}")))?;
    let bound = listener.local_addr()?;
    // The default issuer is where we really listen: with port 0 that is known only now, and OAuth clients
    // compare the discovered issuer with the URL they used byte for byte.
    let issuer = config::resolve_issuer(args.issuer, &file, bound)?;

    if let Some(first) = bootstrap::first_start(&context.store, &context.zone, context.clock.now()).await? {
        if context.json {
            println!("{}", serde_json::to_string(&first)?);
        } else {
            println!("Gatehouse first start: an administrator was created. These are shown once; keep them now.");
            println!("  email:     {}", first.email);
            println!("  password:  {}", first.password);
            println!("  API token: {}", first.token);
            println!("Try: curl -H \"Authorization: Token {}\" http://{bound}/api/v2/users/me", first.token);
        }
    }

    let flush_secs = context.file.last_used_flush_secs.unwrap_or(5).max(1);
    let oauth = config::resolve_oauth(
        args.access_token_lifetime,
        args.refresh_grace,
        args.public_client_refresh_tokens,
        args.access_token_algorithm,
        &context.file,
    )?;
    let state = server::state(context.store.clone(), context.clock.clone(), ServerConfig { zone: context.zone.clone(), issuer, oauth });
    let cadence = server::Cadence {
        flush_every: Duration::from_secs(flush_secs),
        revocation_poll: Duration::from_millis(context.file.revocation_poll_ms.unwrap_or(250).clamp(10, 60_000)),
    };
    let running = server::start(listener, state, cadence).await?;
    tracing::info!(addr = %running.addr, zone = %context.zone, backend = context.store.backend(), "gatehouse listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn migrate(from: &str, to: &str, replace: bool, json_output: bool) -> CliResult {
    if from == to {
        return Err(CliError("--from and --to name the same store".into()));
    }
    let source = gatehouse_store::copy::open(from).await?;
    let target = gatehouse_store::copy::open(to).await?;
    let report = gatehouse_store::copy::copy_store(source.as_ref(), target.as_ref(), replace).await?;
    if json_output {
        let tables: serde_json::Map<String, serde_json::Value> =
            report.tables.iter().map(|(name, rows)| (name.to_string(), json!(rows))).collect();
        println!("{}", json!({ "tables": tables }));
    } else {
        for (name, rows) in &report.tables {
            println!("{name}\t{rows}");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn user(global: &Global, command: UserCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    match command {
        UserCommand::Create { email, name, admin } => {
            let mut password = String::new();
            std::io::stdin().take(password::MAX_BYTES as u64 + 2).read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let hash = if password.is_empty() {
                None
            } else {
                password::check_policy(&password)?;
                Some(tokio::task::spawn_blocking(move || password::hash(&password)).await?)
            };
            let new = NewUser::new(&name, &email, hash, admin)?;
            let user = context.store.create_user(&new, context.clock.now()).await?;
            context.print_id("id", user.id.0);
        }
        UserCommand::Delete { email } => {
            let user = context.user(&email).await?;
            context.store.delete_user(user.id, context.clock.now()).await?;
            context.print_id("id", user.id.0);
        }
    }
    Ok(())
}

async fn org(global: &Global, command: OrgCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    match command {
        OrgCommand::Create { name, owner, api_limit } => {
            let owner = context.user(&owner).await?;
            if !(1..=1_000_000).contains(&api_limit) {
                return Err(CliError("--api-limit must be from 1 to 1000000".into()));
            }
            let new = NewOrganization {
                name: parse_name(&name, "organization")?,
                zone: context.zone.clone(),
                api_limit,
                timezone: "UTC".into(),
                country: None,
            };
            let org = context.store.create_organization(&new, owner.id, context.clock.now()).await?;
            context.print_id("id", org.id);
        }
    }
    Ok(())
}

async fn team(global: &Global, command: TeamCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    match command {
        TeamCommand::Create { org, name } => {
            let name = parse_name(&name, "team")?;
            context.store.organization(org).await?.ok_or_else(|| CliError(format!("no organization {org}")))?;
            let team = context.store.create_team(org, &name, context.clock.now()).await?;
            context.print_id("id", team.id);
        }
    }
    Ok(())
}

async fn member(global: &Global, command: MemberCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    match command {
        MemberCommand::Add { org, team, user, role } => {
            let user = context.user(&user).await?;
            if let Some(team_id) = team {
                let team = context.store.team(team_id).await?.ok_or_else(|| CliError(format!("no team {team_id}")))?;
                // A team member is a member of its organization too.
                if context.store.organization_role(team.organization_id, user.id).await?.is_none() {
                    context.store.set_organization_role(team.organization_id, user.id, OrgRole::Member).await?;
                }
                context.store.add_team_member(team.id, user.id).await?;
            } else if let Some(org_id) = org {
                let role = OrgRole::parse(&role)?;
                context.store.organization(org_id).await?.ok_or_else(|| CliError(format!("no organization {org_id}")))?;
                context.store.set_organization_role(org_id, user.id, role).await?;
            }
            if context.json {
                println!("{}", json!({ "userId": user.id.0 }));
            }
        }
    }
    Ok(())
}

async fn token(global: &Global, command: TokenCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    let now: Timestamp = context.clock.now();
    match command {
        TokenCommand::Create { user, label, scopes, expires_in } => {
            let user = context.user(&user).await?;
            let expires_at = expires_in.as_deref().map(parse_duration_secs).transpose()?.map(|secs| now.plus_secs(secs));
            let request = NewApiTokenRequest::new(&label, &scopes, expires_at, now)?;
            let (secret, stored) = issue_api_token(&context.store, &context.zone, user.id, request, now).await?;
            if context.json {
                println!(
                    "{}",
                    json!({
                        "token": secret.reveal(),
                        "label": stored.label.as_str(),
                        "scope": stored.scopes.names(),
                        "created": stored.created.to_iso(),
                        "expires": stored.expires_at.map(Timestamp::to_iso),
                    })
                );
            } else {
                println!("{}", secret.reveal());
            }
        }
        TokenCommand::List { user } => {
            let user = context.user(&user).await?;
            let tokens = context.store.api_tokens_of_user(user.id).await?;
            if context.json {
                let listed: Vec<_> = tokens.iter().map(|token| gatehouse_http::api::views::listed_token(token, token.last_used)).collect();
                println!("{}", json!({ "apiTokens": listed }));
            } else {
                for token in &tokens {
                    println!("{}\t{}\t{}\t{}", token.created.to_iso(), token.masked(), token.label.as_str(), token.scopes.to_space_delimited());
                }
            }
        }
        TokenCommand::Delete { user, created } => {
            let user = context.user(&user).await?;
            let at = Timestamp::parse_iso(&created).ok_or_else(|| CliError(format!("{created:?} is not an ISO-8601 timestamp")))?;
            let deleted = context.store.delete_api_token(user.id, at, now).await?;
            match deleted {
                Some(token) if context.json => println!("{}", json!({ "apiToken": token.created.to_iso() })),
                Some(token) => println!("{}", token.created.to_iso()),
                None => return Err(CliError(format!("{} has no token created at {created}", user.email.as_str()))),
            }
        }
    }
    Ok(())
}

fn new_client(spec: &ClientSpec) -> Result<NewClient, CliError> {
    Ok(NewClient::new(&spec.name, &spec.description, &spec.client_type, &spec.redirect_uris, &spec.scopes)?)
}

async fn find_client(context: &Context, id: &str) -> Result<OAuthClient, CliError> {
    let client_id = ClientId::parse(id).ok_or_else(|| CliError(format!("{id:?} is not a client id")))?;
    context.store.oauth_client(&client_id).await?.ok_or_else(|| CliError(format!("no client {id}")))
}

fn print_client_credentials(context: &Context, client: &OAuthClient, secret: Option<&OpaqueSecret>) {
    let secret = secret.map(OpaqueSecret::reveal);
    if context.json {
        println!("{}", json!({ "client_id": client.id.as_str(), "client_secret": secret }));
    } else {
        println!("{}", client.id);
        if let Some(secret) = secret {
            println!("{secret}");
        }
    }
}

async fn client(global: &Global, command: ClientCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    let now = context.clock.now();
    match command {
        ClientCommand::Request(spec) => {
            let owner = context.user(&spec.owner).await?;
            let client = new_client(&spec)?.into_client(owner.id, now);
            context.store.insert_oauth_client(&client).await?;
            if context.json {
                println!("{}", json!({ "client_id": client.id.as_str(), "status": client.status.as_str() }));
            } else {
                println!("{}", client.id);
            }
        }
        ClientCommand::Create { spec, allow_refresh } => {
            let owner = context.user(&spec.owner).await?;
            let mut new = new_client(&spec)?;
            new.allow_refresh = allow_refresh;
            let mut client = new.into_client(owner.id, now);
            let secret = oauth_client::approve(&mut client);
            context.store.insert_oauth_client(&client).await?;
            print_client_credentials(&context, &client, secret.as_ref());
        }
        ClientCommand::Approve { client_id, scopes, allow_refresh } => {
            let mut client = find_client(&context, &client_id).await?;
            if client.status == ClientStatus::Approved {
                return Err(CliError(format!("client {client_id} is already approved (use rotate-secret)")));
            }
            if !scopes.is_empty() {
                let approved = ScopeSet::parse_names(scopes.iter().map(String::as_str))?;
                if !approved.is_subset_of(client.scopes) {
                    return Err(CliError("an approval cannot add scopes the client did not request".into()));
                }
                client.scopes = approved;
            }
            client.allow_refresh = client.allow_refresh || allow_refresh;
            let secret = oauth_client::approve(&mut client);
            context.store.update_oauth_client(&client, context.clock.now()).await?;
            print_client_credentials(&context, &client, secret.as_ref());
        }
        ClientCommand::Reject { client_id } => {
            let mut client = find_client(&context, &client_id).await?;
            client.status = ClientStatus::Rejected;
            client.secret_hash = None;
            context.store.update_oauth_client(&client, context.clock.now()).await?;
            context.store.revoke_client_families(&client.id, context.clock.now()).await?;
            println!("{}", client.id);
        }
        ClientCommand::List { status } => {
            let status = status.as_deref().map(ClientStatus::parse).transpose()?;
            let clients = context.store.list_oauth_clients(status, None).await?;
            if context.json {
                let listed: Vec<_> = clients.iter().map(gatehouse_http::api::oauth_clients::client_view).collect();
                println!("{}", json!({ "clients": listed }));
            } else {
                for client in &clients {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        client.id,
                        client.status.as_str(),
                        client.client_type.as_str(),
                        client.name,
                        client.scopes.to_space_delimited()
                    );
                }
            }
        }
        ClientCommand::Delete { client_id } => {
            let client = find_client(&context, &client_id).await?;
            context.store.delete_oauth_client(&client.id, context.clock.now()).await?;
            println!("{}", client.id);
        }
        ClientCommand::RotateSecret { client_id } => {
            let mut client = find_client(&context, &client_id).await?;
            if client.client_type != ClientType::Confidential || client.status != ClientStatus::Approved {
                return Err(CliError("only an approved confidential client has a secret".into()));
            }
            let secret = OpaqueSecret::generate();
            client.secret_hash = Some(secret.hash());
            context.store.update_oauth_client(&client, context.clock.now()).await?;
            print_client_credentials(&context, &client, Some(&secret));
        }
    }
    Ok(())
}

async fn keys(global: &Global, command: KeysCommand) -> CliResult {
    let context = Context::open(global, None).await?;
    match command {
        KeysCommand::Rotate { access_token_algorithm } => {
            let settings = config::resolve_oauth(None, None, None, access_token_algorithm, &context.file)?;
            let kids = gatehouse_http::oauth::runtime::rotate_keys(&context.store, context.clock.now(), &settings)
                .await
                .map_err(|error| CliError(format!("key rotation failed: {error:?}")))?;
            if context.json {
                // `kid` is the RS256 key's, as before ES256 existed; `kids` lists every new key.
                println!("{}", json!({ "kid": kids[0], "kids": kids }));
            } else {
                for kid in &kids {
                    println!("{kid}");
                }
            }
        }
        KeysCommand::List => {
            for key in context.store.signing_keys().await? {
                println!("{}\t{}\t{}", key.kid, key.created.to_iso(), key.retire_at.map_or("active".to_string(), |at| format!("retires {}", at.to_iso())));
            }
        }
    }
    Ok(())
}
