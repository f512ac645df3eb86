//! PostgreSQL for tests: each server gets a fresh schema in the database the URL names.

/// Creates a uniquely named schema and returns a URL whose connections use it.
pub async fn fresh_schema_url(base: &str) -> String {
    use sqlx::Connection;
    let schema = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
    let mut connection = sqlx::PgConnection::connect(base).await.expect("connect to PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut connection).await.expect("create schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}
