//! `gatehouse`: the command line. Every command prints plain ids or tokens on stdout, or JSON with
//! `--json`; messages for people go to stderr. Arguments are in `args`, what each command does in
//! `commands`.

use std::process::ExitCode;

use clap::Parser;
use gatehouse::args::{Cli, Command};
use gatehouse::commands::{self, CliError, CliResult};

/// mimalloc instead of the system allocator: under load glibc's malloc showed as a quarter of the
/// instructions of a cached token check (per-thread arenas, consolidation of freed chunks), mimalloc's
/// thread-local free lists make the few allocations left on that path cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

async fn run(cli: Cli) -> CliResult {
    let global = &cli.global;
    match cli.command {
        Command::Serve(args) => commands::serve::serve(global, args).await,
        Command::User(command) => commands::directory::user(global, command).await,
        Command::Org(command) => commands::directory::org(global, command).await,
        Command::Team(command) => commands::directory::team(global, command).await,
        Command::Member(command) => commands::directory::member(global, command).await,
        Command::Token(command) => commands::tokens::token(global, command).await,
        Command::Client(command) => commands::clients::client(global, command).await,
        Command::Keys(command) => commands::keys::keys(global, command).await,
        Command::Policy(command) => commands::policy::policy(global, command),
        Command::Completions { shell } => commands::completions::completions(shell),
        Command::Man { out } => commands::completions::man(out.as_deref(), global.json),
        Command::Migrate { from, to, replace } => commands::migrate::migrate(&from, &to, replace, global.json).await,
    }
}
