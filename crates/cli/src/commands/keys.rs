//! `keys`: the OAuth signing keys.

use gatehouse_app::Settings;
use gatehouse_app::keys::KeyProtection;
use gatehouse_domain::OsRandom;
use gatehouse_domain::secrets::{generate_secret, is_sealed};
use serde_json::json;

use super::context::{CliError, CliResult, Context};
use crate::args::{Global, KeysCommand};
use crate::config::{self, FileConfig};

pub async fn keys(global: &Global, command: KeysCommand) -> CliResult {
    match command {
        KeysCommand::Rotate { access_token_algorithm } => {
            let file = FileConfig::load(global.config.as_deref())?;
            let mut settings = Settings::new(String::new(), String::new());
            settings.oauth = config::resolve_oauth(None, None, None, access_token_algorithm, &file)?;
            let context = Context::open(global, None, Some(settings)).await?;
            let kids = context.app.rotate_keys().await?;
            if context.json {
                // `kid` is the RS256 key's, as before ES256 existed; `kids` lists every new key.
                println!("{}", json!({ "kid": kids.first(), "kids": kids }));
            } else {
                for kid in &kids {
                    println!("{kid}");
                }
            }
        }
        KeysCommand::List => {
            let context = Context::open(global, None, None).await?;
            let keys = context.app.signing_keys().await?;
            if context.json {
                let listed: Vec<_> = keys
                    .iter()
                    .map(|key| {
                        json!({
                            "kid": key.kid.to_string(),
                            "created": key.created.to_iso(),
                            "retires": key.retire_at.map(|at| at.to_iso()),
                            "encrypted": is_sealed(&key.private_pkcs8),
                        })
                    })
                    .collect();
                println!("{}", json!({ "keys": listed }));
            } else {
                for key in &keys {
                    let state = key.retire_at.map_or("active".to_string(), |at| format!("retires {}", at.to_iso()));
                    let at_rest = if is_sealed(&key.private_pkcs8) { "encrypted" } else { "CLEAR" };
                    println!("{}\t{}\t{}\t{}", key.kid, key.created.to_iso(), state, at_rest);
                }
            }
        }
        KeysCommand::Reencrypt => {
            let context = Context::open(global, None, None).await?;
            if !matches!(context.app.settings.key_protection, KeyProtection::Sealed(_)) {
                return Err(CliError(crate::server::MISSING_SECRETS_KEY.to_string()));
            }
            let done = context.app.protect_signing_keys(true).await?;
            if context.json {
                println!("{}", json!({ "encrypted": done.sealed_from_plaintext, "reencrypted": done.resealed }));
            } else {
                println!("{} key(s) encrypted from clear, {} re-encrypted under the first secrets key", done.sealed_from_plaintext, done.resealed);
            }
        }
        KeysCommand::GenerateSecret => {
            let secret = generate_secret(&OsRandom);
            if global.json {
                println!("{}", json!({ "secret": secret }));
            } else {
                println!("{secret}");
            }
        }
    }
    Ok(())
}
