//! Several nodes on one store: what one node (or the CLI) revokes, every other node stops accepting.
//!
//! The nodes are real `gatehouse serve` processes. They share a PostgreSQL schema when
//! `GATEHOUSE_TEST_POSTGRES_URL` is set (NOTIFY plus polling), and a SQLite file otherwise (polling).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{BlockingClient, get, serve};
use crate::harness::{TestServer, fresh_database_url};

/// Waits, up to `limit`, until `check` is true; returns how long it took.
fn time_until(limit: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn a_token_created_on_one_node_works_on_another_and_its_deletion_reaches_it_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let database = runtime.block_on(fresh_database_url(&dir));
    let zone = ["--zone", "nodes.test"];
    let node_a = serve(&database, &[&["--json"][..], &zone].concat(), &[]);
    let node_b = serve(&database, &zone, &[]);
    let first: Value = serde_json::from_str(&node_a.stdout_lines[0]).expect("first start on node A");
    let admin = first["token"].as_str().unwrap();

    let body = json!({ "label": "roaming", "scope": ["user:read"] });
    let (status, created) = BlockingClient.send("POST", &node_a.base, "/api/v2/users/me/api-tokens", admin, Some(body));
    assert_eq!(status, 200, "{created}");
    let token = created["apiToken"]["token"].as_str().unwrap().to_string();
    let key = created["apiToken"]["created"].as_str().unwrap().to_string();

    assert_eq!(get(&node_b.base, "/api/v2/users/me", &token).0, 200, "created on A, accepted on B");
    assert_eq!(get(&node_b.base, "/api/v2/users/me/api-tokens", &token).0, 200, "B now caches it");

    let (status, _) = BlockingClient.send("DELETE", &node_a.base, &format!("/api/v2/users/me/api-tokens/{key}"), admin, None);
    assert_eq!(status, 200, "deleted on A");
    let elapsed = time_until(Duration::from_secs(5), || get(&node_b.base, "/api/v2/users/me", &token).0 == 401)
        .expect("node B never refused the deleted token");
    println!("revocation propagation A -> B: {} ms", elapsed.as_millis());
    assert!(elapsed < Duration::from_secs(1), "propagation took {elapsed:?}");
}

/// The CLI is another writer on the same store: its deletions reach a running server through the feed.
#[tokio::test]
async fn a_deletion_made_outside_the_server_reaches_its_cache() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    assert_eq!(server.get("/api/v2/users/me", &token).send().await.unwrap().status(), 200, "cached now");
    let stored = server.store.api_tokens_of_user(user.id).await.unwrap();
    let now = gatehouse_domain::Clock::now(&server.clock);
    server.store.delete_api_token(user.id, stored[0].created, now).await.unwrap().expect("deleted");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = server.get("/api/v2/users/me", &token).send().await.unwrap().status();
        if status == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the server kept accepting a token deleted in the store");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `gatehouse migrate`: the whole store moves (to PostgreSQL when the suite runs on it, else to another
/// SQLite file), and what was issued before keeps working after.
#[test]
fn migrate_copies_a_whole_store_and_tokens_keep_working() {
    use crate::cli::cli;
    let dir = tempfile::tempdir().unwrap();
    let source = format!("sqlite://{}/source.db", dir.path().display());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(base) if !base.is_empty() => runtime.block_on(crate::postgres::fresh_schema_url(&base)),
        _ => format!("sqlite://{}/target.db", dir.path().display()),
    };
    let zone = ["--zone", "migrate.test"];
    let first: Value = {
        let node = serve(&source, &[&["--json"][..], &zone].concat(), &[]);
        serde_json::from_str(&node.stdout_lines[0]).unwrap()
    };
    let admin = first["token"].as_str().unwrap().to_string();
    let (ok, org, _) = cli(&source, &["org", "create", "--name", "Ünïcode Org", "--owner", "admin@gatehouse.local"], "");
    assert!(ok);
    let (ok, user_token, _) = cli(&source, &[&["token", "create", "--user", "admin@gatehouse.local", "--label", "moved", "--scope", "organizations:read"][..], &zone].concat(), "");
    assert!(ok);

    let (ok, client, stderr) = cli(
        &source,
        &["client", "create", "--owner", "admin@gatehouse.local", "--name", "Moved app", "--type", "public", "--redirect-uri", "http://127.0.0.1/cb", "--scope", "user:read"],
        "",
    );
    assert!(ok, "{stderr}");
    let client_id = client.lines().next().unwrap().to_string();

    let (ok, out, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--json"], "");
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["tables"]["oauth_clients"], 1);
    assert_eq!(report["tables"]["oauth_signing_keys"], 1, "the signing key moves, so issued tokens keep verifying");
    assert_eq!(report["tables"]["users"], 1);
    assert_eq!(report["tables"]["api_tokens"], 2);
    assert_eq!(report["tables"]["organizations"], 2);

    let (ok, _, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target], "");
    assert!(!ok && stderr.contains("not empty"), "a non-empty target is refused: {stderr}");
    let (ok, _, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--replace"], "");
    assert!(ok, "--replace overwrites: {stderr}");

    let node = serve(&target, &zone, &[]);
    assert!(node.stdout_lines.is_empty(), "no second first-start on a migrated store");
    assert_eq!(get(&node.base, "/api/v2/users/me", &admin).0, 200);
    let (status, body) = get(&node.base, &format!("/api/v2/organizations/{org}"), &user_token);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["organization"]["name"], "Ünïcode Org");
    // New rows get fresh ids after the copied ones.
    let (ok, new_org, stderr) = cli(&target, &["org", "create", "--name", "After", "--owner", "admin@gatehouse.local"], "");
    assert!(ok, "{stderr}");
    assert!(new_org.parse::<i64>().unwrap() > org.parse::<i64>().unwrap());
    let (ok, clients, _) = cli(&target, &["client", "list"], "");
    assert!(ok && clients.contains(&client_id), "{clients}");
}
