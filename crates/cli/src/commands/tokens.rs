//! `token`: API tokens, created by the operator as the user.

use gatehouse_app::{Actor, AppError};
use gatehouse_app::api_tokens::TokenRequest;
use gatehouse_domain::Timestamp;
use gatehouse_domain::api_token::parse_duration_secs;
use gatehouse_http::api::views;
use serde_json::json;

use super::context::{CliError, CliResult, Context};
use crate::args::{Global, TokenCommand};

pub async fn token(global: &Global, command: TokenCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    let now = context.app.now();
    match command {
        TokenCommand::Create { user, label, scopes, expires_in } => {
            let user = context.user(&user).await?;
            let expires_at = expires_in.as_deref().map(parse_duration_secs).transpose()?.map(|secs| now.plus_secs(secs));
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
