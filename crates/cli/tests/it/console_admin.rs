//! The administration pages, driven as a browser drives them: only platform administrators get in, every
//! action needs the session's CSRF token, and a deleted user's session ends at once.

use crate::console_tokens::{ConsoleBrowser, PASSWORD, Page, person};
use crate::harness::TestServer;
use crate::oauth::support::form;

/// The user id in the row of `email` (from its forms' actions).
fn user_id(page: &Page, email: &str) -> String {
    let row = page.html.find(&format!(r#"data-email="{email}""#)).unwrap_or_else(|| panic!("no row for {email}"));
    let rest = &page.html[row..];
    let start = rest.find(r#"action="/admin/users/"#).unwrap() + r#"action="/admin/users/"#.len();
    rest[start..].split('/').next().unwrap().to_string()
}

#[tokio::test]
async fn only_platform_administrators_reach_the_administration_pages() {
    let server = TestServer::start().await;
    person(&server, "ada@example.com", false).await;
    let mut browser = ConsoleBrowser::new(&server);
    let signed_in = browser.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303);
    for path in ["/admin", "/admin/users"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 403, "{path}");
        assert!(page.html.contains("administrators"), "{}", page.html);
    }
    let api = browser.get("/user/api").await;
    assert!(!api.html.contains(r#"href="/admin""#), "no Administration link for a non-administrator");
    let csrf = crate::oauth::support::hidden(&api.html, "csrf");
    let refused = browser.post_raw("/admin/users/1/delete", form(&[("csrf", &csrf)]), &[]).await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn an_administrator_creates_promotes_and_deletes_users_and_forms_need_the_csrf_token() {
    let server = TestServer::start().await;
    person(&server, "root@example.com", true).await;
    let mut admin = ConsoleBrowser::new(&server);
    assert_eq!(admin.sign_in("root@example.com", PASSWORD).await.status, 303);
    let landing = admin.get("/admin").await;
    assert_eq!(landing.status, 200);
    assert!(landing.html.contains("<h1>Administration</h1>") && landing.html.contains(r#"href="/admin/users""#));

    let users = admin.get("/admin/users").await;
    assert!(users.html.contains(r#"<table id="users">"#) && users.html.contains(r#"data-email="root@example.com""#));
    let created = admin
        .submit(&users, "/admin/users", &[("name", "Bob"), ("email", "bob@example.com"), ("password", PASSWORD)])
        .await;
    assert_eq!((created.status, created.location.as_deref()), (303, Some("/admin/users?done=created")), "{}", created.html);
    let bad = admin.submit(&users, "/admin/users", &[("name", "Eve"), ("email", "not-an-email"), ("password", PASSWORD)]).await;
    assert!(bad.status == 400 && bad.html.contains(r#"class="alert""#), "{}", bad.html);

    let mut bob = ConsoleBrowser::new(&server);
    assert_eq!(bob.sign_in("bob@example.com", PASSWORD).await.status, 303);
    let users = admin.get("/admin/users").await;
    let bob_id = user_id(&users, "bob@example.com");

    let forged = admin.post_raw(&format!("/admin/users/{bob_id}/delete"), form(&[]), &[]).await;
    assert_eq!(forged.status, 403, "no CSRF token: refused");
    let cross_site = admin
        .post_raw(&format!("/admin/users/{bob_id}/delete"), form(&[("csrf", &crate::oauth::support::hidden(&users.html, "csrf"))]), &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross_site.status, 403, "cross-site: refused");
    assert_eq!(bob.get("/user/api").await.status, 200, "nothing happened to Bob");

    let promoted = admin.submit(&users, &format!("/admin/users/{bob_id}/admin"), &[]).await;
    assert_eq!(promoted.location.as_deref(), Some("/admin/users?done=admin"));
    assert_eq!(bob.get("/admin").await.status, 200, "Bob is an administrator now");
    let unlocked = admin.submit(&users, &format!("/admin/users/{bob_id}/unlock"), &[]).await;
    assert_eq!(unlocked.location.as_deref(), Some("/admin/users?done=unlocked"));

    let deleted = admin.submit(&users, &format!("/admin/users/{bob_id}/delete"), &[]).await;
    assert_eq!(deleted.location.as_deref(), Some("/admin/users?done=deleted"));
    assert_eq!(bob.get("/user/api").await.status, 303, "a deleted user's session ends");
    assert!(!admin.get("/admin/users").await.html.contains("bob@example.com"));
}
