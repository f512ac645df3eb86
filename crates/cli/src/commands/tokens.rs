//! `token`: API tokens, created by the operator as the user.

use gatehouse_app::{Actor, AppError};
use gatehouse_app::api_tokens::TokenRequest;
use gatehouse_domain::Timestamp;
use gatehouse_http::api::views;
use serde_json::json;

use super::context::{CliError, CliResult, Context};
use crate::args::{Global, TokenCommand};
use crate::config;

/// The longest `--expires-in`: a hundred years, past which "never" is meant (and the default).
const LONGEST_LIFETIME_SECS: u64 = 100 * 365 * 86_400;

pub async fn token(global: &Global, command: TokenCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    let now = context.app.now();
    match command {
        TokenCommand::Create { user, label, scopes, expires_in } => {
            let user = context.user(&user).await?;
            let expires_at = expires_in.as_deref().map(lifetime_secs).transpose()?.map(|secs| now.plus_secs(secs));
            let request = TokenRequest { label: &label, scopes: &scopes, expires_at };
            let (secret, stored) = context.app.issue_api_token(&Actor::operator(&user), request).await?;
            if context.json {
                println!(
                    "{}",
                    json!({
                        "token": secret.reveal(),
                        "label": stored.label.as_str(),
                        "scope": stored.scopes.names(),
                        "created": stored.created.to_iso(),
                        "expires": stored.expires_at.map(Timestamp::to_iso),
                    })
                );
            } else {
                println!("{}", secret.reveal());
            }
            // The owner's notice is sent by this process: wait for it (bounded), or it dies with the process.
            if let Some(outbox) = context.app.outbox()
                && !outbox.idle(std::time::Duration::from_secs(30)).await
            {
                eprintln!("warning: the new-token notice to the user could not be sent in time");
            }
        }
        TokenCommand::List { user } => {
            let user = context.user(&user).await?;
            let tokens = context.app.list_api_tokens(user.id).await?;
            if context.json {
                let listed: Vec<_> = tokens.iter().map(|listed| views::listed_token(&listed.token, listed.last_used)).collect();
                println!("{}", json!({ "apiTokens": listed }));
            } else {
                for listed in &tokens {
                    let token = &listed.token;
                    println!("{}\t{}\t{}\t{}", token.created.to_iso(), token.masked(), token.label.as_str(), token.scopes.to_space_delimited());
                }
            }
        }
        TokenCommand::Delete { user, created } => {
            let user = context.user(&user).await?;
            let at = Timestamp::parse_iso(&created).ok_or_else(|| CliError(format!("{created:?} is not an ISO-8601 timestamp")))?;
            let deleted = context
                .app
                .delete_api_token(&Actor::operator(&user), at)
                .await
                .map_err(|error| match error {
                    AppError::NotFound(_) => CliError(format!("{} has no token created at {created}", user.email.as_str())),
                    other => CliError::from(other),
                })?;
            if context.json {
                println!("{}", json!({ "apiToken": deleted.created.to_iso() }));
            } else {
                println!("{}", deleted.created.to_iso());
            }
        }
    }
    Ok(())
}

/// `--expires-in`, in seconds: with a unit, longer than zero.
fn lifetime_secs(text: &str) -> Result<i64, CliError> {
    let secs = config::parse_duration("--expires-in", text)?.as_secs();
    if secs == 0 {
        return Err(CliError(format!("--expires-in {text} must be longer than zero (leave it out for a token that does not expire)")));
    }
    if secs > LONGEST_LIFETIME_SECS {
        return Err(CliError(format!("--expires-in {text} is longer than 100 years: leave it out for a token that does not expire")));
    }
    Ok(secs as i64)
}
