//! Browser sessions at the authorization endpoint, stored by the hash of their cookie.

use async_trait::async_trait;
use gatehouse_domain::TokenHash;
use gatehouse_domain::oauth::BrowserSession;

use crate::backend::{Backend, query};
use crate::schema::OAUTH_SESSIONS;
use crate::sql_store::SqlStore;
use crate::error::StoreResult;

#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()>;
    async fn session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>>;
    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()>;
}

#[async_trait]
impl<DB: Backend> SessionRepository for SqlStore<DB> {
    async fn insert_session(&self, session: &BrowserSession) -> StoreResult<()> {
        let row = OAUTH_SESSIONS.row(vec![
            ("session_hash", (&session.hash).into()),
            ("user_id", session.user_id.into()),
            ("auth_time", session.auth_time.into()),
            ("created", session.created.into()),
            ("expires_at", session.expires_at.into()),
        ])?;
        query(OAUTH_SESSIONS.insert_one()).bind_all(row).execute(&self.writer).await?;
        Ok(())
    }

    async fn session(&self, hash: &TokenHash) -> StoreResult<Option<BrowserSession>> {
        let sql = format!("SELECT {} FROM oauth_sessions WHERE session_hash = $1", OAUTH_SESSIONS.column_list());
        let Some(row) = query(sql).bind(hash).fetch_optional(&self.pool).await? else { return Ok(None) };
        Ok(Some(BrowserSession {
            hash: row.get("session_hash")?,
            user_id: row.get("user_id")?,
            auth_time: row.get("auth_time")?,
            created: row.get("created")?,
            expires_at: row.get("expires_at")?,
        }))
    }

    async fn delete_session(&self, hash: &TokenHash) -> StoreResult<()> {
        query("DELETE FROM oauth_sessions WHERE session_hash = $1").bind(hash).execute(&self.writer).await?;
        Ok(())
    }
}
