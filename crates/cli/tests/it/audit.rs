//! Issue 14, the audit log, through the real API on a real socket (and the real binary for the CLI):
//! Make's organization audit log for owners and admins, the platform's for administrators, never a
//! secret in either, and an append-only table in the database itself.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestServer, json};
use crate::oauth::support::{Browser, PASSWORD, authorize_url, world};

fn events_named<'a>(body: &'a Value, name: &str) -> Vec<&'a Value> {
    body["auditLogs"].as_array().expect("auditLogs").iter().filter(|entry| entry["eventName"] == name).collect()
}

/// Create and delete a token, fail and succeed a sign-in; the organization's owner reads all four in
/// Make's shape, with who, when and from where; a plain member is refused (403), a token without
/// `organizations:read` is refused (401 `SC401`, the house answer to a missing scope), and no token value or
/// password appears anywhere in the answer.
#[tokio::test]
async fn an_owner_reads_the_organizations_audit_log_and_nobody_else_does() {
    let world = world().await;
    let server = &world.server;
    let owner = crate::harness::TestUser { id: world.user };
    let owner_token = server.token(&owner, &["user:read", "user:write", "organizations:read"]).await;

    // A token created and deleted through the API.
    let response = server
        .request(Method::POST, "/api/v2/users/me/api-tokens", &owner_token)
        .json(&json!({ "label": "audited", "scope": ["user:read"] }))
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    let (status, created) = json(response).await;
    assert_eq!(status, 200, "{created}");
    let created_secret = created["apiToken"]["token"].as_str().expect("the new token").to_string();
    let created_key = created["apiToken"]["created"].as_str().expect("its key").to_string();
    let path = format!("/api/v2/users/me/api-tokens/{}", created_key.replace(':', "%3A"));
    let response = server.request(Method::DELETE, &path, &owner_token).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // A failed sign-in, then a successful one, on the authorization endpoint's login form.
    let mut browser = Browser::new(&world);
    let (_, page, _) = browser.get(&authorize_url(&world, &world.confidential, "openid user:read", &[])).await;
    let (status, refused, _) = browser.login(&page, "not the password").await;
    assert!(status == 401 && refused.contains("name=\"password\""), "refused, with the form again: {status}");
    let (status, _, _) = browser.login(&refused, PASSWORD).await;
    assert!(status == 200 || status == 303, "signed in: {status}");

    let log = format!("/api/v2/audit-logs/organization/{}", world.org);
    let response = server.get(&log, &owner_token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    for name in ["api_token_created", "api_token_deleted", "login_failed", "login_succeeded"] {
        assert_eq!(events_named(&body, name).len(), 1, "{name} in {body:#}");
    }
    let created_event = events_named(&body, "api_token_created")[0];
    assert_eq!(created_event["targetId"], created_key.as_str(), "the token named by its key");
    assert_eq!(created_event["actor"]["id"], world.user.0);
    assert_eq!(created_event["actor"]["email"], world.email.as_str());
    assert_eq!(created_event["actor"]["type"], "user");
    assert_eq!(created_event["clientAddress"], "127.0.0.1", "from where: the socket's peer");
    assert_eq!(created_event["requestId"], request_id.as_str(), "the id the node made and answered with");
    assert!(created_event["uuid"].as_str().is_some_and(|uuid| uuid.len() == 36));
    assert!(created_event["triggeredAt"].as_i64().is_some() && created_event["createdAt"].as_str().is_some());
    assert_eq!(created_event["details"]["label"], "audited");
    let failed = events_named(&body, "login_failed")[0];
    assert_eq!(failed["actor"]["type"], "anonymous");
    assert_eq!(failed["actor"]["email"], world.email.as_str(), "the account tried");
    assert_eq!(failed["targetUserId"], world.user.0);
    assert_eq!(body["pg"]["sortBy"], "triggeredAt");
    assert_eq!(body["pg"]["sortDir"], "desc");
    let times: Vec<i64> = body["auditLogs"].as_array().unwrap().iter().map(|entry| entry["triggeredAt"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "newest first: {times:?}");
    for secret in [owner_token.as_str(), created_secret.as_str(), PASSWORD, "not the password"] {
        assert!(!text.contains(secret), "a secret in the audit log: {secret}");
    }

    // Make's filters: one event kind; paging.
    let (status, only_failures) = json(server.get(&format!("{log}?event[0]=login_failed"), &owner_token).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(only_failures["auditLogs"].as_array().unwrap().iter().all(|entry| entry["eventName"] == "login_failed"));
    let (_, first_page) = json(server.get(&format!("{log}?pg[limit]=1"), &owner_token).send().await.unwrap()).await;
    assert_eq!(first_page["auditLogs"].as_array().unwrap().len(), 1);
    let (status, body) = json(server.get(&format!("{log}?event=no_such_event"), &owner_token).send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");

    // A plain member is refused (Make: 403); an outsider is told the organization does not exist.
    let member = server.user("member@example.com", false).await;
    server.join(world.org, &member, gatehouse_domain::OrgRole::Member).await;
    let member_token = server.token(&member, &["organizations:read"]).await;
    let (status, body) = json(server.get(&log, &member_token).send().await.unwrap()).await;
    assert_eq!(status, 403, "{body}");
    let outsider = server.user("outsider@example.com", false).await;
    let outsider_token = server.token(&outsider, &["organizations:read"]).await;
    assert_eq!(server.get(&log, &outsider_token).send().await.unwrap().status(), 404);

    // The owner's token without organizations:read is refused by the route's scope, as every missing scope
    // is here (401 SC401, Make's observed answer: docs/compatibility.md, "Scopes").
    let narrow = server.token(&owner, &["user:read"]).await;
    let (status, body) = json(server.get(&log, &narrow).send().await.unwrap()).await;
    crate::harness::assert_make_error(status, &body, 401, "SC401");
    assert!(body["detail"].as_str().unwrap_or_default().contains("organizations:read"), "{body}");
}

/// The platform's log is for administrators with `admin:read`, and shows events outside every
/// organization too (a client deleted by an administrator).
#[tokio::test]
async fn administrators_read_the_platform_log() {
    let server = TestServer::start().await;
    let admin = server.user("root@example.com", true).await;
    let user = server.user("user@example.com", false).await;
    let admin_token = server.token(&admin, &["admin:read", "admin:write"]).await;
    let user_token = server.token(&user, &["admin:read"]).await;
    let client = crate::oauth::support::client(&server, user.id, "confidential", &["user:read"]).await;
    let path = format!("/api/v2/admin/oauth/clients/{}?confirmed=true", client.id);
    let response = server.request(Method::DELETE, &path, &admin_token).send().await.unwrap();
    assert_eq!(response.status(), 200);

    let response = server.get("/api/v2/admin/audit-logs?event=oauth_client_deleted", &admin_token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    let deleted = events_named(&body, "oauth_client_deleted");
    assert_eq!(deleted.len(), 1, "{body:#}");
    assert_eq!(deleted[0]["targetClientId"], client.id.as_str());
    assert_eq!(deleted[0]["actor"]["id"], admin.id.0);
    assert!(!text.contains(client.secret.as_deref().unwrap_or("unused")), "never the client's secret");
    assert!(!text.contains(&admin_token));
    assert_eq!(server.get("/api/v2/admin/audit-logs", &user_token).send().await.unwrap().status(), 403);
}

/// The database refuses to edit the log: an UPDATE fails on both backends; on PostgreSQL so does
/// deleting some entries (emptying the whole table stays possible, for `migrate --replace`).
#[tokio::test]
async fn the_database_keeps_the_log_append_only() {
    let server = TestServer::start().await;
    let app = &server.state().app;
    app.create_user("Ada", "ada@example.com", None, false).await.unwrap();
    app.create_user("Bob", "bob@example.com", None, false).await.unwrap();
    let update = "UPDATE audit_events SET kind = 'user_deleted'";
    let delete_one = "DELETE FROM audit_events WHERE id = (SELECT MIN(id) FROM audit_events)";
    if server.database_url.starts_with("postgres") {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&server.database_url).await.unwrap();
        assert!(sqlx::query(update).execute(&mut connection).await.is_err(), "UPDATE is refused");
        assert!(sqlx::query(delete_one).execute(&mut connection).await.is_err(), "deleting one entry is refused");
        assert!(sqlx::query("TRUNCATE audit_events").execute(&mut connection).await.is_err(), "TRUNCATE is refused");
    } else {
        use sqlx::Connection;
        let mut connection = sqlx::SqliteConnection::connect(&server.database_url).await.unwrap();
        assert!(sqlx::query(update).execute(&mut connection).await.is_err(), "UPDATE is refused");
    }
    let users = gatehouse_domain::AuditFilter { kinds: vec![gatehouse_domain::AuditKind::UserCreated], ..Default::default() };
    let page = gatehouse_domain::AuditPage::default();
    assert_eq!(app.audit_log(users, page).await.unwrap().len(), 2, "both entries are still there");
}

/// `gatehouse audit list`: the operator reads the log from the command line, with filters, as JSON.
#[tokio::test]
async fn the_operator_lists_the_log_from_the_command_line() {
    use crate::cli::cli;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/audit.db", dir.path().display());
    // Made as `serve` makes it: the other commands only open a store that exists.
    gatehouse_store::open(&database).await.expect("create the store");
    let (ok, _, stderr) = cli(&database, &["user", "create", "--name", "Ada", "--email", "ada@example.com"], "");
    assert!(ok, "{stderr}");
    let (ok, out, stderr) = cli(&database, &["audit", "list", "--event", "user_created", "--json"], "");
    assert!(ok, "{stderr}");
    let body: Value = serde_json::from_str(&out).unwrap();
    let created = events_named(&body, "user_created");
    assert_eq!(created.len(), 1, "{body:#}");
    assert_eq!(created[0]["actor"]["type"], "operator");
    assert_eq!(created[0]["details"]["email"], "ada@example.com");
    assert_eq!(created[0]["clientAddress"], Value::Null, "no address at the command line");
    let (ok, out, _) = cli(&database, &["audit", "list", "--limit", "5"], "");
    assert!(ok && out.contains("user_created\toperator"), "{out}");
    let (ok, _, stderr) = cli(&database, &["audit", "list", "--event", "nothing_happened"], "");
    assert!(!ok && stderr.contains("unknown event"), "{stderr}");
}
