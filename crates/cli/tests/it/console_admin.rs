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
    for path in ["/admin", "/admin/users", "/admin/clients", "/admin/organizations"] {
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

async fn requested_client(server: &TestServer, owner: &str, name: &str) -> String {
    let app = &server.state().app;
    let owner = app.user_by_email(owner).await.unwrap();
    let uris = vec!["https://app.example.com/callback".to_string()];
    let scopes = vec!["openid".to_string(), "user:read".to_string()];
    let registration = gatehouse_app::clients::ClientRegistration {
        name,
        description: "",
        client_type: "confidential",
        redirect_uris: &uris,
        scopes: &scopes,
    };
    app.request_client(&gatehouse_app::Actor::operator(&owner), registration).await.unwrap().id.to_string()
}

#[tokio::test]
async fn the_review_queue_approves_with_the_secret_shown_once_and_rejects_with_a_reason() {
    let server = TestServer::start().await;
    person(&server, "root@example.com", true).await;
    person(&server, "dev@example.com", false).await;
    let good = requested_client(&server, "dev@example.com", "Good app").await;
    let bad = requested_client(&server, "dev@example.com", "Bad app").await;
    let mut admin = ConsoleBrowser::new(&server);
    admin.sign_in("root@example.com", PASSWORD).await;
    let queue = admin.get("/admin/clients").await;
    assert_eq!(queue.status, 200);
    for id in [&good, &bad] {
        assert!(queue.html.contains(&format!(r#"<tr data-client="{id}">"#)), "{}", queue.html);
        assert!(queue.html.contains(&format!(r#"<label for="reason-{id}">Reason</label>"#)));
    }
    let forged = admin.post_raw(&format!("/admin/clients/{good}/approve"), form(&[]), &[]).await;
    assert_eq!(forged.status, 403, "no CSRF token: refused");

    let approved = admin.submit(&queue, &format!("/admin/clients/{good}/approve"), &[]).await;
    assert_eq!(approved.location.as_deref(), Some("/admin/clients?done=approved"));
    let shown = admin.get("/admin/clients?done=approved").await;
    assert!(shown.html.contains(r#"<code id="new-secret">"#), "the secret, once: {}", shown.html);
    assert!(!admin.get("/admin/clients").await.html.contains(r#"id="new-secret""#), "not on a reload");

    let no_reason = admin.submit(&queue, &format!("/admin/clients/{bad}/reject"), &[("reason", " ")]).await;
    assert!(no_reason.status == 400 && no_reason.html.contains(r#"class="alert""#));
    let rejected = admin.submit(&queue, &format!("/admin/clients/{bad}/reject"), &[("reason", "Redirect URI is not yours")]).await;
    assert_eq!(rejected.location.as_deref(), Some("/admin/clients?done=rejected"));
    let app = &server.state().app;
    let client = app.find_client(&bad).await.unwrap();
    assert_eq!(client.status, gatehouse_domain::oauth::ClientStatus::Rejected);
    assert_eq!(app.client_rejection_reason(&client.id).await.unwrap().as_deref(), Some("Redirect URI is not yours"));
    assert!(admin.get("/admin/clients").await.html.contains("No app is waiting for review."));

    let mut dev = ConsoleBrowser::new(&server);
    dev.sign_in("dev@example.com", PASSWORD).await;
    assert_eq!(dev.get("/admin/clients").await.status, 403);
}

#[tokio::test]
async fn the_organizations_page_lists_members_with_their_roles() {
    let server = TestServer::start().await;
    person(&server, "root@example.com", true).await;
    let owner = server.user("owner@example.com", false).await;
    let member = server.user("dev@example.com", false).await;
    let org = server.org(&owner, "Acme").await;
    server.join(org, &member, gatehouse_domain::OrgRole::AppDeveloper).await;
    let mut admin = ConsoleBrowser::new(&server);
    admin.sign_in("root@example.com", PASSWORD).await;
    let page = admin.get("/admin/organizations").await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("<h1>Organizations</h1>") && page.html.contains("Acme"), "{}", page.html);
    assert!(page.html.contains(r#"<tr data-email="owner@example.com">"#) && page.html.contains("<td>owner</td>"), "{}", page.html);
    assert!(page.html.contains(r#"<tr data-email="dev@example.com">"#) && page.html.contains("<td>app_developer</td>"), "{}", page.html);
}
