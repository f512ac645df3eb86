//! What every command starts from: the opened store with its zone, the application over it, and the
//! error a command fails with.

use std::sync::Arc;

use gatehouse_app::{App, Settings};
use gatehouse_domain::{OsRandom, SystemClock, User};
use gatehouse_store::DynStore;
use serde_json::json;

use crate::args::Global;
use crate::config::{self, FileConfig};

/// What a command failed with, said for a person.
#[derive(Debug)]
pub struct CliError(pub String);

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(error: E) -> Self {
        CliError(error.to_string())
    }
}

pub type CliResult = Result<(), CliError>;

/// An opened store with its zone, and the application over it.
pub struct Context {
    pub app: App,
    pub file: FileConfig,
    pub json: bool,
}

impl Context {
    /// Opens the store and settles the zone: chosen once and recorded, so that every later command and
    /// restart agrees on it.
    pub async fn open(global: &Global, listen_for_default_zone: Option<&str>, settings: Option<Settings>) -> Result<Self, CliError> {
        let file = FileConfig::load(global.config.as_deref())?;
        let url = config::resolve_database(global.database.clone(), &file);
        let store = gatehouse_store::open(&url).await?;
        let zone = settle_zone(&store, global.zone.clone().or_else(|| file.zone.clone()), listen_for_default_zone).await?;
        let mut settings = settings.unwrap_or_else(|| Settings::new(zone.clone(), String::new()));
        settings.zone = zone;
        settings.key_protection = config::resolve_key_protection(global.secrets_key_file.as_deref(), global.insecure_dev_keys, &file)?;
        let app = App::new(store, Arc::new(SystemClock), Arc::new(OsRandom), settings);
        Ok(Self { app, file, json: global.json })
    }

    pub async fn user(&self, email: &str) -> Result<User, CliError> {
        Ok(self.app.user_by_email(email).await?)
    }

    pub fn print_id(&self, key: &str, id: i64) {
        if self.json {
            println!("{}", json!({ key: id }));
        } else {
            println!("{id}");
        }
    }
}

async fn settle_zone(store: &DynStore, asked: Option<String>, listen: Option<&str>) -> Result<String, CliError> {
    let recorded = store.setting("zone").await?;
    let zone = match (asked, &recorded) {
        (Some(zone), _) => zone,
        (None, Some(zone)) => zone.clone(),
        (None, None) => listen.unwrap_or(config::DEFAULT_LISTEN).to_string(),
    };
    if recorded.is_none() {
        store.put_setting("zone", &zone).await?;
    }
    Ok(zone)
}
