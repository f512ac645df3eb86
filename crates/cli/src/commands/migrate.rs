//! `migrate`: copies a whole store to another (SQLite to PostgreSQL, say). Tokens keep working.
//!
//! A copy that would lose data stops before writing: a source that is missing (a mistyped path) or empty,
//! and a target with rows, unless `--replace` is given and confirmed.

use std::io::{BufRead, IsTerminal, Write};

use gatehouse_store::copy::{self, CopyOptions, CopyProgress, TableCounts};
use gatehouse_store::{OpenMode, redact_url};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::context::{CliError, CliResult, store_error};
use crate::args::{Global, MigrateArgs};

pub async fn migrate(global: &Global, args: MigrateArgs) -> CliResult {
    if args.from == args.to {
        return Err(CliError("--from and --to name the same store".into()));
    }
    let (from, to) = (redact_url(&args.from), redact_url(&args.to));
    let source = copy::open(&args.from, OpenMode::MustExist).await.map_err(|error| source_error(&args.from, error))?;
    let source_rows = copy::count_tables(source.as_ref()).await?;
    if source_rows.content_rows() == 0 && !args.allow_empty_source {
        return Err(CliError(format!(
            "the source store {from} is empty (no users, tokens, clients or keys): is --from the right store? \
             Nothing was copied. To copy an empty store all the same, add --allow-empty-source"
        )));
    }
    let target = copy::open(&args.to, OpenMode::CreateIfMissing).await.map_err(|error| store_error(&args.to, error))?;
    let target_rows = copy::count_tables(target.as_ref()).await?;
    if target_rows.content_rows() > 0 {
        if !args.replace {
            return Err(CliError(format!(
                "the target store {to} is not empty ({}): nothing was copied. To delete its rows and copy over them, add --replace",
                summary(&target_rows)
            )));
        }
        eprintln!("--replace deletes every row of the target store {to} before copying {from} into it:");
        for (table, rows) in target_rows.occupied() {
            eprintln!("  {table:<24} {rows:>10} rows");
        }
        confirm(args.yes)?;
    }

    let progress = Progress::new(source_rows.tables.iter().map(|(_, rows)| rows).sum());
    let options = CopyOptions { replace: args.replace, allow_empty_source: args.allow_empty_source };
    let copied = copy::copy_store(source.as_ref(), target.as_ref(), options, &progress).await;
    progress.bar.finish_and_clear();
    let copied = copied?;
    let total: u64 = copied.tables.iter().map(|(_, rows)| rows).sum();
    if global.json {
        let tables: serde_json::Map<String, serde_json::Value> =
            copied.tables.iter().map(|(name, rows)| (name.to_string(), json!(rows))).collect();
        let replaced: serde_json::Map<String, serde_json::Value> =
            target_rows.occupied().map(|(name, rows)| (name.to_string(), json!(rows))).collect();
        println!("{}", json!({ "from": from, "to": to, "tables": tables, "rows": total, "replaced": replaced }));
    } else {
        for (name, rows) in &copied.tables {
            println!("{name}\t{rows}");
        }
        eprintln!("copied {total} rows from {from} to {to} in {:.1} s", progress.bar.elapsed().as_secs_f64());
    }
    Ok(())
}

fn source_error(url: &str, error: gatehouse_store::StoreError) -> CliError {
    match error {
        gatehouse_store::StoreError::Missing { .. } => {
            CliError(format!("{error}. Is --from {} the right store? Nothing was copied", redact_url(url)))
        }
        other => store_error(url, other),
    }
}

/// `users 3, api_tokens 12`: the tables with rows.
fn summary(counts: &TableCounts) -> String {
    counts.occupied().map(|(table, rows)| format!("{table} {rows}")).collect::<Vec<_>>().join(", ")
}

/// `--replace` deletes data: confirmed by `--yes`, or by answering y at a terminal. Without a terminal
/// to ask at, `--yes` is required rather than assumed.
fn confirm(yes: bool) -> CliResult {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError("--replace deletes the target's rows: add --yes to confirm (standard input is not a terminal to ask at)".into()));
    }
    eprint!("Delete these rows? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError("not confirmed: nothing was deleted or copied".into()))
    }
}

/// One bar for the whole copy, on standard error, drawn only at a terminal: rows copied of all rows, with
/// the table being copied.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(rows: u64) -> Self {
        let target = if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(rows), target);
        if let Ok(style) = ProgressStyle::with_template("{msg:<24} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, {eta} left") {
            bar.set_style(style.progress_chars("=> "));
        }
        Self { bar }
    }
}

impl CopyProgress for Progress {
    fn table_started(&self, table: &'static str, _rows: u64) {
        self.bar.set_message(table);
    }

    fn rows_copied(&self, rows: u64) {
        self.bar.inc(rows);
    }
}
