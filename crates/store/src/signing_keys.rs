//! The keys that sign ID and access tokens. Each signs until a newer one exists, and stays published until
//! it retires, so tokens it signed keep verifying.

use async_trait::async_trait;
use gatehouse_domain::ids::Kid;
use gatehouse_domain::Timestamp;
use gatehouse_domain::oauth::SigningKeyRecord;

use crate::backend::{Backend, query};
use crate::schema::OAUTH_SIGNING_KEYS;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

#[async_trait]
pub trait SigningKeyRepository: Send + Sync {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    /// Replaces a key's stored private half (encrypted at rest, or re-encrypted under another secrets key).
    async fn replace_signing_key_material(&self, kid: &Kid, private: &[u8]) -> StoreResult<()>;
    /// Stops every other unretired key from signing; each stays trusted until `retire_at`.
    async fn retire_signing_keys_except(&self, kids: &[Kid], retire_at: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
impl<DB: Backend> SigningKeyRepository for SqlStore<DB> {
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()> {
        let row = OAUTH_SIGNING_KEYS.row(vec![
            ("kid", (&key.kid).into()),
            ("private_pkcs8", key.private_pkcs8.as_slice().into()),
            ("created", key.created.into()),
            ("retire_at", key.retire_at.into()),
        ])?;
        query(OAUTH_SIGNING_KEYS.insert_one()).bind_all(row).execute(&self.writer).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        let sql = format!("SELECT {} FROM oauth_signing_keys ORDER BY created DESC, kid ASC", OAUTH_SIGNING_KEYS.column_list());
        let rows = query(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(SigningKeyRecord {
                    kid: row.get("kid")?,
                    private_pkcs8: row.get("private_pkcs8")?,
                    created: row.get("created")?,
                    retire_at: row.get("retire_at")?,
                })
            })
            .collect()
    }

    async fn replace_signing_key_material(&self, kid: &Kid, private: &[u8]) -> StoreResult<()> {
        query("UPDATE oauth_signing_keys SET private_pkcs8 = $1 WHERE kid = $2").bind(private).bind(kid).execute(&self.writer).await?;
        Ok(())
    }

    async fn retire_signing_keys_except(&self, kids: &[Kid], retire_at: Timestamp) -> StoreResult<u64> {
        let kept: Vec<String> = (0..kids.len()).map(|index| format!("${}", index + 2)).collect();
        let sql = if kept.is_empty() {
            "UPDATE oauth_signing_keys SET retire_at = $1 WHERE retire_at IS NULL".to_string()
        } else {
            format!("UPDATE oauth_signing_keys SET retire_at = $1 WHERE retire_at IS NULL AND kid NOT IN ({})", kept.join(", "))
        };
        let mut statement = query(sql).bind(retire_at);
        for kid in kids {
            statement = statement.bind(kid);
        }
        statement.execute(&self.writer).await
    }
}
