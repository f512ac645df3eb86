//! The real binary: first start, the admin commands, configuration precedence, and durability under
//! `kill -9`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// A `gatehouse serve` process; killed when dropped.
pub(crate) struct Served {
    pub child: Child,
    pub base: String,
    stdout: Receiver<String>,
}

/// How long a spawned process may take to get ready (to say it listens, or to print its first-start line).
const READY_WITHIN: Duration = Duration::from_secs(20);

impl Served {
    /// The first line the server printed on standard output (the first start's secrets, printed before it
    /// listens), waited for as an event, not a fixed delay.
    pub(crate) fn first_line(&self) -> String {
        self.stdout.recv_timeout(READY_WITHIN).expect("the server printed no first-start line")
    }

    /// Kills the server and returns everything it printed on standard output: the pipe is at its end once
    /// the process is gone, so nothing printed can be missed.
    pub(crate) fn stop(mut self) -> Vec<String> {
        let stdout = std::mem::replace(&mut self.stdout, std::sync::mpsc::channel().1);
        let _ = self.child.kill();
        let _ = self.child.wait();
        stdout.iter().collect()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `gatehouse serve` and returns once it is ready: when it logs the address it listens on (it logs
/// that after binding, with its first-start output already printed).
pub(crate) fn serve(database: &str, extra: &[&str], envs: &[(&str, &str)]) -> Served {
    let mut command = Command::new(BIN);
    command.args(["serve", "--listen", "127.0.0.1:0", "--database", database]).args(extra);
    command.env_remove("GATEHOUSE_ZONE").env_remove("GATEHOUSE_CONFIG").env_remove("GATEHOUSE_DATABASE_URL");
    command.env_remove("GATEHOUSE_SECRETS_KEY_FILE").env_remove("GATEHOUSE_DEV_MODE");
    command.env("GATEHOUSE_SECRETS_KEY", crate::harness::TEST_SECRETS_KEY);
    for (key, value) in envs {
        command.env(key, value);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn gatehouse");
    let stderr = child.stderr.take().expect("stderr");
    let stdout = child.stdout.take().expect("stdout");
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("gatehouse listening on ").nth(1) {
                let _ = address_tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let base = address_rx.recv_timeout(READY_WITHIN).expect("server did not report its address");
    Served { child, base, stdout: line_rx }
}

pub(crate) fn cli(database: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .args(["--database", database])
        .env_remove("GATEHOUSE_ZONE")
        .env_remove("GATEHOUSE_SECRETS_KEY_FILE")
        .env_remove("GATEHOUSE_DEV_MODE")
        .env("GATEHOUSE_SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    (output.status.success(), String::from_utf8_lossy(&output.stdout).trim().to_string(), String::from_utf8_lossy(&output.stderr).to_string())
}

pub(crate) fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    BlockingClient.send("GET", base, path, token, None)
}

/// Synchronous HTTP for these tests, which drive a child process: one current-thread runtime per call.
pub(crate) struct BlockingClient;

impl BlockingClient {
    pub(crate) fn send(&self, method: &str, base: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = reqwest::Client::new()
                .request(method, format!("{base}{path}"))
                .header("authorization", format!("Token {token}"));
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let text = response.text().await.expect("text");
            (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
        })
    }
}

fn temp_db() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/gh.db", dir.path().display());
    (dir, url)
}

#[test]
fn first_start_prints_a_working_all_scopes_admin_token_once() {
    let (_dir, db) = temp_db();
    let served = serve(&db, &["--json", "--zone", "cli.test"], &[]);
    let first: Value = serde_json::from_str(&served.first_line()).expect("JSON");
    let token = first["token"].as_str().expect("token");
    assert_eq!(first["email"], "admin@gatehouse.local");
    assert!(first["password"].as_str().unwrap().len() >= 20);
    let (status, me) = get(&served.base, "/api/v2/users/me", token);
    assert_eq!(status, 200);
    assert_eq!(me["authUser"]["email"], "admin@gatehouse.local");
    let (_, auth) = get(&served.base, "/api/v2/users/me/current-authorization", token);
    assert!(auth["authorization"]["scope"].as_array().unwrap().len() > 40, "every scope: {auth}");
    let (status, org) = get(&served.base, &format!("/api/v2/organizations/{}", first["organizationId"]), token);
    assert_eq!(status, 200);
    assert_eq!(org["organization"]["teams"][0]["id"], first["teamId"]);
    drop(served);

    let again = serve(&db, &["--json", "--zone", "cli.test"], &[]);
    assert_eq!(get(&again.base, "/api/v2/users/me", token).0, 200, "the token survives a restart");
    let printed = again.stop();
    assert!(printed.is_empty(), "secrets are shown once: {printed:?}");
}

#[test]
fn admin_commands_print_plain_ids_and_tokens_that_work() {
    let (_dir, db) = temp_db();
    let zone = ["--zone", "cli.test"];
    // Only `serve` creates a store: the first start sets it up, the commands then use it.
    serve(&db, &zone, &[]).stop();
    let (ok, user_id, stderr) = cli(&db, &[&["user", "create", "--email", "Ada@Example.com", "--name", "Ada Lovelace"][..], &zone].concat(), "correct horse battery\n");
    assert!(ok, "{stderr}");
    assert!(user_id.parse::<i64>().is_ok(), "{user_id}");
    let (ok, _, stderr) = cli(&db, &["user", "create", "--email", "ada@example.com", "--name", "Again"], "");
    assert!(!ok && stderr.contains("already exists"), "duplicate email refused: {stderr}");
    let (ok, _, stderr) = cli(&db, &["user", "create", "--email", "weak@example.com", "--name", "Weak"], "short\n");
    assert!(!ok && stderr.contains("at least"), "{stderr}");

    let (ok, org, stderr) = cli(&db, &["org", "create", "--name", "Acme", "--owner", "ada@example.com"], "");
    assert!(ok, "{stderr}");
    let (ok, team, stderr) = cli(&db, &["team", "create", "--org", &org, "--name", "Ops"], "");
    assert!(ok, "{stderr}");
    cli(&db, &["user", "create", "--email", "bob@example.com", "--name", "Bob"], "");
    let (ok, _, stderr) = cli(&db, &["member", "add", "--org", &org, "--user", "bob@example.com", "--role", "admin"], "");
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&db, &["member", "add", "--org", &org, "--user", "bob@example.com", "--role", "emperor"], "");
    assert!(!ok && stderr.contains("Unknown role"), "{stderr}");

    let (ok, token, stderr) = cli(&db, &[&["token", "create", "--user", "bob@example.com", "--label", "ci", "--scope", "teams:read", "--scope", "organizations:read"][..], &zone].concat(), "");
    assert!(ok, "{stderr}");
    assert_eq!(token.len(), 36, "only the token is printed: {token}");
    let (ok, _, stderr) = cli(&db, &["token", "create", "--user", "bob@example.com", "--label", "x", "--scope", "teams:fly"], "");
    assert!(!ok && stderr.contains("teams:fly"), "{stderr}");

    let served = serve(&db, &zone, &[]);
    let (status, teams) = get(&served.base, &format!("/api/v2/teams?organizationId={org}"), &token);
    assert_eq!(status, 200, "{teams}");
    assert_eq!(teams["teams"][0]["id"].to_string(), team);

    let (ok, listed, _) = cli(&db, &["token", "list", "--user", "bob@example.com", "--json"], "");
    assert!(ok);
    let listed: Value = serde_json::from_str(&listed).expect("JSON");
    let created = listed["apiTokens"][0]["created"].as_str().unwrap().to_string();
    assert!(!listed.to_string().contains(&token[9..]), "listing is masked");
    let (ok, plain_list, _) = cli(&db, &["token", "list", "--user", "bob@example.com"], "");
    assert!(ok && plain_list.starts_with(&created) && plain_list.contains(&token[..8]));

    let (ok, deleted, stderr) = cli(&db, &["token", "delete", "--user", "bob@example.com", "--created", &created], "");
    assert!(ok, "{stderr}");
    assert_eq!(deleted, created);
    // The server caches verified tokens for a bounded time; a fresh server sees the deletion at once.
    drop(served);
    let served = serve(&db, &zone, &[]);
    assert_eq!(get(&served.base, "/api/v2/users/me", &token).0, 401);
}

#[test]
fn the_cli_issues_expiring_tokens_and_refuses_an_unknown_duration() {
    let (_dir, db) = temp_db();
    serve(&db, &[], &[]).stop();
    cli(&db, &["user", "create", "--email", "ada@example.com", "--name", "Ada"], "");
    let (ok, out, _) = cli(&db, &["token", "create", "--user", "ada@example.com", "--label", "x", "--expires-in", "2h", "--json"], "");
    assert!(ok);
    let created: Value = serde_json::from_str(&out).unwrap();
    assert!(created["expires"].is_string(), "{created}");
    let (ok, _, stderr) = cli(&db, &["token", "create", "--user", "ada@example.com", "--label", "x", "--expires-in", "soon"], "");
    assert!(!ok && stderr.contains("invalid --expires-in \"soon\""), "{stderr}");
}

/// Flags beat `GATEHOUSE_*` variables, which beat the TOML file.
#[test]
fn configuration_precedence_is_flags_then_environment_then_file() {
    let (dir, db) = temp_db();
    let config = dir.path().join("gatehouse.toml");
    std::fs::write(&config, "zone = \"from-file\"\n").unwrap();
    let config_arg = config.display().to_string();
    let served = serve(&db, &["--config", &config_arg, "--json"], &[]);
    let first: Value = serde_json::from_str(&served.first_line()).unwrap();
    let token = first["token"].as_str().unwrap().to_string();
    drop(served);
    // The admin token was issued in the file's zone, so it works only where that zone is served.
    let zone_of = |extra: &[&str], envs: &[(&str, &str)]| {
        let served = serve(&db, &[&["--config", &config_arg][..], extra].concat(), envs);
        get(&served.base, "/api/v2/users/me", &token).0
    };
    assert_eq!(zone_of(&[], &[]), 200, "file");
    assert_eq!(zone_of(&["--zone", "from-file"], &[("GATEHOUSE_ZONE", "from-env")]), 200, "flag beats env");
    // The environment beats the file: its zone is the one asked for, and differs from the recorded one,
    // which only `--change-zone` may replace (then the file's token stops working).
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db, "--config", &config_arg])
        .env("GATEHOUSE_ZONE", "from-env")
        .env("GATEHOUSE_SECRETS_KEY", crate::harness::TEST_SECRETS_KEY)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("zone \"from-env\""), "env beats file: {stderr}");
    assert_eq!(zone_of(&["--change-zone"], &[("GATEHOUSE_ZONE", "from-env")]), 401, "env beats file");

    std::fs::write(&config, "zoen = \"typo\"\n").unwrap();
    let (ok, _, stderr) = cli(&db, &["token", "list", "--user", "admin@gatehouse.local", "--config", &config_arg], "");
    assert!(!ok && stderr.contains("unknown field"), "{stderr}");
}

/// An acknowledged write is durable: `kill -9` in the middle of a stream of writes loses nothing that was
/// answered 200 (SQLite: WAL with synchronous=FULL; PostgreSQL: commit before the response).
#[test]
fn acknowledged_writes_survive_kill_9_in_the_middle_of_writes() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = runtime.block_on(crate::harness::fresh_database_url(&dir));
    let mut served = serve(&db, &["--json", "--zone", "cli.test"], &[]);
    let first: Value = serde_json::from_str(&served.first_line()).unwrap();
    let admin = first["token"].as_str().unwrap().to_string();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (base, admin, acknowledged, ack_tx) = (served.base.clone(), admin.clone(), acknowledged.clone(), ack_tx.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async {
                    let client = reqwest::Client::new();
                    for i in 0..10_000 {
                        let body = serde_json::json!({ "label": format!("w{writer}-{i}"), "scope": ["user:read"] });
                        let response = client
                            .post(format!("{base}/api/v2/users/me/api-tokens"))
                            .header("authorization", format!("Token {admin}"))
                            .json(&body)
                            .send()
                            .await;
                        // Once the server is killed, requests fail: the writer stops.
                        let Ok(response) = response else { return };
                        if response.status() != 200 {
                            return;
                        }
                        let Ok(created) = response.json::<Value>().await else { return };
                        acknowledged.lock().unwrap().push(created["apiToken"]["token"].as_str().unwrap().to_string());
                        let _ = ack_tx.send(());
                    }
                });
            })
        })
        .collect();
    drop(ack_tx);
    // Wait for a hundred acknowledgements as they arrive (bounded), then kill mid-stream.
    let deadline = Instant::now() + Duration::from_secs(30);
    for _ in 0..100 {
        if ack_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).is_err() {
            break;
        }
    }
    // SIGKILL while the writers are still writing: no graceful shutdown, no checkpoint.
    served.child.kill().expect("kill -9");
    served.child.wait().expect("reap");
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 100, "only {} writes were acknowledged", acknowledged.len());
    let restarted = serve(&db, &["--zone", "cli.test"], &[]);
    let (_, listed) = get(&restarted.base, "/api/v2/users/me/api-tokens", &admin);
    let listed = listed["apiTokens"].as_array().unwrap().len();
    assert!(listed > acknowledged.len(), "every acknowledged token is listed ({listed} rows for {} acks)", acknowledged.len());
    for token in &acknowledged {
        assert_eq!(get(&restarted.base, "/api/v2/users/me", token).0, 200, "acknowledged token lost");
    }
}
