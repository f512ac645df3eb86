//! What a signed-in person does to their own account in the console: signing out, changing their password,
//! and receiving a new secret once (sealed to their session, see `gatehouse_domain::sealed`).

use std::net::IpAddr;

use gatehouse_domain::{AuditDetails, AuditKind, sealed};

use crate::actor::Actor;
use crate::app::App;
use crate::authorization::Session;
use crate::error::{AppError, AppResult};
use crate::throttle::account_key;

/// The purpose label a session's sealing key is derived under.
const SEALING_PURPOSE: &str = "gatehouse-console-sealed";

/// How a password change ended.
pub enum PasswordChange {
    /// Changed. Every session of the user ended, this one too; this is the browser's new session.
    Changed(Box<Session>),
    /// The current password was wrong; nothing changed.
    WrongCurrentPassword,
    /// Too many wrong current passwords: the login throttle's answer.
    Throttled { retry_after_secs: i64 },
}

impl App {
    /// Ends this browser session, on every node (sessions are read from the store on each request).
    pub async fn sign_out(&self, session: &Session) -> AppResult<()> {
        Ok(self.store.delete_session(&session.record.hash).await?)
    }

    /// Changes the signed-in user's password. The current password is asked for, so a browser left signed in
    /// cannot be used to take the account, and its checks count against the login throttle like sign-ins
    /// do. Every session of the user ends on every node, so a thief's session dies with the old password;
    /// the browser that made the change gets a new one.
    pub async fn change_password(&self, session: &Session, current: String, new_password: String, peer: IpAddr) -> AppResult<PasswordChange> {
        let Some((user_id, _)) = session.user() else { return Err(AppError::Unauthenticated("You are not signed in.".into())) };
        let user = self.store.user_by_id(user_id).await?.ok_or_else(|| AppError::Unauthenticated("Your account no longer exists.".into()))?;
        // The policy first: a new password that cannot be accepted should not cost a throttle slot.
        gatehouse_domain::password::check_policy(&new_password)?;
        let ticket = match self.admit_login(&account_key(user.email.as_str()), peer, self.clock.now()).await? {
            Ok(ticket) => ticket,
            Err(wait) => return Ok(PasswordChange::Throttled { retry_after_secs: i64::try_from(wait).unwrap_or(i64::MAX) }),
        };
        if !self.verify_password(user.password_hash.clone(), current).await {
            return Ok(PasswordChange::WrongCurrentPassword);
        }
        self.forgive_login(ticket).await;
        let hash = self.hash_password(new_password).await?;
        if !self.store.set_password(user.id, &hash).await? {
            return Err(AppError::Unauthenticated("Your account no longer exists.".into()));
        }
        let actor = Actor::operator(&user);
        self.audit(AuditKind::UserPasswordChanged, Some(&actor), None, AuditDetails::new().target(user.id.0).user(user.id)).await;
        let session = self.create_session(user.id).await?;
        Ok(PasswordChange::Changed(Box::new(session)))
    }

    /// Seals a value to this session, to be shown once on the next page (see `gatehouse_domain::sealed`).
    pub fn seal_for_session(&self, session: &Session, purpose: &str, value: &str) -> AppResult<String> {
        let key = session.secret.derive_key(SEALING_PURPOSE);
        sealed::seal(&key, self.random.as_ref(), purpose, value).ok_or_else(|| AppError::Internal("sealing a value failed".into()))
    }

    /// Opens a value sealed to this session for `purpose`; `None` when it was sealed to another session or
    /// purpose, or tampered with.
    pub fn open_for_session(&self, session: &Session, purpose: &str, sealed_value: &str) -> Option<String> {
        sealed::open(&session.secret.derive_key(SEALING_PURPOSE), purpose, sealed_value)
    }
}
