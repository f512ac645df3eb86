//! Email, as Make sends it: a notice when an API token is created on an account, and the password reset
//! link. What a message says is composed here; how it travels is a [`Mailer`] (SMTP in `smtp`).
//!
//! Sending never blocks or fails the request that caused it: [`Outbox::queue`] hands the message to a task
//! that tries a few times and then logs the failure, without the body (a reset link is a credential). Mail
//! still queued when the process stops is lost; the CLI waits for its own with [`Outbox::idle`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::{ApiToken, AuditOrigin, Email};

/// One message, ready to send.
#[derive(Clone)]
pub struct OutgoingMail {
    pub from: String,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Never the body: it may hold a reset link.
impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail").field("to", &self.to.as_str()).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// A message that could not be sent (or built): said for the log, never holding the body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(pub String);

/// Where mail goes out: the one port the use cases know.
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// How mail is configured on a node (`serve --smtp-url`, `--mail-from`).
#[derive(Clone, Default)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtp://host:587?tls=starttls`, `smtps://user:password@host`; `None`: no mail.
    pub smtp_url: Option<String>,
    /// The `From` of every message; default `Gatehouse <noreply@ISSUER-HOST>`.
    pub from: Option<String>,
}

/// The URL's password is never printed.
impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_deref().map(gatehouse_store::redact_url))
            .field("from", &self.from)
            .finish()
    }
}

/// `Gatehouse <noreply@host>` for an issuer `https://host[:port][/path]`.
pub fn default_from(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = match authority.strip_prefix('[') {
        // An IPv6 literal is a valid domain part only in brackets.
        Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or(v6)),
        None => authority.split(':').next().unwrap_or(authority).to_string(),
    };
    let host = if host.is_empty() { "localhost".to_string() } else { host };
    format!("Gatehouse <noreply@{host}>")
}

/// Messages waiting or being sent, at most; past that a new one is dropped (and logged), so a flood of
/// reset requests against a dead SMTP server cannot grow memory without bound.
const QUEUE_BOUND: u32 = 256;
/// Waits before the second and third attempts.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(5)];

/// The queue in front of a [`Mailer`].
#[derive(Clone)]
pub struct Outbox {
    mailer: Arc<dyn Mailer>,
    from: String,
    slots: Arc<tokio::sync::Semaphore>,
}

impl Outbox {
    pub fn new(mailer: Arc<dyn Mailer>, from: String) -> Self {
        Self { mailer, from, slots: Arc::new(tokio::sync::Semaphore::new(QUEUE_BOUND as usize)) }
    }

    pub fn from(&self) -> &str {
        &self.from
    }

    /// Sends `mail` in the background: up to three attempts, then one error in the log. Returns at once.
    pub fn queue(&self, mail: OutgoingMail) {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            tracing::error!(subject = %mail.subject, "mail not sent: the outgoing queue is full");
            return;
        };
        let mailer = self.mailer.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut delays = RETRY_DELAYS.iter();
            loop {
                match mailer.send(&mail).await {
                    Ok(()) => {
                        tracing::info!(subject = %mail.subject, "mail sent");
                        return;
                    }
                    Err(error) => match delays.next() {
                        Some(delay) => {
                            tracing::warn!(%error, subject = %mail.subject, "mail not sent yet; trying again");
                            tokio::time::sleep(*delay).await;
                        }
                        None => {
                            tracing::error!(%error, subject = %mail.subject, "mail not sent: giving up");
                            return;
                        }
                    },
                }
            }
        });
    }

    /// Waits until every queued message is sent or given up, at most `within`. True when idle.
    pub async fn idle(&self, within: Duration) -> bool {
        tokio::time::timeout(within, self.slots.acquire_many(QUEUE_BOUND)).await.is_ok_and(|permits| permits.is_ok())
    }
}

/// Make's notice on a new API token: which label and scopes, when and from where, and what to do if it was
/// not the owner. Never the token.
pub fn token_created_notice(from: &str, to: &Email, token: &ApiToken, origin: &AuditOrigin, issuer: &str) -> OutgoingMail {
    let scopes = token.scopes.names();
    let place = origin.address.map_or_else(|| "the server's command line".to_string(), |address| format!("the address {address}"));
    let expiry = token.expires_at.map_or_else(|| "never".to_string(), |at| at.to_iso());
    let manage = format!("{issuer}/user/api");
    let lines = [
        ("Label", token.label.as_str().to_string()),
        ("Scopes", scopes.join(", ")),
        ("Created", token.created.to_iso()),
        ("From", place.clone()),
        ("Expires", expiry),
    ];
    let mut text = String::from("A new API token was created on your Gatehouse account.\n\n");
    for (name, value) in &lines {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push_str(&format!(
        "\nIf you created it, there is nothing to do. If you did not, delete it at {manage} and change your password.\n"
    ));
    let rows: String =
        lines.iter().map(|(name, value)| format!("<tr><th align=\"left\">{name}</th><td>{}</td></tr>", escape(value))).collect();
    let html = format!(
        "<p>A new API token was created on your Gatehouse account.</p><table>{rows}</table>\
         <p>If you created it, there is nothing to do. If you did not, <a href=\"{href}\">delete it</a> and change \
         your password.</p>",
        href = escape(&manage)
    );
    OutgoingMail {
        from: from.to_string(),
        to: to.clone(),
        subject: format!("New API token \"{}\" on your account", token.label.as_str()),
        text,
        html: Some(html),
    }
}

/// The reset link, with how long it works and what to do if the request was not the owner's.
pub fn password_reset_mail(from: &str, to: &Email, link: &str, valid_minutes: i64) -> OutgoingMail {
    let text = format!(
        "Someone asked to reset the password of your Gatehouse account. To choose a new password, open this link \
         within {valid_minutes} minutes; it works once:\n\n{link}\n\nIf you did not ask, ignore this message: your \
         password stays as it is.\n"
    );
    let html = format!(
        "<p>Someone asked to reset the password of your Gatehouse account. To choose a new password, open this \
         link within {valid_minutes} minutes; it works once:</p><p><a href=\"{href}\">Set a new password</a></p>\
         <p>If you did not ask, ignore this message: your password stays as it is.</p>",
        href = escape(link)
    );
    OutgoingMail { from: from.to_string(), to: to.clone(), subject: "Reset your Gatehouse password".into(), text, html: Some(html) }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::{ScopeSet, Timestamp, TokenHash, TokenLabel, UserId};

    #[test]
    fn the_default_sender_is_noreply_at_the_issuers_host() {
        assert_eq!(default_from("https://auth.example.com"), "Gatehouse <noreply@auth.example.com>");
        assert_eq!(default_from("http://127.0.0.1:8080/base"), "Gatehouse <noreply@127.0.0.1>");
        assert_eq!(default_from("http://[::1]:8080"), "Gatehouse <noreply@[::1]>");
    }

    #[test]
    fn the_token_notice_names_label_scopes_time_and_place_and_escapes_the_label_in_html() {
        let token = ApiToken {
            user_id: UserId(1),
            created: Timestamp::from_millis(1_767_225_600_000),
            label: TokenLabel::from_stored("<ci>".into()),
            scopes: ScopeSet::parse_names(["user:read", "scenarios:run"]).unwrap(),
            hash: TokenHash::of_bytes(b"x"),
            prefix: "abcd1234".into(),
            zone: "z".into(),
            expires_at: None,
            last_used: None,
        };
        let origin = AuditOrigin::new(Some("203.0.113.9".parse().unwrap()), None);
        let to = Email::parse("ada@example.com").unwrap();
        let mail = token_created_notice("Gatehouse <noreply@x>", &to, &token, &origin, "https://auth.example.com");
        for expected in ["<ci>", "user:read", "scenarios:run", "2026-01-01T00:00:00.000Z", "203.0.113.9", "https://auth.example.com/user/api"] {
            assert!(mail.text.contains(expected), "{expected} in {}", mail.text);
        }
        let html = mail.html.unwrap();
        assert!(html.contains("&lt;ci&gt;") && !html.contains("<ci>"), "{html}");
    }

    #[test]
    fn a_message_never_prints_its_body_and_settings_never_print_the_smtp_password() {
        let to = Email::parse("ada@example.com").unwrap();
        let mail = password_reset_mail("f", &to, "https://x/reset-password/SECRET", 30);
        assert!(mail.text.contains("SECRET"));
        assert!(!format!("{mail:?}").contains("SECRET"));
        let settings = MailSettings { smtp_url: Some("smtps://user:hunter2@mail.example.com".into()), from: None };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
