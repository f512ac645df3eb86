//! `schema::TABLES` against what the migrations really create: the same tables with the same columns, on
//! SQLite always and on PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` names a database.

// A test fails by panicking; the schema name for PostgreSQL is made unique from the wall clock.
#![allow(clippy::panic, clippy::disallowed_methods)]

use std::collections::BTreeMap;

use gatehouse_store::schema::{ColumnType, TABLES};
use sqlx::Connection;

type Columns = BTreeMap<String, Vec<(String, ColumnType)>>;

fn described() -> Columns {
    TABLES
        .iter()
        .map(|table| (table.name.to_string(), table.columns.iter().map(|(name, kind)| (name.to_string(), *kind)).collect()))
        .collect()
}

/// The portable type a database's declared column type stands for.
fn portable(declared: &str) -> ColumnType {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => ColumnType::Int,
        "text" => ColumnType::Text,
        "blob" | "bytea" => ColumnType::Bytes,
        "boolean" => ColumnType::Bool,
        other => panic!("a column of type {other} has no portable type"),
    }
}

#[tokio::test]
async fn the_sqlite_migrations_create_the_described_tables() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("schema.db").display());
    gatehouse_store::open(&url).await.expect("open and migrate");
    let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("connect");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&mut connection)
    .await
    .expect("tables");
    let mut created = Columns::new();
    for table in tables {
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid").bind(&table).fetch_all(&mut connection).await.expect("columns");
        created.insert(table, columns.into_iter().map(|(name, declared)| (name, portable(&declared))).collect());
    }
    assert_eq!(created, described());
}

#[tokio::test]
async fn the_postgres_migrations_create_the_described_tables() {
    let Ok(base) = std::env::var("GATEHOUSE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: set GATEHOUSE_TEST_POSTGRES_URL to check the PostgreSQL migrations");
        return;
    };
    // A fresh schema, so the check sees exactly what the migrations create.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    let schema = format!("gh_schema_{}_{nanos}", std::process::id());
    let mut connection = sqlx::PgConnection::connect(&base).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut connection).await.expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
    gatehouse_store::open(&url).await.expect("open and migrate");
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
         WHERE table_schema = $1 AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name, ordinal_position",
    )
    .bind(&schema)
    .fetch_all(&mut connection)
    .await
    .expect("columns");
    let mut created = Columns::new();
    for (table, column, declared) in columns {
        created.entry(table).or_default().push((column, portable(&declared)));
    }
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut connection).await.expect("drop schema");
    assert_eq!(created, described());
}
