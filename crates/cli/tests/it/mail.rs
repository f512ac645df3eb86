//! Email against a real SMTP server on this machine: aiosmtpd (`smtp_sink.py`), which writes every message
//! it receives to a folder. Skipped with a printed reason when python3 or aiosmtpd is missing, except under
//! `CI=true`, where that fails the test.

use std::net::IpAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gatehouse_app::authorization::LoginOutcome;
use gatehouse_domain::password_reset::RESET_TTL_SECS;
use reqwest::Method;
use serde_json::{Value, json as object};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::harness::{TestServer, json};

/// A running aiosmtpd; stopped when dropped.
pub struct SmtpSink {
    pub url: String,
    folder: tempfile::TempDir,
    _process: tokio::process::Child,
}

impl SmtpSink {
    /// `None`, with the reason printed, when python3 with aiosmtpd is not installed (a failure in CI).
    pub async fn start() -> Option<Self> {
        let available = std::process::Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|output| output.status.success());
        if !available {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI must have python3 with aiosmtpd (pip install aiosmtpd)");
            eprintln!("skipped: python3 with aiosmtpd is not installed (pip install aiosmtpd)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let folder = tempfile::tempdir().unwrap();
        let mut process = tokio::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/smtp_sink.py"))
            .args(["127.0.0.1", &port.to_string()])
            .arg(folder.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the SMTP sink");
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(matches!(&ready, Ok(Ok(Some(line))) if line == "ready"), "the SMTP sink did not start: {ready:?}");
        Some(Self { url: format!("smtp://127.0.0.1:{port}"), folder, _process: process })
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        names.iter().map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()).collect()
    }

    /// Waits (at most 15 s) until `count` messages have arrived, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{count} messages expected, {} arrived", messages.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a brand new passphrase here";

fn peer() -> IpAddr {
    "203.0.113.9".parse().unwrap()
}

/// The secret of the reset link in a message, after checking the link's form.
fn reset_token(message: &Value, base: &str) -> String {
    let text = message["text"].as_str().unwrap();
    let prefix = format!("{base}/reset-password/");
    let start = text.find(&prefix).unwrap_or_else(|| panic!("no link to {prefix} in {text}")) + prefix.len();
    text[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn a_token_created_through_the_api_sends_its_owner_a_notice_without_the_token() {
    let Some(smtp) = SmtpSink::start().await else { return };
    let server = TestServer::start_with_mail(&smtp.url).await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &["user:read", "user:write"]).await;
    let body = object!({ "label": "CI deploys", "scope": ["user:read"] });
    let (status, created) =
        json(server.request(Method::POST, "/api/v2/users/me/api-tokens", &token).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{created}");
    let secret = created["apiToken"]["token"].as_str().unwrap();

    let messages = smtp.wait_for(1).await;
    let notice = &messages[0];
    assert_eq!(notice["to"], object!(["ada@example.com"]));
    assert_eq!(notice["from"], "noreply@127.0.0.1", "the default sender: noreply at the issuer's host");
    let text = notice["text"].as_str().unwrap();
    for expected in ["CI deploys", "user:read", created["apiToken"]["created"].as_str().unwrap(), "127.0.0.1"] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    assert!(!notice["raw"].as_str().unwrap().contains(secret), "the token itself is never mailed");
    assert!(notice["html"].as_str().is_some_and(|html| html.contains("CI deploys")), "an HTML part too");
}

#[tokio::test]
async fn a_reset_mailed_by_the_real_server_works_once_within_thirty_minutes_and_ends_old_sessions() {
    let Some(smtp) = SmtpSink::start().await else { return };
    let server = TestServer::start_with_mail(&smtp.url).await;
    let app = &server.state().app;
    assert!(app.mail_available());
    app.create_user("Ada", "ada@example.com", Some(OLD.into()), false).await.unwrap();
    let LoginOutcome::SignedIn(session) = app.sign_in(None, "ada@example.com", OLD.into(), peer()).await.unwrap() else {
        panic!("signed in")
    };

    // No enumeration: an unknown address gets the same answer, and nothing is sent to it.
    app.request_password_reset("nobody@example.com", peer()).await.unwrap();
    app.request_password_reset("ada@example.com", peer()).await.unwrap();
    smtp.wait_for(1).await;
    assert!(app.outbox().unwrap().idle(Duration::from_secs(15)).await, "every queued message sent");
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message, to the account that exists: {messages:?}");
    assert_eq!(messages[0]["to"], object!(["ada@example.com"]));
    let token = reset_token(&messages[0], &server.base);

    app.reset_password_with_token(&token, NEW.into()).await.unwrap();
    assert!(app.reset_password_with_token(&token, "yet another passphrase".into()).await.is_err(), "a replay fails");
    assert!(server.store.session(&session.record.hash).await.unwrap().is_none(), "the old browser session ended");
    assert!(matches!(app.sign_in(None, "ada@example.com", OLD.into(), peer()).await.unwrap(), LoginOutcome::Refused));
    assert!(matches!(app.sign_in(None, "ada@example.com", NEW.into(), peer()).await.unwrap(), LoginOutcome::SignedIn(_)));

    // A second link, used too late.
    app.request_password_reset("ada@example.com", peer()).await.unwrap();
    let late = reset_token(&smtp.wait_for(2).await[1], &server.base);
    server.clock.advance_secs(RESET_TTL_SECS);
    assert!(app.reset_password_with_token(&late, "too late a passphrase".into()).await.is_err(), "expired after 30 minutes");
}

#[tokio::test]
async fn serve_with_smtp_url_mails_the_notice_and_the_cli_token_create_does_too() {
    let Some(smtp) = SmtpSink::start().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/gh.db", dir.path().display());
    let served = crate::cli::serve(&db, &["--json", "--smtp-url", &smtp.url, "--mail-from", "Ops <ops@example.com>"], &[]);
    let first: Value = serde_json::from_str(&served.first_line()).unwrap();
    let (email, token) = (first["email"].as_str().unwrap().to_string(), first["token"].as_str().unwrap().to_string());
    let body = object!({ "label": "from the API", "scope": ["user:read"] });
    let response = reqwest::Client::new()
        .post(format!("{}/api/v2/users/me/api-tokens", served.base))
        .header("authorization", format!("Token {token}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages[0]["to"], object!([email.clone()]));
    assert_eq!(messages[0]["from"], "ops@example.com", "--mail-from");
    assert!(messages[0]["text"].as_str().unwrap().contains("from the API"));
    drop(served);

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["token", "create", "--user", &email, "--label", "from the CLI", "--scope", "user:read", "--database", &db])
        .env_remove("GATEHOUSE_ZONE")
        .env("GATEHOUSE_SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
        .env("GATEHOUSE_SMTP_URL", &smtp.url)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let messages = smtp.wait_for(2).await;
    let text = messages[1]["text"].as_str().unwrap();
    assert!(text.contains("from the CLI") && text.contains("command line"), "{text}");
}
