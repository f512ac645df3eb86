//! `audit`: the audit log, read by the operator (every organization's events, and the platform's).

use gatehouse_domain::{AuditFilter, AuditKind, AuditPage, OrganizationId, Page, Timestamp};
use gatehouse_http::api::audit::entry;
use serde_json::json;

use super::context::{CliError, CliResult, Context};
use crate::args::{AuditCommand, Global};

pub async fn audit(global: &Global, command: AuditCommand) -> CliResult {
    match command {
        AuditCommand::List { organization, events, user, since, until, limit, offset } => {
            if !(1..=Page::MAX_LIMIT).contains(&limit) {
                return Err(CliError(format!("--limit must be from 1 to {}", Page::MAX_LIMIT)));
            }
            let kinds = events
                .iter()
                .map(|name| {
                    AuditKind::parse(name.trim()).ok_or_else(|| {
                        let known: Vec<&str> = AuditKind::ALL.iter().map(|kind| kind.as_str()).collect();
                        CliError(format!("unknown event {name:?}; the events are: {}", known.join(", ")))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let time = |text: Option<String>, flag: &str| {
                text.map(|text| {
                    Timestamp::parse_iso(&text)
                        .ok_or_else(|| CliError(format!("{flag} {text:?} is not an RFC 3339 time such as 2026-01-01T00:00:00Z")))
                })
                .transpose()
            };
            let since = time(since, "--since")?;
            let until = time(until, "--until")?;
            let context = Context::open(global, None, None).await?;
            let actor_user = match user {
                Some(email) => Some(context.user(&email).await?.id),
                None => None,
            };
            let filter = AuditFilter { organization: organization.map(OrganizationId), kinds, actor_user, since, until };
            let entries = context.app.audit_log(filter, AuditPage { offset, limit, oldest_first: false }).await?;
            if context.json {
                let listed: Vec<_> = entries.iter().map(entry).collect();
                println!("{}", json!({ "auditLogs": listed }));
            } else {
                for listed in &entries {
                    let event = &listed.event;
                    let who = match (&listed.actor, event.actor.account(), event.actor.user_id()) {
                        (Some(user), _, _) => user.email.as_str().to_string(),
                        (None, Some(account), _) => account.as_str().to_string(),
                        (None, None, Some(id)) => format!("user {}", id.0),
                        (None, None, None) => String::new(),
                    };
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        event.at.to_iso(),
                        event.kind,
                        event.actor.kind(),
                        who,
                        event.organization.map(|id| id.to_string()).unwrap_or_default(),
                        event.details.target_id.clone().unwrap_or_default(),
                        event.origin.address.map(|address| address.to_string()).unwrap_or_default(),
                    );
                }
            }
        }
    }
    Ok(())
}
