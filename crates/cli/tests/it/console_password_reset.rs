//! The forgotten password in the console, driven as a browser drives it, with the link read from the email
//! a real SMTP server received (`mail.rs`): asked for, opened, used once, and refused after.

use std::time::Duration;

use gatehouse_domain::password_reset::RESET_TTL_SECS;

use crate::console_tokens::{ConsoleBrowser, PASSWORD, Page, person};
use crate::harness::TestServer;
use crate::mail::SmtpSink;
use crate::oauth::support::form;

const NEW: &str = "a brand new passphrase here";

fn secret_from(message: &serde_json::Value, base: &str) -> String {
    let text = message["text"].as_str().unwrap();
    let prefix = format!("{base}/reset-password/");
    let start = text.find(&prefix).unwrap_or_else(|| panic!("no link in {text}")) + prefix.len();
    text[start..].split_whitespace().next().unwrap().to_string()
}

fn alert(page: &Page) -> bool {
    page.html.contains(r#"class="alert" role="alert""#)
}

/// Asks for a link on `/forgot-password` and returns the page answered.
async fn ask(browser: &mut ConsoleBrowser<'_>, email: &str) -> Page {
    let page = browser.get("/forgot-password").await;
    assert_eq!(page.status, 200, "{}", page.html);
    browser.submit(&page, "/forgot-password", &[("email", email)]).await
}

#[tokio::test]
async fn without_smtp_the_page_says_to_ask_an_administrator_and_offers_no_form() {
    let server = TestServer::start().await;
    let page = ConsoleBrowser::new(&server).get("/forgot-password").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<h1") && page.html.contains("not available") && page.html.contains("administrator"), "{}", page.html);
    assert!(!page.html.contains(r#"action="/forgot-password""#), "no form without email");
}

#[tokio::test]
async fn a_reset_link_from_the_email_works_once_and_ends_the_old_session() {
    let Some(smtp) = SmtpSink::start().await else { return };
    let server = TestServer::start_with_mail(&smtp.url).await;
    person(&server, "ada@example.com", false).await;
    let mut old = ConsoleBrowser::new(&server);
    assert_eq!(old.sign_in("ada@example.com", PASSWORD).await.status, 303);
    assert_eq!(old.get("/user/api").await.status, 200);

    // The form posts only with its CSRF token.
    let mut visitor = ConsoleBrowser::new(&server);
    visitor.get("/forgot-password").await;
    let forged = visitor.post_raw("/forgot-password", form(&[("email", "ada@example.com")]), &[]).await;
    assert_eq!(forged.status, 403, "no CSRF token: refused");

    // The same answer for an unknown address and a known one; only the known one gets mail.
    let unknown = ask(&mut visitor, "nobody@example.com").await;
    let known = ask(&mut visitor, "ada@example.com").await;
    for page in [&unknown, &known] {
        assert_eq!(page.status, 200);
        assert!(page.html.contains("If an account exists for that address, we have sent a link"), "{}", page.html);
    }
    smtp.wait_for(1).await;
    assert!(server.state().app.outbox().unwrap().idle(Duration::from_secs(15)).await);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["to"], serde_json::json!(["ada@example.com"]));
    let secret = secret_from(&messages[0], &server.base);

    // The link's secret leaves the address bar before any page is shown.
    let door = visitor.get(&format!("/reset-password/{secret}")).await;
    assert_eq!((door.status, door.location.as_deref()), (303, Some("/reset-password")));
    let set_cookie: Vec<_> = door.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    assert!(set_cookie.iter().any(|c| c.starts_with("gatehouse_reset=") && c.contains("HttpOnly")), "{set_cookie:?}");
    assert_eq!(door.headers["referrer-policy"], "no-referrer");
    let form_page = visitor.get("/reset-password").await;
    assert_eq!(form_page.status, 200, "{}", form_page.html);
    assert!(!form_page.html.contains(&secret), "the secret is not on the page");
    for label in [r#"<label for="password">New password</label>"#, r#"<label for="confirm">Repeat the new password</label>"#, "Set password"] {
        assert!(form_page.html.contains(label), "{label}");
    }

    let forged = visitor.post_raw("/reset-password", form(&[("password", NEW), ("confirm", NEW)]), &[]).await;
    assert_eq!(forged.status, 403, "no CSRF token: refused");
    let differ = visitor.submit(&form_page, "/reset-password", &[("password", NEW), ("confirm", "something else")]).await;
    assert!(differ.status == 400 && alert(&differ), "{}", differ.html);
    let done = visitor.submit(&differ, "/reset-password", &[("password", NEW), ("confirm", NEW)]).await;
    assert_eq!((done.status, done.location.as_deref()), (303, Some("/login?done=password-set")), "{}", done.html);

    let old_page = old.get("/user/api").await;
    assert_eq!(old_page.status, 303, "the session opened with the old password is over");
    assert_eq!(ConsoleBrowser::new(&server).sign_in("ada@example.com", PASSWORD).await.status, 401);
    assert_eq!(ConsoleBrowser::new(&server).sign_in("ada@example.com", NEW).await.status, 303);

    // The same link again, in another browser: refused, and the password stays.
    let mut replay = ConsoleBrowser::new(&server);
    replay.get(&format!("/reset-password/{secret}")).await;
    let dead = replay.get("/reset-password").await;
    assert!(dead.status == 400 && alert(&dead) && !dead.html.contains("Set password"), "{}", dead.html);
    let login = replay.get("/login").await;
    let again = replay.submit(&login, "/reset-password", &[("password", "replayed passphrase"), ("confirm", "replayed passphrase")]).await;
    assert!(again.status == 400 && alert(&again), "{}", again.html);
    assert_eq!(ConsoleBrowser::new(&server).sign_in("ada@example.com", NEW).await.status, 303);
}

#[tokio::test]
async fn a_link_opened_after_thirty_minutes_is_refused() {
    let Some(smtp) = SmtpSink::start().await else { return };
    let server = TestServer::start_with_mail(&smtp.url).await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    ask(&mut browser, "ada@example.com").await;
    let secret = secret_from(&smtp.wait_for(1).await[0], &server.base);
    server.clock.advance_secs(RESET_TTL_SECS);
    browser.get(&format!("/reset-password/{secret}")).await;
    let page = browser.get("/reset-password").await;
    assert!(page.status == 400 && alert(&page) && page.html.contains(r#"href="/forgot-password""#), "{}", page.html);
}
