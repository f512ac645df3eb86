//! The command line does not surprise an operator (issue 14): only `serve` and `migrate --to` create a
//! store, errors name the store and say what to do, `migrate` does not wipe a target from a mistyped
//! source, `--json` means JSON, durations take a unit, configuration is checked before anything is written,
//! `--listen` explains itself, and the zone is recorded once and changed only on purpose.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use gatehouse_store::OpenMode;
use serde_json::Value;

use crate::cli::{cli, get};
use crate::harness::TEST_SECRETS_KEY;

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// `gatehouse ARGS` with none of the caller's GATEHOUSE_* settings but the test secrets key.
fn gatehouse(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("GATEHOUSE_") && key != "GATEHOUSE_TEST_POSTGRES_URL" {
            command.env_remove(key);
        }
    }
    command.env("GATEHOUSE_SECRETS_KEY", TEST_SECRETS_KEY).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Runs a command that should end by itself; a `serve` that starts instead of refusing is killed after
/// `within` and fails the test.
fn finishes(mut command: Command, within: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn gatehouse");
    loop {
        if child.try_wait().expect("wait").is_some() {
            return (child.wait_with_output().expect("output"), started.elapsed());
        }
        if started.elapsed() > within {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("still running after {within:?}; stderr: {}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn refused(command: Command) -> String {
    let (output, _) = finishes(command, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "expected a refusal; stdout: {}; stderr: {stderr}", String::from_utf8_lossy(&output.stdout));
    stderr
}

/// A `gatehouse serve` with exactly these arguments, ready once it logs where it listens; killed when dropped.
struct Spawned {
    child: Child,
    base: String,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Spawned {
    fn start(args: &[&str]) -> Self {
        let mut child = gatehouse(&[&["serve"][..], args].concat()).spawn().expect("spawn");
        let (stderr_tx, stderr_rx) = std::sync::mpsc::channel();
        let (stdout_tx, stdout_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || forward(BufReader::new(stderr).lines().map_while(Result::ok), &stderr_tx));
        std::thread::spawn(move || forward(BufReader::new(stdout).lines().map_while(Result::ok), &stdout_tx));
        let mut seen = Vec::new();
        loop {
            match stderr_rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) => {
                    if let Some(rest) = line.split("gatehouse listening on ").nth(1) {
                        let base = rest.split_whitespace().next().unwrap_or("").to_string();
                        let (again_tx, again_rx) = std::sync::mpsc::channel();
                        for line in seen {
                            let _ = again_tx.send(line);
                        }
                        std::thread::spawn(move || forward(stderr_rx.iter(), &again_tx));
                        return Self { child, base, stdout: stdout_rx, stderr: again_rx };
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("serve did not start: {}", seen.join("\n"));
                }
            }
        }
    }

    fn first_start(&self) -> Value {
        serde_json::from_str(&self.stdout.recv_timeout(Duration::from_secs(20)).expect("first-start line")).expect("JSON")
    }

    /// Stops the server; answers what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let stderr = std::mem::replace(&mut self.stderr, std::sync::mpsc::channel().1);
        stderr.iter().collect::<Vec<_>>().join("\n")
    }
}

/// Passes lines on until the receiver is gone.
fn forward(lines: impl Iterator<Item = String>, to: &std::sync::mpsc::Sender<String>) {
    for line in lines {
        if to.send(line).is_err() {
            return;
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A store set up by a first start; answers the first-start JSON.
fn first_start(database: &str, zone: &str) -> Value {
    let served = Spawned::start(&["--listen", "127.0.0.1:0", "--database", database, "--zone", zone, "--json"]);
    served.first_start()
}

fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}/{file}", dir.display())
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(future)
}

async fn recorded_zone(database: &str) -> Option<String> {
    let store = gatehouse_store::open_with(database, OpenMode::MustExist).await.expect("open");
    store.setting("zone").await.expect("zone")
}

async fn row_counts(database: &str) -> gatehouse_store::copy::TableCounts {
    let store = gatehouse_store::copy::open(database, OpenMode::MustExist).await.expect("open");
    gatehouse_store::copy::count_tables(store.as_ref()).await.expect("count")
}

#[test]
fn commands_other_than_serve_refuse_a_missing_store_and_name_its_path() {
    let dir = tempfile::tempdir().unwrap();
    // The default store, ./gatehouse.db, from a directory where there is none: the first hour's mistake.
    let mut command = gatehouse(&["token", "list", "--user", "admin@gatehouse.local"]);
    command.current_dir(dir.path());
    let stderr = refused(command);
    assert!(stderr.contains("./gatehouse.db") && stderr.contains(&dir.path().display().to_string()), "names the path: {stderr}");
    assert!(stderr.contains("gatehouse serve") && stderr.contains("--database") && stderr.contains("GATEHOUSE_DATABASE_URL"), "says what to do: {stderr}");
    assert!(!stderr.contains("admin@gatehouse.local"), "about the store, not the user: {stderr}");
    assert!(!dir.path().join("gatehouse.db").exists(), "no store was created");

    let missing = sqlite_url(dir.path(), "elsewhere.db");
    for args in [
        &["keys", "list"][..],
        &["keys", "rotate"],
        &["client", "list"],
        &["token", "create", "--user", "a@example.com", "--label", "x", "--scope", "user:read"],
    ] {
        let (ok, _, stderr) = cli(&missing, args, "");
        assert!(!ok && stderr.contains("elsewhere.db") && stderr.contains("no Gatehouse store"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("elsewhere.db").exists(), "no store was created");

    // An empty file is no store either.
    std::fs::write(dir.path().join("empty.db"), b"").unwrap();
    let (ok, _, stderr) = cli(&sqlite_url(dir.path(), "empty.db"), &["client", "list"], "");
    assert!(!ok && stderr.contains("no Gatehouse tables"), "{stderr}");
}

#[test]
fn store_errors_name_the_store_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // `sqlite:` names no file: it used to end in "no such table: settings".
    for database in ["sqlite:", "sqlite://"] {
        let stderr = refused(gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", database]));
        assert!(stderr.contains("names no file") && stderr.contains("sqlite://PATH"), "{database}: {stderr}");
    }
    // A file SQLite cannot open (its directory is missing): the path and what to check, not "code 14".
    let nowhere = format!("sqlite://{}/no/such/dir/gh.db", dir.path().display());
    let stderr = refused(gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &nowhere]));
    assert!(stderr.contains("no/such/dir/gh.db") && stderr.contains("directory exists"), "{stderr}");
    // PostgreSQL that is not there: fast, with host:port and a hint, and never the password.
    let (output, took) = finishes(gatehouse(&["client", "list", "--database", "postgres://gatehouse:hunter2@127.0.0.1:1/gatehouse"]), Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(took < Duration::from_secs(5), "failed after {took:?}: {stderr}");
    assert!(stderr.contains("127.0.0.1:1") && stderr.contains("check that PostgreSQL runs"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is never shown: {stderr}");
    let stderr = refused(gatehouse(&["client", "list", "--database", "mysql://root:hunter2@db/gh"]));
    assert!(stderr.contains("root:***@db") && !stderr.contains("hunter2"), "{stderr}");
}

/// The data loss: `--from` mistyped (gatehose.db), `--replace` given, and the populated target was
/// wiped because the missing file read as an empty store.
#[test]
fn migrate_refuses_a_mistyped_source_and_the_target_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let target = block_on(crate::harness::fresh_database_url(&dir));
    first_start(&target, "migrate.test");
    let before = block_on(row_counts(&target));
    assert!(before.content_rows() > 0);

    let mistyped = sqlite_url(dir.path(), "gatehose.db");
    let (ok, _, stderr) = cli(&target, &["migrate", "--from", &mistyped, "--to", &target, "--replace", "--yes"], "");
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("gatehose.db") && stderr.contains("--from"), "names the source: {stderr}");
    assert_eq!(block_on(row_counts(&target)), before, "the target keeps every row");
    assert!(!dir.path().join("gatehose.db").exists(), "the mistyped source was not created");

    // A source that is there but empty is refused too, unless asked for.
    let empty = sqlite_url(dir.path(), "empty.db");
    drop(block_on(gatehouse_store::open(&empty)).unwrap());
    let (ok, _, stderr) = cli(&target, &["migrate", "--from", &empty, "--to", &target, "--replace", "--yes"], "");
    assert!(!ok && stderr.contains("empty") && stderr.contains("--allow-empty-source"), "{stderr}");
    assert_eq!(block_on(row_counts(&target)), before, "the target keeps every row");
    let (ok, _, stderr) = cli(&target, &["migrate", "--from", &empty, "--to", &target, "--replace", "--yes", "--allow-empty-source"], "");
    assert!(ok, "{stderr}");
    assert_eq!(block_on(row_counts(&target)).content_rows(), 0, "asked for: the target now mirrors the empty source");
}

#[test]
fn migrate_replace_says_what_it_deletes_and_needs_yes_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_url(dir.path(), "source.db");
    let target = block_on(crate::harness::fresh_database_url(&dir));
    first_start(&source, "migrate.test");
    first_start(&target, "migrate.test");
    let before = block_on(row_counts(&target));
    let users = before.tables.iter().find(|(name, _)| *name == "users").unwrap().1;

    let (ok, _, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--replace"], "y\n");
    assert!(!ok && stderr.contains("--yes"), "stdin is not a terminal: --yes is required, not an answer: {stderr}");
    assert!(stderr.contains("users") && stderr.contains(&format!("{users} rows")), "lists what it would delete: {stderr}");
    assert_eq!(block_on(row_counts(&target)), before, "nothing deleted");

    let (ok, out, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--replace", "--yes", "--json"], "");
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(report["tables"]["users"], 1, "{report}");
    assert_eq!(report["replaced"]["users"], users, "{report}");
    assert!(report["rows"].as_u64().unwrap() >= 5, "{report}");
    assert!(!stderr.contains("rows, "), "no progress bar without a terminal: {stderr}");

    let (ok, out, stderr) = cli(&source, &["migrate", "--from", &source, "--to", &target, "--replace", "--yes"], "");
    assert!(ok, "{stderr}");
    assert!(out.lines().any(|line| line == "users\t1"), "per-table counts: {out}");
}

#[test]
fn every_command_honours_json() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "gh.db");
    first_start(&db, "json.test");
    let json = |args: &[&str]| -> Value {
        let (ok, out, stderr) = cli(&db, &[args, &["--json"]].concat(), "");
        assert!(ok, "{args:?}: {stderr}");
        serde_json::from_str(&out).unwrap_or_else(|_| panic!("{args:?} printed no JSON: {out}"))
    };
    let keys = json(&["keys", "list"]);
    assert!(keys["keys"][0]["kid"].is_string() && keys["keys"][0]["encrypted"] == true, "{keys}");
    assert!(json(&["keys", "generate-secret"])["secret"].as_str().unwrap().len() >= 32);
    assert!(json(&["keys", "rotate"])["kids"].is_array());
    let spec = ["--owner", "admin@gatehouse.local", "--name", "App", "--type", "confidential", "--redirect-uri", "https://app.example/cb", "--scope", "user:read"];
    let requested = json(&[&["client", "request"][..], &spec].concat());
    let client_id = requested["client_id"].as_str().unwrap().to_string();
    assert_eq!(json(&["client", "reject", &client_id])["status"], "rejected");
    assert_eq!(json(&["client", "delete", &client_id])["client_id"], client_id.as_str());
    let created = json(&["token", "create", "--user", "admin@gatehouse.local", "--label", "j", "--scope", "user:read", "--expires-in", "1h"]);
    assert!(created["expires"].is_string(), "{created}");
    let listed = json(&["token", "list", "--user", "admin@gatehouse.local"]);
    assert!(listed["apiTokens"].as_array().unwrap().len() >= 2);
    assert!(json(&["token", "delete", "--user", "admin@gatehouse.local", "--created", created["created"].as_str().unwrap()])["apiToken"].is_string());
    assert_eq!(json(&["policy", "check", "GET", "/api/v2/users/me"])["allowed"], true);
}

#[test]
fn durations_always_take_a_unit() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "gh.db");
    first_start(&db, "durations.test");
    let create = |expires_in: &str| cli(&db, &["token", "create", "--user", "admin@gatehouse.local", "--label", "d", "--scope", "user:read", "--expires-in", expires_in], "");
    let (ok, _, stderr) = create("90");
    assert!(!ok && stderr.contains("add a unit: 90s, 90m, 90h or 90d"), "a bare number is refused: {stderr}");
    let (ok, _, stderr) = create("0s");
    assert!(!ok && stderr.contains("must be longer than zero"), "{stderr}");
    let (ok, _, stderr) = create("soon");
    assert!(!ok && stderr.contains("--expires-in"), "{stderr}");
    let (ok, _, stderr) = create("90s");
    assert!(ok, "{stderr}");

    let fresh = sqlite_url(dir.path(), "fresh.db");
    for flag in ["--access-token-lifetime", "--refresh-grace"] {
        let stderr = refused(gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &fresh, flag, "30"]));
        assert!(stderr.contains(flag) && stderr.contains("add a unit: 30s"), "{stderr}");
    }
    assert!(!dir.path().join("fresh.db").exists());
    let served = Spawned::start(&["--listen", "127.0.0.1:0", "--database", &fresh, "--access-token-lifetime", "2m", "--refresh-grace", "0s"]);
    drop(served);
}

/// An invalid configuration used to be found after the store was created and the zone recorded (and the
/// first-start password printed): it is now found before anything is written.
#[test]
fn invalid_configuration_is_refused_before_the_store_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = sqlite_url(dir.path(), "fresh.db");
    let key_file = dir.path().join("secrets.key");
    std::fs::write(&key_file, "too short\n").unwrap();
    let config = dir.path().join("gatehouse.toml");
    std::fs::write(&config, format!("secrets_key_file = {:?}\n", key_file.display().to_string())).unwrap();
    let mut command = gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &fresh, "--config", config.to_str().unwrap()]);
    command.env_remove("GATEHOUSE_SECRETS_KEY");
    let (output, _) = finishes(command, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("secrets key"), "{stderr}");
    assert!(output.stdout.is_empty(), "no first-start credentials: {}", String::from_utf8_lossy(&output.stdout));
    assert!(!dir.path().join("fresh.db").exists(), "the store was not created");

    // No secrets key at all: the same.
    let mut command = gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &fresh]);
    command.env_remove("GATEHOUSE_SECRETS_KEY");
    let stderr = refused(command);
    assert!(stderr.contains("GATEHOUSE_SECRETS_KEY"), "{stderr}");
    assert!(!dir.path().join("fresh.db").exists(), "the store was not created");
}

#[test]
fn listen_takes_host_names_explains_the_form_and_a_public_address_needs_an_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "gh.db");
    for bad in ["localhost", "8080", "localhost:http"] {
        let stderr = refused(gatehouse(&["serve", "--listen", bad, "--database", &db]));
        assert!(stderr.contains("HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"), "{bad}: {stderr}");
    }
    // Refused, not served: `http://0.0.0.0:PORT` would be advertised as the issuer.
    let stderr = refused(gatehouse(&["serve", "--listen", "0.0.0.0:0", "--database", &db]));
    assert!(stderr.contains("--issuer") && stderr.contains("https://auth.example.com"), "{stderr}");
    assert!(!dir.path().join("gh.db").exists(), "nothing was written");

    let served = Spawned::start(&["--listen", "localhost:0", "--database", &db, "--json"]);
    let port = served.base.rsplit(':').next().unwrap().to_string();
    let (status, discovery) = get(&served.base, "/.well-known/openid-configuration", "unused");
    assert_eq!(status, 200);
    assert_eq!(discovery["issuer"], format!("http://localhost:{port}"), "the name stays in the issuer");
}

#[test]
fn the_zone_is_the_bound_address_never_port_0_and_a_failed_bind_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let db = sqlite_url(dir.path(), "gh.db");
    let stderr = refused(gatehouse(&["serve", "--listen", &format!("127.0.0.1:{busy_port}"), "--database", &db]));
    assert!(stderr.contains("cannot listen") && stderr.contains("another process"), "{stderr}");
    assert!(!dir.path().join("gh.db").exists(), "a start that could not bind wrote nothing");

    let served = Spawned::start(&["--listen", "127.0.0.1:0", "--database", &db, "--json"]);
    let token = served.first_start()["token"].as_str().unwrap().to_string();
    let address = served.base.trim_start_matches("http://").to_string();
    assert!(!address.ends_with(":0"));
    drop(served);
    assert_eq!(block_on(recorded_zone(&db)).as_deref(), Some(address.as_str()), "the bound address, not 127.0.0.1:0");
    // The next start, on another free port, keeps the recorded zone: the first token still works.
    let again = Spawned::start(&["--listen", "127.0.0.1:0", "--database", &db]);
    assert_eq!(get(&again.base, "/api/v2/users/me", &token).0, 200);
}

#[test]
fn a_different_zone_is_refused_unless_change_zone_says_what_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(dir.path(), "gh.db");
    let token = first_start(&db, "one.test")["token"].as_str().unwrap().to_string();

    let stderr = refused(gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &db, "--zone", "two.test"]));
    assert!(stderr.contains("one.test") && stderr.contains("two.test") && stderr.contains("--change-zone"), "{stderr}");
    let mut from_env = gatehouse(&["serve", "--listen", "127.0.0.1:0", "--database", &db]);
    from_env.env("GATEHOUSE_ZONE", "two.test");
    assert!(refused(from_env).contains("--change-zone"));
    let (ok, _, stderr) = cli(&db, &["token", "list", "--user", "admin@gatehouse.local", "--zone", "two.test"], "");
    assert!(!ok && stderr.contains("one.test"), "administrative commands refuse it too: {stderr}");
    assert_eq!(block_on(recorded_zone(&db)).as_deref(), Some("one.test"));

    let (ok, help, _) = cli(&db, &["serve", "--help"], "");
    assert!(ok && help.contains("--change-zone") && help.contains("Every existing API token stops working"), "{help}");

    let served = Spawned::start(&["--listen", "127.0.0.1:0", "--database", &db, "--zone", "two.test", "--change-zone"]);
    assert_eq!(get(&served.base, "/api/v2/users/me", &token).0, 401, "tokens of the old zone stop working, as said");
    let logged = served.stop();
    assert!(logged.contains("the zone changed") && logged.contains("one.test") && logged.contains("two.test"), "a warning is logged: {logged}");
    assert_eq!(block_on(recorded_zone(&db)).as_deref(), Some("two.test"));
}

/// At a terminal, `--replace` asks, and anything but yes keeps the target. The terminal is a pseudo-terminal
/// made by util-linux's `script`, which passes our standard input on as typed keys.
#[test]
fn migrate_replace_asks_at_a_terminal_and_no_keeps_the_target() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` (util-linux) to make a terminal with");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite_url(dir.path(), "source.db");
    let target = sqlite_url(dir.path(), "target.db");
    first_start(&source, "migrate.test");
    first_start(&target, "migrate.test");
    let before = block_on(row_counts(&target));
    // One row more in the source, so that a copy shows in the counts.
    let (ok, _, stderr) = cli(&source, &["token", "create", "--user", "admin@gatehouse.local", "--label", "extra", "--scope", "user:read"], "");
    assert!(ok, "{stderr}");
    let at_a_terminal = |answer: &str| {
        let line = format!("{BIN} migrate --from {source} --to {target} --replace");
        let mut command = Command::new("script");
        command.args(["-qec", &line, "/dev/null"]);
        for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("GATEHOUSE_")) {
            command.env_remove(key);
        }
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let screen = at_a_terminal("n\n");
    assert!(screen.contains("Delete these rows? [y/N]") && screen.contains("not confirmed"), "{screen}");
    assert_eq!(block_on(row_counts(&target)), before, "answered no: nothing deleted");
    let screen = at_a_terminal("y\n");
    assert!(screen.contains("api_tokens\t2"), "{screen}");
    assert_eq!(block_on(row_counts(&source)), block_on(row_counts(&target)), "answered yes: the source was copied over the target");
}
