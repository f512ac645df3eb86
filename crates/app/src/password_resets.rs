//! The forgotten password: a reset link by email, single-use and valid for 30 minutes.
//!
//! Asking tells nothing about which accounts exist: the answer is the same for an unknown address, and the
//! throttle counts every request before anything is looked up. Using a link sets the password and ends
//! what the old one opened, in one transaction (see `PasswordResetRepository::complete_password_reset`).

use std::net::IpAddr;

use gatehouse_domain::oauth::OpaqueSecret;
use gatehouse_domain::password_reset::{PasswordReset, RESET_TTL_SECS};
use gatehouse_domain::{AuditActor, AuditDetails, AuditKind, Email, UserId};

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::invalidation::Invalidation;
use crate::mail::password_reset_mail;
use crate::rate_limit::Rule;
use crate::throttle::account_key;

const HOUR: i64 = 60 * 60 * 1000;
/// Links mailed to one address: enough for a lost message or two, too few to flood a mailbox.
const PER_EMAIL: Rule = Rule { name: "reset-email", limit: 3, window_millis: HOUR };
/// Requests from one client address, whatever the email: bounds a sweep over many addresses.
const PER_ADDRESS: Rule = Rule { name: "reset-address", limit: 10, window_millis: HOUR };

impl App {
    /// Mails a reset link to the account with this email, if there is one; answers the same either way.
    /// Throttled per email and per client address, counted before the account is looked up, so the
    /// throttle says nothing about existence either.
    pub async fn request_password_reset(&self, email: &str, peer: IpAddr) -> AppResult<()> {
        let Some(outbox) = self.outbox() else {
            return Err(AppError::forbidden("Password reset by email is not available on this server: ask an administrator."));
        };
        let email = Email::parse(email)?;
        let now = self.clock.now();
        for (rule, subject) in [(PER_ADDRESS, peer.to_string()), (PER_EMAIL, account_key(email.as_str()))] {
            let quota = self.limiter.hit(rule, &subject, now).await;
            if !quota.allowed {
                return Err(AppError::RateLimited {
                    detail: "Too many password reset requests: try again later.".into(),
                    retry_after_secs: quota.reset_secs,
                });
            }
        }
        let Some(user) = self.store.user_by_email(&email).await? else { return Ok(()) };
        let (secret, reset) = PasswordReset::issue(user.id, now, self.random.as_ref());
        self.store.insert_password_reset(&reset).await?;
        let link = format!("{}/reset-password/{}", self.settings.issuer, secret.reveal());
        outbox.queue(password_reset_mail(outbox.from(), &user.email, &link, RESET_TTL_SECS / 60));
        Ok(())
    }

    /// Sets a new password with a mailed link's secret: once, within 30 minutes. Ends every browser session
    /// of the user and revokes their OAuth tokens on every node; the user signs in again with the new one.
    pub async fn reset_password_with_token(&self, token: &str, new_password: String) -> AppResult<UserId> {
        let refused = || AppError::invalid("This reset link does not work: it was used, it expired, or it is wrong. Ask for a new one.");
        let secret = OpaqueSecret::parse(token.trim()).ok_or_else(refused)?;
        let hash = secret.hash();
        // A look first, so that argon2 runs only for a link that can still work; the use itself is the
        // atomic one below.
        let reset = self.store.password_reset(&hash).await?.ok_or_else(refused)?;
        if !reset.is_usable(self.clock.now()) {
            return Err(refused());
        }
        let password_hash = self.hash_password(new_password).await?;
        let user = self.store.complete_password_reset(&hash, &password_hash, self.clock.now()).await?.ok_or_else(refused)?;
        self.apply(&[Invalidation::User(user)]);
        let account = self.store.user_by_id(user).await?.map(|user| user.email);
        let details = AuditDetails::new().target(user.0).user(user).reason("an emailed reset link");
        self.record(self.audit_event(AuditKind::UserPasswordReset, AuditActor::Anonymous { account }).with(details)).await;
        Ok(user)
    }

    /// Whether a reset link would still set a password now (the console asks before showing its form).
    pub async fn password_reset_usable(&self, token: &str) -> AppResult<bool> {
        let Some(secret) = OpaqueSecret::parse(token.trim()) else { return Ok(false) };
        Ok(self.store.password_reset(&secret.hash()).await?.is_some_and(|reset| reset.is_usable(self.clock.now())))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;

    use super::*;
    use crate::authorization::LoginOutcome;
    use crate::mail::{MailError, Mailer, OutgoingMail};
    use crate::testing::TestApp;

    const OLD: &str = "correct horse battery staple";
    const NEW: &str = "a brand new passphrase here";

    /// Keeps what would have been sent: the SMTP transport itself is tested against a real server in the
    /// integration tests.
    #[derive(Default)]
    struct Sent(Mutex<Vec<OutgoingMail>>);

    #[async_trait]
    impl Mailer for Sent {
        async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
            self.0.lock().unwrap().push(mail.clone());
            Ok(())
        }
    }

    async fn app_with_mail() -> (TestApp, Arc<Sent>) {
        let mut app = TestApp::new().await;
        let sent = Arc::new(Sent::default());
        app.app = app.app.with_mailer(sent.clone());
        app.create_user("Owner", "owner@example.com", Some(OLD.into()), false).await.unwrap();
        (app, sent)
    }

    async fn mailed_link(app: &TestApp, sent: &Sent) -> String {
        assert!(app.outbox().unwrap().idle(std::time::Duration::from_secs(5)).await);
        let mails = sent.0.lock().unwrap();
        let text = &mails.last().expect("a message").text;
        let start = text.find("/reset-password/").expect("a link") + "/reset-password/".len();
        text[start..].split_whitespace().next().unwrap().to_string()
    }

    fn peer() -> IpAddr {
        "203.0.113.9".parse().unwrap()
    }

    #[tokio::test]
    async fn an_unknown_address_gets_the_same_answer_and_no_mail() {
        let (app, sent) = app_with_mail().await;
        assert!(app.request_password_reset("nobody@example.com", peer()).await.is_ok());
        assert!(app.outbox().unwrap().idle(std::time::Duration::from_secs(5)).await);
        assert!(sent.0.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_link_sets_the_password_once_and_ends_the_old_sessions() {
        let (app, sent) = app_with_mail().await;
        let LoginOutcome::SignedIn(session) = app.sign_in(None, "owner@example.com", OLD.into(), peer()).await.unwrap() else {
            panic!("signed in")
        };
        app.request_password_reset("Owner@Example.com", peer()).await.unwrap();
        let token = mailed_link(&app, &sent).await;
        assert!(app.password_reset_usable(&token).await.unwrap());
        assert!(matches!(app.reset_password_with_token(&token, "short".into()).await, Err(AppError::Invalid(_))), "policy");
        app.reset_password_with_token(&token, NEW.into()).await.unwrap();
        assert!(app.reset_password_with_token(&token, NEW.into()).await.is_err(), "single use");
        assert!(app.store.session(&session.record.hash).await.unwrap().is_none(), "the old session ended");
        assert!(matches!(app.sign_in(None, "owner@example.com", OLD.into(), peer()).await.unwrap(), LoginOutcome::Refused));
        assert!(matches!(app.sign_in(None, "owner@example.com", NEW.into(), peer()).await.unwrap(), LoginOutcome::SignedIn(_)));
    }

    #[tokio::test]
    async fn a_link_expires_after_thirty_minutes() {
        let (app, sent) = app_with_mail().await;
        app.request_password_reset("owner@example.com", peer()).await.unwrap();
        let token = mailed_link(&app, &sent).await;
        app.clock.advance_secs(RESET_TTL_SECS);
        assert!(!app.password_reset_usable(&token).await.unwrap());
        assert!(app.reset_password_with_token(&token, NEW.into()).await.is_err());
    }

    #[tokio::test]
    async fn two_concurrent_uses_of_one_link_set_the_password_once() {
        let (app, sent) = app_with_mail().await;
        app.request_password_reset("owner@example.com", peer()).await.unwrap();
        let token = mailed_link(&app, &sent).await;
        let (a, b) = tokio::join!(
            app.reset_password_with_token(&token, NEW.into()),
            app.reset_password_with_token(&token, "another new passphrase".into())
        );
        assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "exactly one use");
    }

    #[tokio::test]
    async fn requests_are_throttled_per_email_whether_or_not_the_account_exists() {
        let (app, _sent) = app_with_mail().await;
        for email in ["owner@example.com", "nobody@example.com"] {
            for _ in 0..PER_EMAIL.limit {
                app.request_password_reset(email, "198.51.100.1".parse().unwrap()).await.unwrap();
            }
            let refused = app.request_password_reset(email, "198.51.100.2".parse().unwrap()).await;
            assert!(matches!(refused, Err(AppError::RateLimited { .. })), "{email}");
        }
    }

    #[tokio::test]
    async fn without_mail_there_is_no_reset_by_email() {
        let app = TestApp::new().await;
        assert!(!app.mail_available());
        assert!(matches!(app.request_password_reset("owner@example.com", peer()).await, Err(AppError::Forbidden(_))));
    }
}
