//! Seeds a Gatehouse SQLite store for `bench/run`: API tokens for the scale rows, and refresh tokens for the
//! `refresh_token` row.
//!
//! Every token is a real UUIDv4 from the OS CSPRNG, hashed exactly as Gatehouse hashes it
//! (`ApiTokenSecret::hash`), so a sample of the seeded tokens authenticates like any issued token. Rows go in
//! with multi-row `INSERT`s inside large transactions, with `synchronous = OFF`: this is a fixture loader,
//! not the server, and a crash mid-seed only means running it again.
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

use std::io::Write;
use std::str::FromStr;
use std::time::Instant;

use gatehouse_domain::oauth::OpaqueSecret;
use gatehouse_domain::oauth::secret::random_id;
use gatehouse_domain::{ApiTokenSecret, ScopeSet};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

/// 7 bound values a row: 7,000 a statement, well under SQLite's 32,766.
const ROWS_PER_STATEMENT: usize = 1_000;
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

fn insert_sql(rows: usize) -> String {
    rows_sql(
        "INSERT INTO api_tokens (user_id, created, token_hash, prefix, label, scopes, zone, expires_at, last_used) VALUES ",
        "(?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
        rows,
    )
}

async fn seed(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let options = SqliteConnectOptions::from_str(&args.database)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        // A page cache large enough for the token-hash index: a million random hashes otherwise thrash
        // SQLite's default 2 MiB cache, and seeding slows to a crawl.
        .pragma("cache_size", "-524288");
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let scopes = ScopeSet::all_api_scopes().to_space_delimited();
    let stride = args.count.checked_div(args.sample_size).map_or(usize::MAX, |stride| stride.max(1));
    let mut sample = std::io::BufWriter::new(std::fs::File::create(&args.sample_file)?);
    let mut sampled = 0;
    let full_statement = insert_sql(ROWS_PER_STATEMENT);

    let mut done = 0;
    while done < args.count {
        let in_transaction = ROWS_PER_TRANSACTION.min(args.count - done);
        let mut transaction = connection.begin().await?;
        let mut written = 0;
        while written < in_transaction {
            let rows = ROWS_PER_STATEMENT.min(in_transaction - written);
            let partial;
            let sql = if rows == ROWS_PER_STATEMENT {
                &full_statement
            } else {
                partial = insert_sql(rows);
                &partial
            };
            let mut query = sqlx::query(sql);
            for offset in 0..rows {
                let index = done + written + offset;
                let secret = ApiTokenSecret::generate();
                if index % stride == 0 && sampled < args.sample_size {
                    writeln!(sample, "{}", secret.reveal())?;
                    sampled += 1;
                }
                query = query
                    .bind(args.user_id)
                    .bind(FIRST_CREATED_MS + index as i64)
                    .bind(secret.hash().as_bytes().to_vec())
                    .bind(secret.prefix())
                    .bind(format!("seed {index}"))
                    .bind(scopes.clone())
                    .bind(args.zone.clone());
            }
            query.execute(&mut *transaction).await?;
            written += rows;
        }
        transaction.commit().await?;
        done += in_transaction;
    }
    sample.flush()?;
    // Leave no large WAL behind: the server's startup time should not include replaying the seed.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut connection).await?;
    connection.close().await?;
    eprintln!("seeded {} tokens in {:.1}s ({} sampled)", args.count, started.elapsed().as_secs_f64(), sampled);
    Ok(())
}

struct RefreshArgs {
    database: String,
    client_id: String,
    user_id: i64,
    scopes: String,
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
        scopes: ScopeSet::parse_delimited(&args[3]).map_err(|e| format!("SCOPES: {}", e.0))?.to_space_delimited(),
        count: args[4].parse().map_err(|_| "COUNT must be a number".to_string())?,
        token_file: args[5].clone(),
    })
}

/// Columns of `oauth_refresh_tokens`, in the order bound below.
const REFRESH_ROW: &str = "(?, ?, NULL, ?, ?, ?, ?, NULL, ?, ?, ?, NULL, NULL)";
/// 10 bound values a row.
const REFRESH_ROWS_PER_STATEMENT: usize = 1_000;
/// A refresh token's lifetime, as the server's default gives it.
const REFRESH_LIFETIME_MS: i64 = 30 * 24 * 3600 * 1000;

fn rows_sql(head: &str, row: &str, rows: usize) -> String {
    let mut sql = String::from(head);
    for index in 0..rows {
        if index > 0 {
            sql.push(',');
        }
        sql.push_str(row);
    }
    sql
}

async fn seed_refresh(args: RefreshArgs) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let options = SqliteConnectOptions::from_str(&args.database)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        .foreign_keys(true);
    let mut connection = SqliteConnection::connect_with(&options).await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
    let mut transaction = connection.begin().await?;
    // One live consent per user and client (a unique index says so): reuse it when an earlier pool made it.
    let live: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM oauth_grants WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL",
    )
    .bind(args.user_id)
    .bind(&args.client_id)
    .fetch_optional(&mut *transaction)
    .await?;
    let grant_id: i64 = match live {
        Some(id) => id,
        None => {
            sqlx::query_scalar(
                "INSERT INTO oauth_grants (user_id, client_id, organization_id, scopes, created) VALUES (?, ?, NULL, ?, ?) RETURNING id",
            )
            .bind(args.user_id)
            .bind(&args.client_id)
            .bind(&args.scopes)
            .bind(now)
            .fetch_one(&mut *transaction)
            .await?
        }
    };
    let mut tokens = std::io::BufWriter::new(std::fs::File::create(&args.token_file)?);
    let mut done = 0;
    while done < args.count {
        let rows = REFRESH_ROWS_PER_STATEMENT.min(args.count - done);
        let families: Vec<String> = (0..rows).map(|_| random_id()).collect();
        let family_sql = rows_sql(
            "INSERT INTO oauth_families (id, client_id, user_id, grant_id, created, revoked_at) VALUES ",
            "(?, ?, ?, ?, ?, NULL)",
            rows,
        );
        let mut families_query = sqlx::query(&family_sql);
        for family in &families {
            families_query = families_query.bind(family).bind(&args.client_id).bind(args.user_id).bind(grant_id).bind(now);
        }
        families_query.execute(&mut *transaction).await?;
        let refresh_sql = rows_sql(
            "INSERT INTO oauth_refresh_tokens (token_hash, family_id, parent_hash, client_id, user_id, grant_id, scopes, \
             organization_id, auth_time, created, expires_at, used_at, revoked_at) VALUES ",
            REFRESH_ROW,
            rows,
        );
        let mut refresh_query = sqlx::query(&refresh_sql);
        for family in &families {
            let secret = OpaqueSecret::generate();
            writeln!(tokens, "{}", secret.reveal())?;
            refresh_query = refresh_query
                .bind(secret.hash().as_bytes().to_vec())
                .bind(family)
                .bind(&args.client_id)
                .bind(args.user_id)
                .bind(grant_id)
                .bind(&args.scopes)
                .bind(now)
                .bind(now)
                .bind(now + REFRESH_LIFETIME_MS);
        }
        refresh_query.execute(&mut *transaction).await?;
        done += rows;
    }
    transaction.commit().await?;
    tokens.flush()?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut connection).await?;
    connection.close().await?;
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
