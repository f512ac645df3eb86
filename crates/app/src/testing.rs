//! A real application on a real SQLite store in a temporary directory, with a mock clock and seeded
//! randomness, for the use cases' own tests.

use std::ops::Deref;
use std::sync::Arc;

use gatehouse_domain::identity::NewUser;
use gatehouse_domain::{Clock, MockClock, SeededRandom, Timestamp, User};

use crate::app::{App, Settings};

/// 2026-01-01T00:00:00.000Z.
pub const START: Timestamp = Timestamp::from_millis(1_767_225_600_000);

pub struct TestApp {
    pub app: App,
    pub clock: MockClock,
    _dir: tempfile::TempDir,
}

impl Deref for TestApp {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = gatehouse_store::open(&format!("sqlite://{}/gatehouse.db", dir.path().display())).await.expect("store");
        let clock = MockClock::new(START);
        let app = App::new(
            store,
            Arc::new(clock.clone()),
            Arc::new(SeededRandom::new(42)),
            Settings::new("test.gatehouse.local", "http://127.0.0.1:1"),
        );
        Self { app, clock, _dir: dir }
    }

    pub async fn user(&self, email: &str, admin: bool) -> User {
        let new = NewUser::new("Test User", email, None, admin).expect("valid user");
        self.app.store.create_user(&new, self.clock.now()).await.expect("create user")
    }
}
