//! The login throttle: password checks counted before argon2 runs, in one atomic step with the check of
//! the limit, so concurrent attempts cannot all slip through (a read of the limit before the hash and a
//! write after it let 96 of 100 concurrent guesses through).
//!
//! Counted per account *and* client address, with backoff, rather than a lock on the account for everyone:
//! - one account from one address: `login_checks_per_minute` (5) a minute, 2× that in 15 minutes, 4× in an
//!   hour; each rung waits longer, and only that pair waits, so the owner signs in from elsewhere;
//! - one address, every account: 20 in 15 minutes (password spraying);
//! - one account, every address: 60 in 15 minutes (bounds a distributed guesser; reaching it takes many
//!   addresses, and `gatehouse user unlock` lifts it).
//!
//! A successful sign-in gives back the checks it counted, so only failures accumulate. The counters are
//! the shared ones when Redis is configured.

use std::net::IpAddr;

use gatehouse_domain::{Email, Timestamp};

use crate::app::App;
use crate::error::AppResult;
use crate::rate_limit::Rule;

const MINUTE: i64 = 60_000;
const ADDRESS_RULE: Rule = Rule { name: "login-address", limit: 20, window_millis: 15 * MINUTE };
const ACCOUNT_RULE: Rule = Rule { name: "login-account", limit: 60, window_millis: 15 * MINUTE };

/// An unlock starts a new generation of an account's counters: every node, with Redis or without, reads
/// it from the store, so a lock lifted from the CLI is lifted everywhere.
fn unlock_setting(account: &str) -> String {
    format!("login-unlocked:{account}")
}

/// How an account is named in counters: the normalized email, or the lowercased text when it is not one.
pub(crate) fn account_key(email: &str) -> String {
    Email::parse(email).map_or_else(|_| email.to_lowercase(), |e| e.as_str().to_string())
}

impl App {
    fn pair_rules(&self) -> [Rule; 3] {
        let per_minute = self.settings.limits.login_checks_per_minute.max(1);
        // Longest first, so a refusal names the longest wait that applies.
        [
            Rule { name: "login-pair-1h", limit: per_minute * 4, window_millis: 60 * MINUTE },
            Rule { name: "login-pair-15m", limit: per_minute * 2, window_millis: 15 * MINUTE },
            Rule { name: "login-pair-1m", limit: per_minute, window_millis: MINUTE },
        ]
    }

    /// Counts one password check for `account` from `address`, or says how long to wait. Counting stops at
    /// the first refusal: an attempt refused for one account and address never counts against the address
    /// or the account as a whole, so an attacker's hammering lengthens only their own wait.
    pub(crate) async fn admit_login(&self, account: &str, address: IpAddr, now: Timestamp) -> AppResult<Result<LoginTicket, u64>> {
        let generation = self.store.setting(&unlock_setting(account)).await?.unwrap_or_default();
        let account = format!("{account}#{generation}");
        let pair = format!("{account}|{address}");
        let address = address.to_string();
        let mut counted = Vec::with_capacity(5);
        let checks = self.pair_rules().map(|rule| (rule, pair.clone())).into_iter().chain([(ADDRESS_RULE, address), (ACCOUNT_RULE, account)]);
        for (rule, subject) in checks {
            let quota = self.limiter.hit(rule, &subject, now).await;
            if !quota.allowed {
                return Ok(Err(quota.reset_secs));
            }
            counted.push((rule, subject));
        }
        Ok(Ok(LoginTicket { counted, at: now }))
    }

    /// A sign-in succeeded: its checks are not failures.
    pub(crate) async fn forgive_login(&self, ticket: LoginTicket) {
        for (rule, subject) in ticket.counted {
            self.limiter.forgive(rule, &subject, ticket.at).await;
        }
    }

    /// Lifts every login limit on the account, on every node (the CLI's `user unlock`, the console).
    pub async fn unlock_user(&self, email: &str) -> AppResult<()> {
        let user = self.user_by_email(email).await?;
        let account = account_key(user.email.as_str());
        let generation = self.clock.now().as_millis().to_string();
        self.store.put_setting(&unlock_setting(&account), &generation).await?;
        tracing::info!(user = user.id.0, "login limits lifted");
        let details = gatehouse_domain::AuditDetails::new().target(user.id.0).user(user.id);
        self.audit(gatehouse_domain::AuditKind::UserUnlocked, None, None, details).await;
        Ok(())
    }
}

/// The checks one attempt counted, to give back when it succeeds.
pub(crate) struct LoginTicket {
    counted: Vec<(Rule, String)>,
    at: Timestamp,
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use crate::authorization::LoginOutcome;
    use crate::testing::TestApp;

    const PASSWORD: &str = "correct horse battery staple";

    async fn app_with_owner() -> Arc<TestApp> {
        let app = TestApp::new().await;
        app.create_user("Owner", "owner@example.com", Some(PASSWORD.into()), false).await.unwrap();
        Arc::new(app)
    }

    async fn attempt(app: &TestApp, password: &str, from: &str) -> LoginOutcome {
        app.sign_in(None, "owner@example.com", password.into(), from.parse().unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn concurrent_guesses_are_counted_before_the_password_check() {
        let app = app_with_owner().await;
        let guesses = (0..40).map(|n| {
            let app = app.clone();
            tokio::spawn(async move { attempt(&app, &format!("wrong {n}"), "203.0.113.9").await })
        });
        for guess in guesses {
            assert!(!matches!(guess.await.unwrap(), LoginOutcome::SignedIn(_)));
        }
        assert_eq!(app.password_checks.load(Ordering::Relaxed), 5, "five checks a minute for one account and address");
        assert!(matches!(attempt(&app, PASSWORD, "198.51.100.7").await, LoginOutcome::SignedIn(_)), "the owner, elsewhere");
    }

    #[tokio::test]
    async fn the_wait_grows_rung_by_rung() {
        let app = app_with_owner().await;
        for _ in 0..5 {
            assert!(matches!(attempt(&app, "wrong", "203.0.113.9").await, LoginOutcome::Refused));
        }
        assert!(matches!(attempt(&app, "wrong", "203.0.113.9").await, LoginOutcome::Throttled { retry_after_secs } if retry_after_secs <= 60));
        app.clock.advance_secs(60);
        let mut refused = 0;
        let retry_after_secs = loop {
            match attempt(&app, "wrong", "203.0.113.9").await {
                LoginOutcome::Refused => refused += 1,
                LoginOutcome::Throttled { retry_after_secs } => break retry_after_secs,
                LoginOutcome::SignedIn(_) => panic!("a wrong password signed in"),
            }
        };
        assert!(refused < 5, "the 15-minute rung holds before the minute's: {refused}");
        assert!(retry_after_secs > 60, "a longer wait: {retry_after_secs}");
        assert!(matches!(attempt(&app, PASSWORD, "198.51.100.7").await, LoginOutcome::SignedIn(_)), "the owner, elsewhere");
    }

    #[tokio::test]
    async fn a_success_is_not_a_failure_and_unlock_lifts_the_limit() {
        let app = app_with_owner().await;
        for _ in 0..8 {
            assert!(matches!(attempt(&app, PASSWORD, "203.0.113.9").await, LoginOutcome::SignedIn(_)));
        }
        for _ in 0..5 {
            attempt(&app, "wrong", "203.0.113.9").await;
        }
        assert!(matches!(attempt(&app, PASSWORD, "203.0.113.9").await, LoginOutcome::Throttled { .. }));
        app.unlock_user("owner@example.com").await.unwrap();
        assert!(matches!(attempt(&app, PASSWORD, "203.0.113.9").await, LoginOutcome::SignedIn(_)));
    }
}
