//! Server-wide settings (the zone, first-start markers): a key-value table.

use async_trait::async_trait;

use crate::backend::{Backend, query};
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

#[async_trait]
pub trait SettingsRepository: Send + Sync {
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()>;
    /// The stored value of `key`, storing `value` first if there is none. Nodes racing to create a
    /// shared secret all end up with the one that was stored first.
    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;
}

#[async_trait]
impl<DB: Backend> SettingsRepository for SqlStore<DB> {
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row = query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        row.map(|row| row.get("value")).transpose()
    }

    async fn put_setting(&self, key: &str, value: &str) -> StoreResult<()> {
        query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        // Read back on the writer: the value another node stored may be newer than a reader has seen.
        query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_one(&self.writer).await?.get("value")
    }
}
