//! The SMTP [`Mailer`], through lettre (tokio, rustls with the system's roots): configured by one URL.
//!
//! - `smtp://host[:port]`: plain SMTP (port 25), for a relay on the same host or network;
//! - `smtp://host[:port]?tls=starttls`: STARTTLS required (port 587); `?tls=opportunistic` when offered;
//! - `smtps://host[:port]`: TLS from the first byte (port 465).
//!
//! `user:password@` in any of them authenticates (percent-encode a password's reserved characters). The
//! password is never logged: errors and `Debug` name the URL through `redact_url`.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::mail::{MailError, Mailer, OutgoingMail};

/// How long one SMTP conversation may take before it counts as a failed attempt.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpMailer {
    /// Checks and builds the transport; connects only when a message is sent.
    pub fn from_url(url: &str) -> Result<Self, MailError> {
        let redacted = gatehouse_store::redact_url(url);
        let invalid = |why: &str| MailError(format!("invalid SMTP URL {redacted}: {why}"));
        let mut parsed = url::Url::parse(url).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(invalid("the scheme must be smtp or smtps"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it names no host"));
        }
        // Our URL says `tls=starttls`, lettre's `tls=required`; other values pass through.
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if key == "tls" && value == "starttls" { "required".to_string() } else { value.into_owned() };
                (key.into_owned(), value)
            })
            .collect();
        match pairs.iter().find(|(key, _)| key == "tls").map(|(_, value)| value.as_str()) {
            None | Some("required" | "opportunistic") => {}
            Some(_) => return Err(invalid("tls must be starttls or opportunistic")),
        }
        if pairs.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(pairs);
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(parsed.as_str())
            .map_err(|error| invalid(&error.to_string()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self { transport })
    }
}

impl SmtpMailer {
    /// Checks a `From` such as `Gatehouse <noreply@example.com>`.
    pub fn check_sender(from: &str) -> Result<(), MailError> {
        from.parse::<Mailbox>().map(|_| ()).map_err(|error| MailError(format!("invalid sender {from:?}: {error}")))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let from: Mailbox = mail.from.parse().map_err(|error| MailError(format!("invalid sender {:?}: {error}", mail.from)))?;
        let to: Mailbox = mail.to.as_str().parse().map_err(|error| MailError(format!("invalid recipient: {error}")))?;
        let builder = Message::builder().from(from).to(to).subject(mail.subject.clone());
        let message = match &mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text.clone(), html.clone())),
            None => builder.body(mail.text.clone()),
        }
        .map_err(|error| MailError(format!("the message could not be built: {error}")))?;
        self.transport.send(message).await.map_err(|error| MailError(format!("SMTP: {error}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_forms_are_accepted_and_others_refused_without_echoing_the_password() {
        for url in ["smtp://127.0.0.1:2525", "smtp://mail.example.com?tls=starttls", "smtps://u:p@mail.example.com", "smtp://h?tls=opportunistic"] {
            assert!(SmtpMailer::from_url(url).is_ok(), "{url}");
        }
        for url in ["http://mail.example.com", "smtp://", "smtp://u:hunter2@h?tls=maybe", "not a url"] {
            let Err(error) = SmtpMailer::from_url(url) else { panic!("{url} accepted") };
            assert!(!error.0.contains("hunter2"), "{error}");
        }
    }
}
