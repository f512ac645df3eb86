//! Seeds a Gatehouse SQLite store for `bench/run`: API tokens for the scale rows, and refresh tokens for the
//! `refresh_token` row.
//!
//! Every token is a real UUIDv4 from the OS CSPRNG, hashed exactly as Gatehouse hashes it
//! (`ApiTokenSecret::hash`), so a sample of the seeded tokens authenticates like any issued token. Rows go in
//! through the store's bulk inserts (many rows per statement, one transaction per chunk): the seed writes no
//! SQL of its own, so it follows the schema wherever the store takes it.
//!
//! Usage:
//! - `gatehouse-bench-seed sqlite://PATH USER_ID ZONE COUNT SAMPLE_FILE SAMPLE_SIZE`: COUNT API tokens;
//!   SAMPLE_SIZE of them, spread evenly over the seeded range, are written to SAMPLE_FILE, one per line.
//! - `gatehouse-bench-seed refresh sqlite://PATH CLIENT_ID USER_ID SCOPES COUNT TOKEN_FILE`: one consent
//!   (grant) of USER_ID to CLIENT_ID for SCOPES, and COUNT sign-in sessions under it, each its own token
//!   family holding one unused refresh token, as a code exchange leaves them. Every token is written to
//!   TOKEN_FILE. A refresh token is single-use, so a benchmark needs one per request.
//!
//! The store must exist (start `gatehouse serve` on it once).

// A benchmark fixture, not server code: it times itself by the wall clock and stops on the first error.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::time::Instant;

use gatehouse_domain::api_token::TokenLabel;
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::oauth::{ClientId, OpaqueSecret, RefreshToken, TokenFamily};
use gatehouse_domain::{ApiToken, ApiTokenSecret, ScopeSet, Timestamp, UserId};
use gatehouse_store::DynStore;

/// Tokens handed to the store at once: each chunk is one transaction.
const ROWS_PER_TRANSACTION: usize = 100_000;
/// Seeded tokens were "created" one millisecond apart from here (2020-09-13), so no `created` collides
/// with a token issued now, and `(user_id, created)` stays unique.
const FIRST_CREATED_MS: i64 = 1_600_000_000_000;

struct Args {
    database: String,
    user_id: i64,
    zone: String,
    count: usize,
    sample_file: String,
    sample_size: usize,
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 6 {
        return Err("usage: gatehouse-bench-seed sqlite://PATH USER_ID ZONE COUNT SAMPLE_FILE SAMPLE_SIZE".into());
    }
    let number = |text: &str, what: &str| text.parse::<usize>().map_err(|_| format!("{what} must be a number"));
    Ok(Args {
        database: args[0].clone(),
        user_id: args[1].parse().map_err(|_| "USER_ID must be a number".to_string())?,
        zone: args[2].clone(),
        count: number(&args[3], "COUNT")?,
        sample_file: args[4].clone(),
        sample_size: number(&args[5], "SAMPLE_SIZE")?,
    })
}

async fn open(database: &str) -> Result<DynStore, Box<dyn std::error::Error>> {
    Ok(gatehouse_store::open(database).await?)
}

async fn seed(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let store = open(&args.database).await?;
    let scopes = ScopeSet::all_api_scopes();
    let stride = args.count.checked_div(args.sample_size).map_or(usize::MAX, |stride| stride.max(1));
    let mut sample = std::io::BufWriter::new(std::fs::File::create(&args.sample_file)?);
    let mut sampled = 0;

    let mut done = 0;
    while done < args.count {
        let rows = ROWS_PER_TRANSACTION.min(args.count - done);
        let mut tokens = Vec::with_capacity(rows);
        for index in done..done + rows {
            let secret = ApiTokenSecret::generate(&gatehouse_domain::OsRandom);
            if index % stride == 0 && sampled < args.sample_size {
                writeln!(sample, "{}", secret.reveal())?;
                sampled += 1;
            }
            tokens.push(ApiToken {
                user_id: UserId(args.user_id),
                created: Timestamp::from_millis(FIRST_CREATED_MS + index as i64),
                label: TokenLabel::from_stored(format!("seed {index}")),
                scopes,
                hash: secret.hash(),
                prefix: secret.prefix(),
                zone: args.zone.clone(),
                expires_at: None,
                last_used: None,
            });
        }
        store.insert_api_tokens_bulk(&tokens).await?;
        done += rows;
    }
    sample.flush()?;
    eprintln!("seeded {} tokens in {:.1}s ({} sampled)", args.count, started.elapsed().as_secs_f64(), sampled);
    Ok(())
}

struct RefreshArgs {
    database: String,
    client_id: String,
    user_id: i64,
    scopes: ScopeSet,
    count: usize,
    token_file: String,
}

fn parse_refresh_args(args: &[String]) -> Result<RefreshArgs, String> {
    if args.len() != 6 {
        return Err("usage: gatehouse-bench-seed refresh sqlite://PATH CLIENT_ID USER_ID SCOPES COUNT TOKEN_FILE".into());
    }
    Ok(RefreshArgs {
        database: args[0].clone(),
        client_id: args[1].clone(),
        user_id: args[2].parse().map_err(|_| "USER_ID must be a number".to_string())?,
        scopes: ScopeSet::parse_delimited(&args[3]).map_err(|e| format!("SCOPES: {}", e.0))?,
        count: args[4].parse().map_err(|_| "COUNT must be a number".to_string())?,
        token_file: args[5].clone(),
    })
}

/// A refresh token's lifetime, as the server's default gives it.
const REFRESH_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

async fn seed_refresh(args: RefreshArgs) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let store = open(&args.database).await?;
    let now = Timestamp::from_millis(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64);
    let user = UserId(args.user_id);
    let client = ClientId::from_stored(args.client_id.clone());
    // One live consent per user and client (a unique index says so): reuse it when an earlier pool made it.
    let grant = match store.live_grant(user, &client).await? {
        Some(grant) => grant,
        None => store.save_grant(user, &client, None, args.scopes, now).await?,
    };
    let mut token_file = std::io::BufWriter::new(std::fs::File::create(&args.token_file)?);
    let mut done = 0;
    while done < args.count {
        let rows = ROWS_PER_TRANSACTION.min(args.count - done);
        let families: Vec<TokenFamily> = (0..rows)
            .map(|_| TokenFamily {
                id: gatehouse_domain::FamilyId(random_id(&gatehouse_domain::OsRandom)),
                client_id: client.clone(),
                user_id: Some(user),
                grant_id: Some(grant.id),
                created: now,
                revoked_at: None,
            })
            .collect();
        let mut tokens = Vec::with_capacity(rows);
        for family in &families {
            let secret = OpaqueSecret::generate(&gatehouse_domain::OsRandom);
            writeln!(token_file, "{}", secret.reveal())?;
            tokens.push(RefreshToken {
                hash: secret.hash(),
                family_id: family.id.clone(),
                parent_hash: None,
                client_id: client.clone(),
                user_id: user,
                grant_id: grant.id,
                scopes: args.scopes,
                organization_id: None,
                auth_time: now,
                created: now,
                expires_at: now.plus_millis(REFRESH_LIFETIME_MS),
                used_at: None,
                revoked_at: None,
            });
        }
        store.insert_families_bulk(&families).await?;
        store.insert_refresh_tokens_bulk(&tokens).await?;
        done += rows;
    }
    token_file.flush()?;
    eprintln!("seeded {} refresh tokens in {:.1}s", args.count, started.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> std::process::ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("refresh") {
        let args = match parse_refresh_args(&raw[1..]) {
            Ok(args) => args,
            Err(message) => {
                eprintln!("{message}");
                return std::process::ExitCode::from(2);
            }
        };
        return run(seed_refresh(args));
    }
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    run(seed(args))
}

fn run(seeding: impl std::future::Future<Output = Result<(), Box<dyn std::error::Error>>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(seeding) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seeding failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
