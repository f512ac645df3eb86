//! Seeds a Gatehouse SQLite store with API tokens for the scale rows of `bench/run`.
//!
//! Every token is a real UUIDv4 from the OS CSPRNG, hashed exactly as Gatehouse hashes it
//! (`ApiTokenSecret::hash`), so a sample of the seeded tokens authenticates like any issued token. Rows go in
//! with multi-row `INSERT`s inside large transactions, with `synchronous = OFF`: this is a fixture loader,
//! not the server, and a crash mid-seed only means running it again.
//!
//! Usage: `gatehouse-bench-seed sqlite://PATH USER_ID ZONE COUNT SAMPLE_FILE SAMPLE_SIZE`
//! The store must exist (start `gatehouse serve` on it once). SAMPLE_SIZE tokens, spread evenly over the
//! seeded range, are written to SAMPLE_FILE, one per line.

use std::io::Write;
use std::str::FromStr;
use std::time::Instant;

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
    let mut sql = String::from(
        "INSERT INTO api_tokens (user_id, created, token_hash, prefix, label, scopes, zone, expires_at, last_used) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push_str("(?, ?, ?, ?, ?, ?, ?, NULL, NULL)");
    }
    sql
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

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(seed(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("seeding failed: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
