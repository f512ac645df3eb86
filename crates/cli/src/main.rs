//! `gatehouse`: the command line. Every command prints plain ids or tokens on stdout, or JSON with
//! `--json`; messages for people go to stderr. Arguments are in `args`, what each command does in
//! `commands`.

use std::process::ExitCode;

use clap::Parser;
use gatehouse::args::{Cli, Command, LogFormat};
use gatehouse::commands::{self, CliError, CliResult};

/// mimalloc instead of the system allocator: under load glibc's malloc showed as a quarter of the
/// instructions of a cached token check (per-thread arenas, consolidation of freed chunks), mimalloc's
/// thread-local free lists make the few allocations left on that path cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end of `main`: dropping it writes what the logging thread still holds.
    let _logging = init_logging(cli.global.log_format);
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

/// Logs go to stderr through a thread of their own (`tracing_appender::non_blocking`), so a request never
/// waits on the terminal or the journal: it hands its line to a channel. If the channel is full (128,000
/// lines behind), lines are dropped rather than requests slowed. The thread writes through a buffer it
/// flushes whenever the channel is empty, so a burst costs few writes and a quiet line is seen at once.
fn init_logging(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = tracing_appender::non_blocking(std::io::BufWriter::with_capacity(64 * 1024, std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // One object a line, the event's fields at the top level beside `timestamp`, `level` and `target`.
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
    }
    guard
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
        Command::Audit(command) => commands::audit::audit(global, command).await,
        Command::Migrate(args) => commands::migrate::migrate(global, args).await,
        Command::Openapi { issuer } => commands::openapi::openapi(issuer.as_deref()),
        Command::Completions { shell } => commands::completions::completions(shell),
        Command::Man { out } => commands::completions::man(out.as_deref(), global.json),
    }
}
