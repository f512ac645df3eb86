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
