//! Several nodes on one store: what one node (or the CLI) revokes, every other node stops accepting, and
//! what two nodes race for, exactly one wins.
//!
//! The nodes run in-process on one store (a PostgreSQL schema when `GATEHOUSE_TEST_POSTGRES_URL` is set,
//! NOTIFY plus polling; a SQLite file otherwise, polling), each with caches of its own, so a test can await
//! a node's revocation feed instead of polling it. `gatehouse migrate` drives the real binary.

use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{get, serve};
use crate::harness::{ClockExt, TestServer, ZONE};
use crate::oauth::support::*;

#[tokio::test]
async fn a_token_created_on_one_node_works_on_another_and_its_deletion_reaches_it_within_a_second() {
    let node_a = TestServer::start().await;
    let node_b = node_a.another_node().await;
    let ada = node_a.user("ada@example.com", false).await;
    let admin = node_a.token(&ada, &["user:read", "user:write"]).await;

    let body = json!({ "label": "roaming", "scope": ["user:read"] });
    let response = node_a.request(reqwest::Method::POST, "/api/v2/users/me/api-tokens", &admin).json(&body).send().await.unwrap();
    let (status, created) = crate::harness::json(response).await;
    assert_eq!(status, 200, "{created}");
    let token = created["apiToken"]["token"].as_str().unwrap().to_string();
    let key = created["apiToken"]["created"].as_str().unwrap().to_string();

    let status_on_b = |path: &'static str| {
        let request = node_b.get(path, &token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status_on_b("/api/v2/users/me").await, 200, "created on A, accepted on B");
    assert_eq!(status_on_b("/api/v2/users/me/api-tokens").await, 200, "B now caches it");

    let path = format!("/api/v2/users/me/api-tokens/{key}");
    let status = node_a.request(reqwest::Method::DELETE, &path, &admin).send().await.unwrap().status();
    assert_eq!(status, 200, "deleted on A");
    node_b.feed_caught_up_within(Duration::from_secs(1)).await;
    assert_eq!(status_on_b("/api/v2/users/me").await, 401, "B refuses the deleted token once its feed caught up");
}

/// The CLI is another writer on the same store: its deletions reach a running server through the feed.
#[tokio::test]
async fn a_deletion_made_outside_the_server_reaches_its_cache() {
    let server = TestServer::start().await;
    let user = server.user("ada@example.com", false).await;
    let token = server.token(&user, &[]).await;
    assert_eq!(server.get("/api/v2/users/me", &token).send().await.unwrap().status(), 200, "cached now");
    let stored = server.store.api_tokens_of_user(user.id).await.unwrap();
    server.store.delete_api_token(user.id, stored[0].created, server.clock.now_ts()).await.unwrap().expect("deleted");
    server.feed_caught_up().await;
    assert_eq!(server.get("/api/v2/users/me", &token).send().await.unwrap().status(), 401, "the server kept accepting a token deleted in the store");
}

/// A revocation written by someone else (another node, the CLI) reaches this node's liveness cache through
/// the revocation feed, well before the cache's own 5-second lifetime.
#[tokio::test]
async fn a_grant_revoked_outside_the_server_reaches_its_cache_through_the_feed() {
    let world = world().await;
    let body = tokens_for(&world, &world.confidential, "user:read").await;
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 200, "cached as live now");
    let client_id = gatehouse_domain::oauth::ClientId::parse(&world.confidential.id).unwrap();
    world.server.store.revoke_grant(world.user, &client_id, world.server.clock.now_ts()).await.unwrap().unwrap();
    world.server.feed_caught_up_within(Duration::from_secs(2)).await;
    assert_eq!(api(&world, "/api/v2/users/me", access).await.0, 401, "the feed never reached the cache");
}

/// Clients are cached per node. A secret rotated by someone else (the CLI, another node) reaches the cache
/// through the revocation feed: the old secret stops working and the new one starts.
#[tokio::test]
async fn a_client_secret_rotated_outside_the_server_takes_effect_through_the_feed_rfc6749_2_3_1() {
    let world = world().await;
    let grant = [("grant_type", "client_credentials"), ("scope", "user:read")];
    let (status, _) = token_request(&world, &world.confidential, &grant).await;
    assert_eq!(status, 200, "the client is cached now");
    let client_id = gatehouse_domain::oauth::ClientId::parse(&world.confidential.id).unwrap();
    let mut stored = world.server.store.oauth_client(&client_id).await.unwrap().unwrap();
    let new_secret = gatehouse_domain::oauth::OpaqueSecret::generate(&gatehouse_domain::OsRandom);
    stored.secret_hash = Some(new_secret.hash());
    assert!(world.server.store.update_oauth_client(&stored, world.server.clock.now_ts()).await.unwrap());
    world.server.feed_caught_up_within(Duration::from_secs(2)).await;
    let (status, body) = token_request(&world, &world.confidential, &grant).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "the old secret still works: the feed never reached the client cache");
    let rotated = Client { id: world.confidential.id.clone(), secret: Some(new_secret.reveal()) };
    assert_eq!(token_request(&world, &rotated, &grant).await.0, 200, "the new secret works");
}

/// Sends `params` to the token endpoints of `nodes` all at once, `per_node` times each.
async fn race(nodes: [&TestServer; 2], per_node: usize, client: &Client, params: &[(&str, &str)]) -> Vec<(u16, Value)> {
    let requests = nodes.into_iter().flat_map(|node| std::iter::repeat_n(node, per_node)).map(|node| token_request_to(node, client, params));
    futures_util::future::join_all(requests).await
}

/// RFC 6749 §4.1.2: a code is single-use, even when six requests on two nodes redeem it at the same
/// instant. The store's atomic `used_at` update lets exactly one win; the losers are replays, which revoke
/// what the winner got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_redeemed_at_once_on_two_nodes_succeeds_exactly_once_and_revokes_the_winners_tokens_rfc6749_4_1_2() {
    let world = world().await;
    let node_b = world.server.another_node().await;
    for round in 0..5 {
        let code = code_for(&world, &world.confidential, "user:read").await;
        let answers = race([&world.server, &node_b], 3, &world.confidential, &code_grant(&code)).await;
        let winners: Vec<&(u16, Value)> = answers.iter().filter(|(status, _)| *status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: exactly one request redeems the code: {answers:?}");
        for loser in answers.iter().filter(|(status, _)| *status != 200) {
            assert_eq!((loser.0, loser.1["error"].as_str()), (400, Some("invalid_grant")), "{loser:?}");
        }
        // The losers were replays: the winner's tokens are revoked, on both nodes.
        let access = winners[0].1["access_token"].as_str().unwrap();
        for node in [&world.server, &node_b] {
            node.feed_caught_up().await;
            assert_eq!(api_on(node, "/api/v2/users/me", access).await.0, 401, "round {round}");
        }
        let (status, _) = refresh(&world, winners[0].1["refresh_token"].as_str().unwrap(), None).await;
        assert_eq!(status, 400, "round {round}: the winner's refresh token is revoked too");
    }
}

/// RFC 9700 §4.14.2: a refresh token raced on two nodes is rotated exactly once. Within the grace window the
/// other requests are retries, each superseding the previous successor, so one living family with one live
/// refresh token remains, round after round (introspection tells which: presenting a superseded successor
/// is a replay and ends the family, issue 10 hole 1). With no grace window they are replays: they get
/// nothing and revoke the family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_raced_on_two_nodes_rotates_once_and_leaves_one_live_successor_rfc9700_4_14_2() {
    let world = world().await;
    let node_b = world.server.another_node().await;
    let nodes = [&world.server, &node_b];
    let first = tokens_for(&world, &world.confidential, "user:read").await;
    let mut old = first["refresh_token"].as_str().unwrap().to_string();
    for round in 0..5 {
        let answers = race(nodes, 4, &world.confidential, &[("grant_type", "refresh_token"), ("refresh_token", old.as_str())]).await;
        assert!(answers.iter().all(|(status, _)| *status == 200), "round {round}: inside the grace window every request is answered: {answers:?}");
        // Which new refresh tokens still work? Introspection asks without presenting them; the one that is
        // active carries the family into the next round.
        let mut survivors = Vec::new();
        for (_, body) in &answers {
            let token = body["refresh_token"].as_str().unwrap();
            let (_, info) = crate::harness::json(client_post(&world, "/oauth/v2/introspect", &world.confidential, &[("token", token)]).await).await;
            if info["active"] == true {
                survivors.push(token.to_string());
            }
        }
        assert_eq!(survivors.len(), 1, "round {round}: exactly one successor survives: {answers:?}");
        old = survivors.remove(0);
    }
    // The other party comes back with a superseded successor: the family ends (RFC 9700 §4.14.2).
    let (status, body) = refresh(&world, &old, None).await;
    assert_eq!(status, 200, "{body}");
    let newest = body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(refresh(&world, &old, None).await.0, 200, "a retry inside the grace window, superseding `newest`");
    assert_eq!(refresh(&world, &newest, None).await.0, 400, "the superseded token is a replay");

    let settings = gatehouse_domain::oauth::OAuthSettings { refresh_grace_secs: 0, ..Default::default() };
    let world = world_on(TestServer::start_configured(ZONE, settings).await).await;
    let node_b = world.server.another_node().await;
    let first = tokens_for(&world, &world.confidential, "user:read").await;
    let old = first["refresh_token"].as_str().unwrap();
    let answers = race([&world.server, &node_b], 4, &world.confidential, &[("grant_type", "refresh_token"), ("refresh_token", old)]).await;
    let winners: Vec<&(u16, Value)> = answers.iter().filter(|(status, _)| *status == 200).collect();
    assert_eq!(winners.len(), 1, "no grace: exactly one rotation: {answers:?}");
    for loser in answers.iter().filter(|(status, _)| *status != 200) {
        assert_eq!((loser.0, loser.1["error"].as_str()), (400, Some("invalid_grant")), "{loser:?}");
    }
    let (status, _) = refresh(&world, winners[0].1["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(status, 400, "no grace: the replays revoked the family, the winner's successor with it");
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
    // One issuer for both stores' nodes, so OAuth tokens issued before the move verify after it.
    let zone = ["--zone", "migrate.test"];
    let serve_args = ["--zone", "migrate.test", "--issuer", "http://gatehouse.test"];
    let (first, kids_before, oauth_token): (Value, Vec<String>, String) = {
        let node = serve(&source, &[&["--json"][..], &serve_args].concat(), &[]);
        let first: Value = serde_json::from_str(&node.first_line()).unwrap();
        let (ok, client, stderr) = cli(&source, &["client", "create", "--owner", "admin@gatehouse.local", "--name", "Mover", "--type", "confidential", "--redirect-uri", "https://app.example/cb", "--scope", "user:read", "--json"], "");
        assert!(ok, "{stderr}");
        let client: Value = serde_json::from_str(&client).unwrap();
        let token = client_credentials(&node.base, client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
        (first, jwks_kids(&node.base), token)
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
    assert_eq!(report["tables"]["oauth_clients"], 2, "the requested one and the approved one");
    assert_eq!(report["tables"]["oauth_signing_keys"], 1, "the signing key moves, so issued tokens keep verifying");
    assert_eq!(report["tables"]["users"], 1);
    assert_eq!(report["tables"]["api_tokens"], 2);
    assert_eq!(report["tables"]["organizations"], 2);

    let (ok, _, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target], "");
    assert!(!ok && stderr.contains("not empty"), "a non-empty target is refused: {stderr}");
    let (ok, _, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--replace", "--yes"], "");
    assert!(ok, "--replace overwrites: {stderr}");

    let node = serve(&target, &serve_args, &[]);
    assert_eq!(jwks_kids(&node.base), kids_before, "signing keys keep their kid");
    let (status, _) = bearer_get(&node.base, "/api/v2/users/me/current-authorization", &oauth_token);
    assert_eq!(status, 200, "an OAuth access token issued before the move still verifies");
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
    let printed = node.stop();
    assert!(printed.is_empty(), "no second first-start on a migrated store: {printed:?}");
}

fn jwks_kids(base: &str) -> Vec<String> {
    let (status, jwks) = get(base, "/oauth/v2/oidc/jwks", "unused");
    assert_eq!(status, 200);
    let mut kids: Vec<String> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
    kids.sort();
    kids
}

fn client_credentials(base: &str, client_id: &str, secret: &str) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{base}/oauth/v2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}&scope=user%3Aread"))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_string()
    })
}

fn bearer_get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let response = reqwest::Client::new().get(format!("{base}{path}")).header("authorization", format!("Bearer {token}")).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    })
}
