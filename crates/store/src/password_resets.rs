//! Password resets by email: stored by the hash of the mailed secret, used once, in the same transaction
//! that sets the new password and ends what the old one opened.

use async_trait::async_trait;
use gatehouse_domain::password_reset::PasswordReset;
use gatehouse_domain::revocation::Revoked;
use gatehouse_domain::{Timestamp, TokenHash, UserId};

use crate::backend::{Backend, query};
use crate::error::StoreResult;
use crate::refresh_tokens::revoke_user_families_in;
use crate::revocations::record_revocation;
use crate::schema::PASSWORD_RESETS;
use crate::sql_store::SqlStore;

#[async_trait]
pub trait PasswordResetRepository: Send + Sync {
    async fn insert_password_reset(&self, reset: &PasswordReset) -> StoreResult<()>;
    async fn password_reset(&self, hash: &TokenHash) -> StoreResult<Option<PasswordReset>>;
    /// Uses the reset at `now` and, in the same transaction, sets the user's password hash, ends every
    /// browser session of the user, revokes every OAuth token family (refresh tokens and the access tokens
    /// issued from them) with the revocation on the feed, and spends the user's other open resets.
    /// `None`: the reset is unknown, used or expired; of two racing uses exactly one gets the user, since
    /// the first update that marks it used is the only one whose condition still holds.
    async fn complete_password_reset(&self, hash: &TokenHash, password_hash: &str, now: Timestamp) -> StoreResult<Option<UserId>>;
}

#[async_trait]
impl<DB: Backend> PasswordResetRepository for SqlStore<DB> {
    async fn insert_password_reset(&self, reset: &PasswordReset) -> StoreResult<()> {
        let row = PASSWORD_RESETS.row(vec![
            ("token_hash", (&reset.hash).into()),
            ("user_id", reset.user_id.into()),
            ("created", reset.created.into()),
            ("expires_at", reset.expires_at.into()),
            ("used_at", reset.used_at.into()),
        ])?;
        query(PASSWORD_RESETS.insert_one()).bind_all(row).execute(&self.writer).await?;
        Ok(())
    }

    async fn password_reset(&self, hash: &TokenHash) -> StoreResult<Option<PasswordReset>> {
        let sql = format!("SELECT {} FROM password_resets WHERE token_hash = $1", PASSWORD_RESETS.column_list());
        let Some(row) = query(sql).bind(hash).fetch_optional(&self.pool).await? else { return Ok(None) };
        Ok(Some(PasswordReset {
            hash: row.get("token_hash")?,
            user_id: row.get("user_id")?,
            created: row.get("created")?,
            expires_at: row.get("expires_at")?,
            used_at: row.get("used_at")?,
        }))
    }

    async fn complete_password_reset(&self, hash: &TokenHash, password_hash: &str, now: Timestamp) -> StoreResult<Option<UserId>> {
        let mut tx = self.writer.begin().await?;
        let used = query(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
        )
        .bind(now)
        .bind(hash)
        .bind(now)
        .fetch_optional(&mut tx)
        .await?;
        let Some(row) = used else { return Ok(None) };
        let user: UserId = row.get("user_id")?;
        if query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(user).execute(&mut tx).await? == 0 {
            return Ok(None);
        }
        query("DELETE FROM oauth_sessions WHERE user_id = $1").bind(user).execute(&mut tx).await?;
        query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL").bind(now).bind(user).execute(&mut tx).await?;
        revoke_user_families_in(&mut tx, user, now).await?;
        record_revocation(&mut tx, &Revoked::User(user), now).await?;
        tx.commit().await?;
        Ok(Some(user))
    }
}
