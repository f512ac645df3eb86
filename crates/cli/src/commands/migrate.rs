//! `migrate`: copies a whole store to another (SQLite to PostgreSQL, say). Tokens keep working.

use serde_json::json;

use super::context::{CliError, CliResult};

pub async fn migrate(from: &str, to: &str, replace: bool, json_output: bool) -> CliResult {
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
