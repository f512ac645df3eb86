//! Administration from the command line, with the real binary: users (list, password reset, platform
//! administrator), organizations and teams (list, delete), members (list, remove), passwords asked at a
//! terminal, and the completion scripts and man pages generated from the command line's definition.
//! Where a command changes what a running server allows, the server is a real one on the same store.

use std::process::Command;

use clap::CommandFactory;
use gatehouse_domain::OrgRole;
use serde_json::Value;

use crate::harness::{TestServer, TestUser, assert_make_error, fresh_database_url, json};
use crate::oauth::support::{self, Browser, authorize_url, exchange, query_param, refresh};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// Runs `gatehouse` off the async threads, which the in-process server shares: (success, stdout, stderr).
async fn gatehouse(database: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let database = database.to_string();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        crate::cli::cli(&database, &args, &stdin)
    })
    .await
    .expect("the CLI thread")
}

/// Like [`gatehouse`], for a command that must succeed; its stdout read as JSON.
async fn gatehouse_json(database: &str, args: &[&str], stdin: &str) -> Value {
    let args = [args, &["--json"]].concat();
    let (ok, stdout, stderr) = gatehouse(database, &args, stdin).await;
    assert!(ok, "gatehouse {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("gatehouse {args:?} printed no JSON: {stdout:?} (stderr: {stderr})"))
}

/// A fresh store, created the way `serve` creates it (the other commands only open existing ones).
async fn fresh_store() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database_url(&dir).await;
    gatehouse_store::open(&url).await.expect("create the store");
    (dir, url)
}

async fn create_user(database: &str, email: &str, password: &str) -> i64 {
    let created = gatehouse_json(database, &["user", "create", "--email", email, "--name", "Someone"], &format!("{password}\n")).await;
    created["id"].as_i64().expect("an id")
}

fn emails(listed: &Value) -> Vec<&str> {
    listed.as_array().expect("an array").iter().map(|entry| entry["email"].as_str().expect("an email")).collect()
}

fn ids(listed: &Value) -> Vec<i64> {
    listed.as_array().expect("an array").iter().map(|entry| entry["id"].as_i64().expect("an id")).collect()
}

#[tokio::test]
async fn user_list_prints_every_user_oldest_first_and_a_json_array_with_json() {
    let (_dir, db) = fresh_store().await;
    let ada = create_user(&db, "ada@example.com", "").await;
    let (ok, _, stderr) = gatehouse(&db, &["user", "create", "--email", "root@example.com", "--name", "Root", "--admin"], "").await;
    assert!(ok, "{stderr}");
    create_user(&db, "bob@example.com", "").await;

    let listed = gatehouse_json(&db, &["user", "list"], "").await;
    assert_eq!(emails(&listed), ["ada@example.com", "root@example.com", "bob@example.com"]);
    let first = &listed[0];
    assert_eq!((first["id"].as_i64(), &first["name"], &first["administrator"]), (Some(ada), &Value::from("Someone"), &Value::from(false)));
    assert_eq!(listed[1]["administrator"], true);
    assert!(first["created"].as_str().is_some_and(|created| created.ends_with('Z')), "{first}");

    let page = gatehouse_json(&db, &["user", "list", "--limit", "1", "--offset", "1"], "").await;
    assert_eq!(emails(&page), ["root@example.com"]);

    let (ok, plain, _) = gatehouse(&db, &["user", "list"], "").await;
    assert!(ok);
    let lines: Vec<&str> = plain.lines().collect();
    assert_eq!(lines.len(), 3, "{plain}");
    assert!(lines[1].starts_with(&format!("{}\troot@example.com\tRoot\tadministrator\t", ada + 1)), "{plain}");
}

/// The password is standard input's first line when it is not a terminal: a script pipes one in.
#[tokio::test]
async fn user_create_reads_only_the_first_line_of_a_piped_password() {
    let (_dir, db) = fresh_store().await;
    let (ok, _, stderr) =
        gatehouse(&db, &["user", "create", "--email", "ada@example.com", "--name", "Ada"], "correct horse battery\nsomething else\n").await;
    assert!(ok, "{stderr}");
    let store = gatehouse_store::open(&db).await.unwrap();
    let email = gatehouse_domain::Email::parse("ada@example.com").unwrap();
    let hash = store.user_by_email(&email).await.unwrap().unwrap().password_hash.expect("a password");
    assert!(gatehouse_domain::password::verify("correct horse battery", &hash));
}

/// A reset is how an operator takes an account back: the new password works, the old one does not, and
/// every browser session the user had ends, on every node, at once.
#[tokio::test]
async fn reset_password_signs_the_user_out_of_every_session_on_every_node() {
    let world = support::world().await;
    let other_node = world.server.another_node().await;
    let mut browser = Browser::new(&world);
    let url = authorize_url(&world, &world.public, "openid user:read", &[]);
    let location = browser.authorize(&url, world.org).await;
    assert!(query_param(&location, "code").is_some(), "{location}");
    let on_other_node = url.replace(&world.server.base, &other_node.base);
    for url in [&url, &on_other_node] {
        let (status, _, location) = browser.get(url).await;
        assert!(status == 302 || status == 303, "signed in, consent given: straight back to the client ({status})");
        assert!(location.is_some_and(|location| query_param(&location, "code").is_some()));
    }

    let new_password = "a brand new passphrase";
    let reset = gatehouse_json(&world.server.database_url, &["user", "reset-password", "--email", &world.email], &format!("{new_password}\n")).await;
    assert_eq!(reset["id"], world.user.0);
    assert!(reset.get("password").is_none(), "a chosen password is never printed: {reset}");

    for url in [&url, &on_other_node] {
        let (status, page, _) = browser.get(url).await;
        assert_eq!(status, 200, "the session cookie no longer signs in: {page}");
        assert!(page.contains("name=\"password\""), "the login form again: {page}");
    }
    let (_, page, _) = browser.get(&url).await;
    let (status, _, _) = browser.login(&page, support::PASSWORD).await;
    assert_eq!(status, 401, "the old password is refused");
    let (_, page, _) = browser.get(&url).await;
    let (_, _, location) = browser.login(&page, new_password).await;
    assert!(location.is_some_and(|location| query_param(&location, "code").is_some()), "the new password signs in");

    let generated = gatehouse_json(&world.server.database_url, &["user", "reset-password", "--email", &world.email, "--generate"], "").await;
    let generated = generated["password"].as_str().expect("a generated password is printed once");
    assert!(generated.len() >= 20, "{generated}");
    let (status, page, _) = browser.get(&url).await;
    assert_eq!(status, 200, "the reset signed this session out too");
    let (_, _, location) = browser.login(&page, generated).await;
    assert!(location.is_some(), "the generated password signs in");

    let (ok, _, stderr) = gatehouse(&world.server.database_url, &["user", "reset-password", "--email", &world.email], "\n").await;
    assert!(!ok && stderr.contains("empty"), "an empty password is not a reset: {stderr}");
}

/// Every node caches a verified token with the administrator flag it was verified with; the command
/// records a revocation so that a running server applies the change at once, not after the cache's bound.
#[tokio::test]
async fn set_admin_applies_at_once_and_revoke_refuses_admin_scoped_tokens_with_403() {
    let server = TestServer::start().await;
    let ops = server.user("ops@example.com", false).await;
    let token = server.token(&ops, &["admin:read"]).await;
    let (status, body) = json(server.get("/api/v2/admin/users", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");

    let granted = gatehouse_json(&server.database_url, &["user", "set-admin", "--email", "ops@example.com"], "").await;
    assert_eq!((granted["id"].as_i64(), &granted["administrator"]), (Some(ops.id.0), &Value::from(true)));
    server.feed_caught_up().await;
    let (status, body) = json(server.get("/api/v2/admin/users", &token).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");

    let revoked = gatehouse_json(&server.database_url, &["user", "set-admin", "--email", "ops@example.com", "--revoke"], "").await;
    assert_eq!(revoked["administrator"], false);
    server.feed_caught_up().await;
    let (status, body) = json(server.get("/api/v2/admin/users", &token).send().await.unwrap()).await;
    assert_make_error(status, &body, 403, "SC403");
    let listed = gatehouse_json(&server.database_url, &["user", "list"], "").await;
    let listed_ops = listed.as_array().unwrap().iter().find(|user| user["email"] == "ops@example.com").unwrap();
    assert_eq!(listed_ops["administrator"], false);

    // Both changes are in the audit log, newest first, as the operator's.
    let log = gatehouse_json(&server.database_url, &["audit", "list", "--event", "user_admin_changed"], "").await;
    let changes: Vec<&Value> = log["auditLogs"].as_array().unwrap().iter().collect();
    assert_eq!(changes.len(), 2, "{log:#}");
    assert_eq!((&changes[0]["details"]["isAdmin"], &changes[1]["details"]["isAdmin"]), (&Value::from(false), &Value::from(true)));
    assert_eq!(changes[0]["actor"]["type"], "operator");
}

#[tokio::test]
async fn user_unlock_honours_json_and_names_an_unknown_email() {
    let (_dir, db) = fresh_store().await;
    let ada = create_user(&db, "ada@example.com", "").await;
    let unlocked = gatehouse_json(&db, &["user", "unlock", "--email", "ada@example.com"], "").await;
    assert_eq!(unlocked["id"], ada);
    let (ok, stdout, stderr) = gatehouse(&db, &["user", "unlock", "--email", "nobody@example.com", "--json"], "").await;
    assert!(!ok && stdout.is_empty() && stderr.contains("nobody@example.com"), "{stdout} {stderr}");
}

#[tokio::test]
async fn org_list_shows_owners_and_member_counts_and_delete_needs_yes_without_a_terminal() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    create_user(&db, "bob@example.com", "").await;
    let acme = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].as_i64().unwrap();
    let other = gatehouse_json(&db, &["org", "create", "--name", "Other", "--owner", "bob@example.com"], "").await["id"].as_i64().unwrap();
    let acme_id = acme.to_string();
    let team = gatehouse_json(&db, &["team", "create", "--org", &acme_id, "--name", "Ops"], "").await["id"].as_i64().unwrap();
    let added = gatehouse_json(&db, &["member", "add", "--team", &team.to_string(), "--user", "bob@example.com"], "").await;
    assert!(added["userId"].is_i64(), "{added}");

    let orgs = gatehouse_json(&db, &["org", "list"], "").await;
    assert_eq!(ids(&orgs), [acme, other]);
    assert_eq!(orgs[0]["owners"], serde_json::json!(["ada@example.com"]));
    assert_eq!(orgs[0]["memberCount"], 2, "joining a team joins its organization: {orgs}");
    assert_eq!(orgs[1]["memberCount"], 1);
    let teams = gatehouse_json(&db, &["team", "list", "--org", &acme_id], "").await;
    assert_eq!((ids(&teams), &teams[0]["name"]), (vec![team], &Value::from("Ops")));

    let (ok, _, stderr) = gatehouse(&db, &["org", "delete", "--org", &acme_id], "y\n").await;
    assert!(!ok && stderr.contains("--yes") && stderr.contains("Acme"), "a pipe cannot confirm: {stderr}");
    assert_eq!(ids(&gatehouse_json(&db, &["org", "list"], "").await), [acme, other], "nothing was deleted");

    let deleted = gatehouse_json(&db, &["org", "delete", "--org", &acme_id, "--yes"], "").await;
    assert_eq!(deleted["id"], acme);
    assert_eq!(ids(&gatehouse_json(&db, &["org", "list"], "").await), [other]);
    let (ok, _, stderr) = gatehouse(&db, &["team", "list", "--org", &acme_id], "").await;
    assert!(!ok && stderr.contains(&format!("No organization has the id {acme}")), "{stderr}");
    let (ok, _, stderr) = gatehouse(&db, &["member", "list", "--team", &team.to_string()], "").await;
    assert!(!ok && stderr.contains(&format!("No team has the id {team}")), "its teams went with it: {stderr}");
    let (ok, plain, _) = gatehouse(&db, &["org", "list"], "").await;
    assert!(ok && plain == format!("{other}\tOther\tbob@example.com\t1"), "{plain}");
}

#[tokio::test]
async fn team_delete_needs_yes_without_a_terminal_and_keeps_the_organization() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    let org = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].to_string();
    let team = gatehouse_json(&db, &["team", "create", "--org", &org, "--name", "Ops"], "").await["id"].to_string();
    gatehouse_json(&db, &["member", "add", "--team", &team, "--user", "ada@example.com"], "").await;

    let (ok, _, stderr) = gatehouse(&db, &["team", "delete", "--team", &team], "").await;
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
    let deleted = gatehouse_json(&db, &["team", "delete", "--team", &team, "--yes"], "").await;
    assert_eq!(deleted["id"].to_string(), team);
    assert_eq!(gatehouse_json(&db, &["team", "list", "--org", &org], "").await, serde_json::json!([]));
    let members = gatehouse_json(&db, &["member", "list", "--org", &org], "").await;
    assert_eq!(emails(&members), ["ada@example.com"], "the organization keeps its members");
}

/// Removing a member ends what the membership allowed: their API tokens stop reaching the organization,
/// and the OAuth consents they gave for it are revoked with their tokens, on a running server at once.
#[tokio::test]
async fn member_remove_ends_the_members_access_through_tokens_and_keeps_the_last_owner() {
    let world = support::world().await;
    let server = &world.server;
    let db = &server.database_url;
    let ada = TestUser { id: world.user };
    let other_org = world.other_org.to_string();
    let api_token = server.token(&ada, &["organizations:read"]).await;
    let path = format!("/api/v2/organizations/{other_org}");
    assert_eq!(json(server.get(&path, &api_token).send().await.unwrap()).await.0, 200);

    let mut browser = Browser::new(&world);
    let location = browser.authorize(&authorize_url(&world, &world.confidential, "organizations:read", &[]), world.other_org).await;
    let (status, tokens) = exchange(&world, &world.confidential, &query_param(&location, "code").unwrap()).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(support::api(&world, &path, access).await.0, 200, "the consent reaches the organization chosen");

    let members = gatehouse_json(db, &["member", "list", "--org", &other_org], "").await;
    let roles: Vec<(&str, &str)> = members.as_array().unwrap().iter().map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap())).collect();
    assert_eq!(roles, [("ada@example.com", "member"), ("other@example.com", "owner")]);

    let removed = gatehouse_json(db, &["member", "remove", "--org", &other_org, "--user", &world.email], "").await;
    assert_eq!(removed["userId"], world.user.0);
    server.feed_caught_up().await;
    let (status, body) = json(server.get(&path, &api_token).send().await.unwrap()).await;
    assert_eq!(status, 404, "the API token no longer reaches the organization: {body}");
    let own = format!("/api/v2/organizations/{}", world.org);
    assert_eq!(json(server.get(&own, &api_token).send().await.unwrap()).await.0, 200, "but still reaches their own");
    assert_ne!(support::api(&world, &path, access).await.0, 200, "nor does the OAuth access token");
    let (status, body) = refresh(&world, tokens["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the consent for it is revoked: {body}");
    assert_eq!(emails(&gatehouse_json(db, &["member", "list", "--org", &other_org], "").await), ["other@example.com"]);

    let (ok, _, stderr) = gatehouse(db, &["member", "remove", "--org", &other_org, "--user", &world.email], "").await;
    assert!(!ok && stderr.contains(&format!("ada@example.com is not a member of organization {other_org}")), "{stderr}");
    let (ok, _, stderr) = gatehouse(db, &["member", "remove", "--org", &other_org, "--user", "other@example.com"], "").await;
    assert!(!ok && stderr.contains("only owner"), "the last owner stays: {stderr}");
    gatehouse_json(db, &["member", "add", "--org", &other_org, "--user", &world.email, "--role", "owner"], "").await;
    gatehouse_json(db, &["member", "remove", "--org", &other_org, "--user", "other@example.com"], "").await;
    assert_eq!(server.store.organization_role(world.other_org, ada.id).await.unwrap(), Some(OrgRole::Owner), "another owner: removable");
}

#[tokio::test]
async fn member_remove_from_a_team_keeps_the_organization_membership() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    create_user(&db, "bob@example.com", "").await;
    let org = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].to_string();
    let team = gatehouse_json(&db, &["team", "create", "--org", &org, "--name", "Ops"], "").await["id"].to_string();
    gatehouse_json(&db, &["member", "add", "--team", &team, "--user", "bob@example.com"], "").await;
    assert_eq!(emails(&gatehouse_json(&db, &["member", "list", "--team", &team], "").await), ["bob@example.com"]);

    gatehouse_json(&db, &["member", "remove", "--team", &team, "--user", "bob@example.com"], "").await;
    assert_eq!(gatehouse_json(&db, &["member", "list", "--team", &team], "").await, serde_json::json!([]));
    let members = gatehouse_json(&db, &["member", "list", "--org", &org], "").await;
    assert_eq!(emails(&members), ["ada@example.com", "bob@example.com"]);
    let (ok, _, stderr) = gatehouse(&db, &["member", "remove", "--team", &team, "--user", "bob@example.com"], "").await;
    assert!(!ok && stderr.contains(&format!("bob@example.com is not a member of team {team}")), "{stderr}");
}

/// Every command that looks something up fails with a message naming it, and prints nothing on stdout.
#[tokio::test]
async fn every_lookup_that_fails_names_what_was_not_found() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    let nobody = "nobody@example.com";
    let cases: &[(&[&str], &str)] = &[
        (&["user", "delete", "--email", nobody], nobody),
        (&["user", "unlock", "--email", nobody], nobody),
        (&["user", "reset-password", "--email", nobody, "--generate"], nobody),
        (&["user", "set-admin", "--email", nobody], nobody),
        (&["user", "set-admin", "--email", nobody, "--revoke"], nobody),
        (&["org", "create", "--name", "X", "--owner", nobody], nobody),
        (&["org", "set-limit", "--org", "999", "--api-limit", "10"], "No organization has the id 999"),
        (&["org", "delete", "--org", "999", "--yes"], "No organization has the id 999"),
        (&["team", "create", "--org", "999", "--name", "X"], "No organization has the id 999"),
        (&["team", "list", "--org", "999"], "No organization has the id 999"),
        (&["team", "delete", "--team", "998", "--yes"], "No team has the id 998"),
        (&["member", "add", "--org", "999", "--user", "ada@example.com"], "No organization has the id 999"),
        (&["member", "add", "--team", "998", "--user", "ada@example.com"], "No team has the id 998"),
        (&["member", "add", "--team", "998", "--user", nobody], nobody),
        (&["member", "remove", "--org", "999", "--user", "ada@example.com"], "No organization has the id 999"),
        (&["member", "remove", "--team", "998", "--user", "ada@example.com"], "No team has the id 998"),
        (&["member", "list", "--org", "999"], "No organization has the id 999"),
        (&["member", "list", "--team", "998"], "No team has the id 998"),
    ];
    for (args, named) in cases {
        let args = [*args, &["--json"]].concat();
        let (ok, stdout, stderr) = gatehouse(&db, &args, "").await;
        assert!(!ok, "gatehouse {args:?} succeeded");
        assert!(stdout.is_empty(), "gatehouse {args:?} printed {stdout:?}");
        assert!(stderr.contains(named), "gatehouse {args:?} should name {named:?}: {stderr}");
    }
}

/// `--json` everywhere: the commands that existed before print JSON objects too.
#[tokio::test]
async fn the_directory_commands_print_json_with_json() {
    let (_dir, db) = fresh_store().await;
    let ada = create_user(&db, "ada@example.com", "").await;
    let org = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].as_i64().unwrap();
    let limited = gatehouse_json(&db, &["org", "set-limit", "--org", &org.to_string(), "--api-limit", "120"], "").await;
    assert_eq!(limited["id"], org);
    assert_eq!(gatehouse_json(&db, &["org", "list"], "").await[0]["apiLimit"], 120);
    let team = gatehouse_json(&db, &["team", "create", "--org", &org.to_string(), "--name", "Ops"], "").await;
    assert!(team["id"].is_i64(), "{team}");
    let added = gatehouse_json(&db, &["member", "add", "--org", &org.to_string(), "--user", "ada@example.com", "--role", "owner"], "").await;
    assert_eq!(added["userId"], ada);
    // Issue 12: Ada is Acme's only owner, so deleting her would orphan it; once it is gone she may go.
    let (ok, stdout, stderr) = gatehouse(&db, &["user", "delete", "--email", "ada@example.com", "--json"], "").await;
    assert!(!ok && stdout.is_empty() && stderr.contains("only owner of organization"), "{stderr}");
    gatehouse_json(&db, &["org", "delete", "--org", &org.to_string(), "--yes"], "").await;
    let deleted = gatehouse_json(&db, &["user", "delete", "--email", "ada@example.com"], "").await;
    assert_eq!(deleted["id"], ada);
}

/// Issue 12: `member add --role` never demotes an organization's last owner.
#[tokio::test]
async fn member_add_never_demotes_the_last_owner() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    create_user(&db, "bob@example.com", "").await;
    let org = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].as_i64().unwrap();
    let org = org.to_string();
    let (ok, _, stderr) = gatehouse(&db, &["member", "add", "--org", &org, "--user", "ada@example.com", "--role", "member"], "").await;
    assert!(!ok && stderr.contains("only owner of organization"), "{stderr}");
    gatehouse_json(&db, &["member", "add", "--org", &org, "--user", "bob@example.com", "--role", "owner"], "").await;
    gatehouse_json(&db, &["member", "add", "--org", &org, "--user", "ada@example.com", "--role", "member"], "").await;
    let members = gatehouse_json(&db, &["member", "list", "--org", &org], "").await;
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|member| (member["email"].as_str().unwrap(), member["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("ada@example.com", "member"), ("bob@example.com", "owner")]);
    // The CLI speaks every built-in role.
    gatehouse_json(&db, &["member", "add", "--org", &org, "--user", "ada@example.com", "--role", "app-developer"], "").await;
}

/// A pseudo-terminal driven by python3's `pty` module, as `expect` would: waits for each prompt, and
/// before typing a secret waits until the program has turned the terminal's echo off. Prints JSON.
const PTY_DRIVER: &str = r#"
import json, os, pty, select, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(spec["argv"][0], spec["argv"])
transcript, seen, deadline = b"", 0, time.time() + 30
def read_some():
    global transcript
    ready, _, _ = select.select([fd], [], [], 0.1)
    if not ready:
        return True
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        chunk = b""
    transcript += chunk
    return bool(chunk)
def fail(why):
    print(json.dumps({"error": why, "transcript": transcript.decode(errors="replace")}))
    sys.exit(0)
for step in spec["steps"]:
    marker = step["expect"].encode()
    while marker not in transcript[seen:]:
        if time.time() > deadline or not read_some():
            fail("no %r" % step["expect"])
    seen = transcript.index(marker, seen) + len(marker)
    if step.get("secret"):
        while termios.tcgetattr(fd)[3] & termios.ECHO:
            if time.time() > deadline:
                fail("echo stayed on for %r" % step["expect"])
            time.sleep(0.01)
    os.write(fd, step["send"].encode())
while time.time() < deadline and read_some():
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "transcript": transcript.decode(errors="replace")}))
"#;

/// Runs `gatehouse ARGS` at a pseudo-terminal through [`PTY_DRIVER`], or `None` (saying why) when python3
/// is missing; under CI it must be there.
fn at_a_terminal(database: &str, args: &[&str], steps: Value) -> Option<Value> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "python3 is needed for the terminal tests under CI");
        eprintln!("skipped: python3 is not installed, so no pseudo-terminal can be driven");
        return None;
    }
    let argv: Vec<&str> = [&[BIN][..], args, &["--database", database]].concat();
    let spec = serde_json::json!({ "argv": argv, "steps": steps });
    let output = Command::new("python3")
        .args(["-c", PTY_DRIVER, &spec.to_string()])
        .env_remove("GATEHOUSE_ZONE")
        .env_remove("GATEHOUSE_SECRETS_KEY_FILE")
        .env_remove("GATEHOUSE_DEV_MODE")
        .env("GATEHOUSE_SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
        .output()
        .expect("run python3");
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("the pty driver failed: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(report.get("error").is_none(), "at the terminal: {report}");
    Some(report)
}

#[tokio::test]
async fn at_a_terminal_the_password_is_asked_twice_without_echo() {
    let (_dir, db) = fresh_store().await;
    let secret = "typed at the terminal 42";
    let steps = serde_json::json!([
        { "expect": "Password for pty@example.com:", "send": format!("{secret}\n"), "secret": true },
        { "expect": "Confirm the password for pty@example.com:", "send": format!("{secret}\n"), "secret": true },
    ]);
    let args = ["user", "create", "--email", "pty@example.com", "--name", "Pty"];
    let db_for_pty = db.clone();
    let Some(report) = tokio::task::spawn_blocking(move || at_a_terminal(&db_for_pty, &args, steps)).await.unwrap() else { return };
    let transcript = report["transcript"].as_str().unwrap();
    assert_eq!(report["status"], 0, "{transcript}");
    assert!(!transcript.contains(secret), "the password was echoed: {transcript:?}");
    let store = gatehouse_store::open(&db).await.unwrap();
    let email = gatehouse_domain::Email::parse("pty@example.com").unwrap();
    let hash = store.user_by_email(&email).await.unwrap().unwrap().password_hash.expect("a password");
    assert!(gatehouse_domain::password::verify(secret, &hash), "the typed password is the one stored");

    let steps = serde_json::json!([
        { "expect": "Password for pty@example.com:", "send": "one password typed\n", "secret": true },
        { "expect": "Confirm the password for pty@example.com:", "send": "another password typed\n", "secret": true },
    ]);
    let args = ["user", "reset-password", "--email", "pty@example.com"];
    let db_for_pty = db.clone();
    let report = tokio::task::spawn_blocking(move || at_a_terminal(&db_for_pty, &args, steps)).await.unwrap().unwrap();
    assert_eq!(report["status"], 1, "{report}");
    assert!(report["transcript"].as_str().unwrap().contains("differ"), "{report}");
    let unchanged = store.user_by_email(&email).await.unwrap().unwrap().password_hash.unwrap();
    assert_eq!(unchanged, hash, "a mistyped confirmation changes nothing");
}

#[tokio::test]
async fn at_a_terminal_org_delete_asks_before_deleting() {
    let (_dir, db) = fresh_store().await;
    create_user(&db, "ada@example.com", "").await;
    let org = gatehouse_json(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "").await["id"].to_string();
    let question = format!("Delete organization {org} \"Acme\" with its 0 teams and 1 members? [y/N]");
    for (answer, deleted) in [("n\n", false), ("y\n", true)] {
        let steps = serde_json::json!([{ "expect": question, "send": answer }]);
        let (db_for_pty, org) = (db.clone(), org.clone());
        let report = tokio::task::spawn_blocking(move || at_a_terminal(&db_for_pty, &["org", "delete", "--org", &org], steps)).await.unwrap();
        let Some(report) = report else { return };
        assert_eq!(report["status"], if deleted { 0 } else { 1 }, "{report}");
        assert_eq!(gatehouse_json(&db, &["org", "list"], "").await.as_array().unwrap().is_empty(), deleted);
    }
}

fn run(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BIN).args(args).output().expect("spawn gatehouse");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn completions_name_every_command_and_bash_accepts_the_script() {
    let (ok, script, stderr) = run(&["completions", "bash"]);
    assert!(ok, "{stderr}");
    let cli = gatehouse::args::Cli::command();
    let commands: Vec<&str> = cli.get_subcommands().map(|command| command.get_name()).collect();
    assert!(commands.contains(&"completions") && commands.contains(&"man") && commands.len() >= 12, "{commands:?}");
    for command in &commands {
        assert!(script.contains(&format!("gatehouse,{command})")), "bash completes {command}");
    }
    assert!(script.contains("reset-password") && script.contains("--revoke"), "subcommands and their flags too");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &script).unwrap();
    let checked = Command::new("bash").arg("-n").arg(file.path()).output().expect("bash");
    assert!(checked.status.success(), "bash -n: {}", String::from_utf8_lossy(&checked.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let (ok, script, stderr) = run(&["completions", shell]);
        assert!(ok && script.contains("reset-password"), "{shell}: {stderr}");
    }
    let (ok, _, stderr) = run(&["completions", "tcsh"]);
    assert!(!ok && stderr.contains("bash"), "an unknown shell lists the known ones: {stderr}");
}

/// The man page is roff generated from the command line; it must render. Rendered with groff (Debian
/// package `groff`) or `man -l` (package `man-db`), skipped with a reason when neither is installed,
/// except under CI.
#[test]
fn the_man_page_renders_and_one_page_per_command_can_be_written() {
    let (ok, page, stderr) = run(&["man"]);
    assert!(ok, "{stderr}");
    assert!(page.starts_with(".ie") || page.contains(".TH gatehouse"), "roff: {}", &page[..page.len().min(200)]);
    let dir = tempfile::tempdir().unwrap();
    let (ok, written, stderr) = run(&["man", "--out", dir.path().to_str().unwrap(), "--json"]);
    assert!(ok, "{stderr}");
    let written: Value = serde_json::from_str(&written).unwrap();
    let pages = written["pages"].as_array().unwrap();
    for name in ["gatehouse.1", "gatehouse-user.1", "gatehouse-user-reset-password.1", "gatehouse-member-remove.1"] {
        assert!(dir.path().join(name).exists(), "{name} in {pages:?}");
    }

    let top = dir.path().join("gatehouse.1");
    let renderers: [(&str, Vec<&str>); 2] = [("groff", vec!["-man", "-Tutf8"]), ("man", vec!["-l"])];
    let mut rendered_by = None;
    for (renderer, args) in renderers {
        let Ok(output) = Command::new(renderer).args(&args).arg(&top).env("MANPAGER", "cat").env("PAGER", "cat").output() else { continue };
        assert!(output.status.success(), "{renderer}: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout).replace('\u{8}', "");
        assert!(text.contains("gatehouse") && text.contains("completions"), "{renderer} rendered: {text}");
        rendered_by = Some(renderer);
        break;
    }
    if rendered_by.is_none() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "install groff (Debian package groff) for this test under CI");
        eprintln!("skipped rendering: neither groff nor man is installed (Debian packages groff, man-db)");
    }
}
