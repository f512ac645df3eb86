//! OAuth apps in the console, as a developer and an administrator drive them: the request form, the review,
//! the secret rotated and shown once, and nobody else's client within reach.

use crate::console_tokens::{ConsoleBrowser, PASSWORD, person};
use crate::harness::TestServer;
use crate::oauth::support::form;

fn client_id_of(html: &str, name: &str) -> String {
    let at = html.find(&format!(">{name}</th>")).unwrap_or_else(|| panic!("no row for {name}: {html}"));
    let row = html[..at].rfind(r#"<tr data-client=""#).unwrap() + r#"<tr data-client=""#.len();
    html[row..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn a_requested_app_is_reviewed_and_its_rotated_secret_is_shown_once_to_its_owner_only() {
    let server = TestServer::start().await;
    person(&server, "dev@example.com", false).await;
    person(&server, "root@example.com", true).await;
    person(&server, "eve@example.com", false).await;
    let mut dev = ConsoleBrowser::new(&server);
    dev.sign_in("dev@example.com", PASSWORD).await;

    let new = dev.get("/developer/apps/new").await;
    assert_eq!(new.status, 200);
    for label in [r#"<label for="name">Name</label>"#, r#"<label for="type">Client type</label>"#, r#"<label for="redirectUris">Redirect URIs</label>"#, r#"<label for="description">Description</label>"#, r#"value="user:read""#] {
        assert!(new.html.contains(label), "{label}");
    }
    let forged = dev.post_raw("/developer/apps", form(&[("name", "X"), ("type", "confidential"), ("redirectUris", "https://x.example/cb")]), &[]).await;
    assert_eq!(forged.status, 403, "no CSRF token: refused");
    let no_uri = dev.submit(&new, "/developer/apps", &[("name", "Reports"), ("type", "confidential"), ("redirectUris", ""), ("scopes", "user:read")]).await;
    assert!(no_uri.status == 400 && no_uri.html.contains(r#"class="alert""#), "{}", no_uri.html);
    for name in ["Reports", "Spam"] {
        let fields = [("name", name), ("type", "confidential"), ("redirectUris", "https://reports.example.com/cb\n"), ("scopes", "user:read"), ("description", "")];
        let requested = dev.submit(&new, "/developer/apps", &fields).await;
        assert_eq!(requested.location.as_deref(), Some("/developer/apps?done=requested"), "{}", requested.html);
    }
    let list = dev.get("/developer/apps").await;
    assert!(list.html.contains(r#"<table id="oauth-apps">"#) && list.html.contains("pending"));
    let (reports, spam) = (client_id_of(&list.html, "Reports"), client_id_of(&list.html, "Spam"));
    assert!(!list.html.contains("Rotate secret"), "nothing to rotate before approval");

    let mut admin = ConsoleBrowser::new(&server);
    admin.sign_in("root@example.com", PASSWORD).await;
    let queue = admin.get("/admin/clients").await;
    admin.submit(&queue, &format!("/admin/clients/{reports}/approve"), &[]).await;
    admin.submit(&queue, &format!("/admin/clients/{spam}/reject"), &[("reason", "Not a real product")]).await;

    let list = dev.get("/developer/apps").await;
    assert!(list.html.contains("approved") && list.html.contains("Not a real product"), "{}", list.html);
    let mut eve = ConsoleBrowser::new(&server);
    eve.sign_in("eve@example.com", PASSWORD).await;
    let eves = eve.get("/developer/apps").await;
    assert!(!eves.html.contains(&reports), "another developer's apps are not listed");
    let stolen = eve.submit(&eves, &format!("/developer/apps/{reports}/secret"), &[]).await;
    assert_eq!(stolen.status, 404, "another developer's client cannot be rotated");

    let rotated = dev.submit(&list, &format!("/developer/apps/{reports}/secret"), &[]).await;
    assert_eq!(rotated.location.as_deref(), Some("/developer/apps?done=rotated"));
    let shown = dev.get("/developer/apps?done=rotated").await;
    assert!(shown.html.contains(r#"<code id="new-secret">"#), "{}", shown.html);
    assert!(!dev.get("/developer/apps").await.html.contains(r#"id="new-secret""#), "shown once");
}
