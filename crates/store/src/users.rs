//! People who sign in: their accounts, looked up by id or email.

use async_trait::async_trait;
use gatehouse_domain::identity::NewUser;
use gatehouse_domain::{Email, Page, Timestamp, User, UserId};

use crate::backend::{Backend, Row, is_unique_violation, query};
use crate::revocations::record_revocation;
use crate::schema::USERS;
use crate::sql_store::page_clause;
use gatehouse_domain::revocation::Revoked;
use crate::sql_store::SqlStore;
use crate::error::StoreError;
use crate::error::StoreResult;

#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    /// Deletes the user with everything they hold (tokens, memberships), and records the revocation in the
    /// same transaction so every node drops the user's cached credentials.
    async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<bool>;
    async fn list_users(&self, page: Page) -> StoreResult<Vec<User>>;
    /// Replaces the user's password hash and ends every browser session they have, in one transaction, so
    /// that no session opened with the old password outlives the reset. Sessions are read from the store on
    /// each request, never cached, so every node sees them gone at once. `false`: no such user.
    async fn set_password(&self, id: UserId, password_hash: &str) -> StoreResult<bool>;
    /// Makes the user a platform administrator or not, and records a revocation of the user in the same
    /// transaction: every node caches verified credentials with the flag they were verified with, and the
    /// feed makes them drop those. `false`: no such user.
    async fn set_admin(&self, id: UserId, is_admin: bool, now: Timestamp) -> StoreResult<bool>;
    /// Writes the user's own details: name, language, locale, time zone and country. `false`: no such user.
    async fn update_profile(&self, user: &User) -> StoreResult<bool>;
}

pub(crate) fn user_from_row<DB: Backend>(row: &Row<DB>) -> StoreResult<User> {
    Ok(User {
        id: row.get("id")?,
        name: row.get("name")?,
        email: Email::from_stored(row.get("email")?),
        password_hash: row.get("password_hash")?,
        language: row.get("language")?,
        timezone: row.get("timezone")?,
        locale: row.get("locale")?,
        country: row.get("country")?,
        is_admin: row.get("is_admin")?,
        created: row.get("created")?,
    })
}

#[async_trait]
impl<DB: Backend> UserRepository for SqlStore<DB> {
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> StoreResult<User> {
        let sql = format!(
            "INSERT INTO users (name, email, password_hash, is_admin, created) VALUES ($1, $2, $3, $4, $5) RETURNING {}",
            USERS.column_list()
        );
        let result = query(sql)
            .bind(&user.name)
            .bind(user.email.as_str())
            .bind(&user.password_hash)
            .bind(user.is_admin)
            .bind(now)
            .fetch_one(&self.writer)
            .await;
        match result {
            Ok(row) => user_from_row(&row),
            Err(error) if is_unique_violation(&error) => Err(StoreError::Conflict("a user with this email already exists")),
            Err(error) => Err(error),
        }
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE id = $1", USERS.column_list());
        let row = query(sql).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {} FROM users WHERE email = $1", USERS.column_list());
        let row = query(sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?.get("n")
    }

    async fn delete_user(&self, id: UserId, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        // Foreign keys cascade to tokens, memberships and (with OAuth) grants.
        if query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut tx).await? == 0 {
            return Ok(false);
        }
        record_revocation(&mut tx, &Revoked::User(id), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_users(&self, page: Page) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {} FROM users{}", USERS.column_list(), page_clause(page, ""));
        let rows = query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_password(&self, id: UserId, password_hash: &str) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(password_hash).bind(id).execute(&mut tx).await? == 0 {
            return Ok(false);
        }
        query("DELETE FROM oauth_sessions WHERE user_id = $1").bind(id).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_admin(&self, id: UserId, is_admin: bool, now: Timestamp) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await?;
        if query("UPDATE users SET is_admin = $1 WHERE id = $2").bind(is_admin).bind(id).execute(&mut tx).await? == 0 {
            return Ok(false);
        }
        record_revocation(&mut tx, &Revoked::User(id), now).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_profile(&self, user: &User) -> StoreResult<bool> {
        let changed = query("UPDATE users SET name = $1, language = $2, locale = $3, timezone = $4, country = $5 WHERE id = $6")
            .bind(&user.name)
            .bind(&user.language)
            .bind(&user.locale)
            .bind(&user.timezone)
            .bind(&user.country)
            .bind(user.id)
            .execute(&self.writer)
            .await?;
        Ok(changed == 1)
    }
}
