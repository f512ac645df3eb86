//! What every command starts from: the opened store with its zone, the application over it, and the
//! error a command fails with.

use std::sync::Arc;

use gatehouse_app::{App, Settings};
use gatehouse_domain::{OsRandom, SystemClock, User};
use gatehouse_store::{DynStore, OpenMode, StoreError, redact_url};
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

/// What `serve` brings to opening the store: it alone may create one and record its zone.
pub struct Serving {
    /// The zone to record on a new store when none is asked for: the issuer's host (and port), known only
    /// once the listener is bound.
    pub default_zone: String,
    /// `--change-zone`: a zone other than the recorded one replaces it.
    pub change_zone: bool,
}

impl Context {
    /// Opens the store and the application over it. Without `serving`, the store must exist (only `serve`
    /// creates one) and nothing is recorded; with it, a missing store is created and the zone settled.
    pub async fn open(global: &Global, serving: Option<Serving>, settings: Option<Settings>) -> Result<Self, CliError> {
        let file = FileConfig::load(global.config.as_deref())?;
        let mut settings = settings.unwrap_or_else(|| Settings::new(String::new(), String::new()));
        // `serve` resolved the key protection itself, before binding; everyone else does it here, before
        // opening anything.
        if serving.is_none() {
            settings.key_protection =
                config::resolve_key_protection(global.secrets_key_file.as_deref(), global.insecure_dev_keys, &file)?;
            // A token created here is announced to its owner like one created through the API, when the
            // deployment's email settings are in the environment or the file.
            settings.mail = config::resolve_mail(env("GATEHOUSE_SMTP_URL"), env("GATEHOUSE_MAIL_FROM"), &file)?;
            if settings.mail.from.is_none()
                && let Some(issuer) = env("GATEHOUSE_ISSUER").or_else(|| file.issuer.clone())
            {
                settings.mail.from = Some(gatehouse_app::mail::default_from(&issuer));
            }
        }
        let url = config::resolve_database(global.database.clone(), &file);
        let mode = if serving.is_some() { OpenMode::CreateIfMissing } else { OpenMode::MustExist };
        let store = open_store(&url, mode).await?;
        let asked = match (&global.zone, &file.zone) {
            (Some(zone), _) => Some(AskedZone { zone: zone.clone(), origin: "--zone (or GATEHOUSE_ZONE)" }),
            (None, Some(zone)) => Some(AskedZone { zone: zone.clone(), origin: "the config file's zone" }),
            (None, None) => None,
        };
        settings.zone = settle_zone(&store, asked, serving.as_ref()).await?;
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

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Opens a store, saying what to do when it is not there.
pub async fn open_store(url: &str, mode: OpenMode) -> Result<DynStore, CliError> {
    gatehouse_store::open_with(url, mode).await.map_err(|error| store_error(url, error))
}

/// A store error for a person: a missing store gets what to do about it. The others already name the
/// file or `host:port` and what to check.
pub fn store_error(url: &str, error: StoreError) -> CliError {
    match error {
        StoreError::Missing { .. } => CliError(format!(
            "{error}. Run `gatehouse serve` once with this database to create it, or name an existing store with \
             --database or GATEHOUSE_DATABASE_URL (or database in the config file); this command used {}",
            redact_url(url)
        )),
        other => CliError(other.to_string()),
    }
}

struct AskedZone {
    zone: String,
    /// Where it was asked for, for the message when it differs from the recorded one.
    origin: &'static str,
}

/// The zone is chosen once, by the first `serve` after it binds, and recorded: API tokens are bound to
/// the zone they were issued in, so a later change silently invalidates every one of them. A different
/// zone is therefore refused, unless `serve --change-zone` says so.
async fn settle_zone(store: &DynStore, asked: Option<AskedZone>, serving: Option<&Serving>) -> Result<String, CliError> {
    let recorded = store.setting("zone").await?;
    match (recorded, asked, serving) {
        (Some(recorded), Some(asked), serving) if asked.zone != recorded => match serving {
            Some(Serving { change_zone: true, .. }) => {
                store.put_setting("zone", &asked.zone).await?;
                tracing::warn!(
                    from = %recorded,
                    to = %asked.zone,
                    "the zone changed (--change-zone): every API token issued in the old zone stops working"
                );
                Ok(asked.zone)
            }
            Some(_) => Err(CliError(format!(
                "{} asks for zone {:?}, but this store serves zone {recorded:?}, recorded at its first start. \
                 API tokens are bound to their zone: changing it makes every existing token stop working. \
                 To do that, add --change-zone; otherwise drop the zone setting or set it to {recorded:?}",
                asked.origin, asked.zone
            ))),
            None => Err(CliError(format!(
                "{} asks for zone {:?}, but this store serves zone {recorded:?}: drop the zone setting or set it \
                 to {recorded:?}. To move the store to another zone, run `gatehouse serve --change-zone` (every \
                 existing API token stops working)",
                asked.origin, asked.zone
            ))),
        },
        (Some(recorded), _, _) => Ok(recorded),
        (None, asked, Some(serving)) => {
            let zone = asked.map_or_else(|| serving.default_zone.clone(), |asked| asked.zone);
            store.put_setting("zone", &zone).await?;
            Ok(zone)
        }
        // A store no `serve` has recorded a zone in (one set up by a test or a tool): used as asked, and
        // recorded by the first `serve`.
        (None, asked, None) => Ok(asked.map_or_else(|| config::DEFAULT_LISTEN.to_string(), |asked| asked.zone)),
    }
}
