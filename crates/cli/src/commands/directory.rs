//! `user`, `org`, `team` and `member`: the directory, as the operator sees it.

use std::io::Read;

use gatehouse_app::directory::OrganizationRequest;
use gatehouse_domain::{OrgRole, OrganizationId, TeamId, password};
use serde_json::json;

use super::context::{CliError, CliResult, Context};
use crate::args::{Global, MemberCommand, OrgCommand, TeamCommand, UserCommand};

pub async fn user(global: &Global, command: UserCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        UserCommand::Create { email, name, admin } => {
            let mut password = String::new();
            std::io::stdin().take(password::MAX_BYTES as u64 + 2).read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let password = (!password.is_empty()).then_some(password);
            let user = context.app.create_user(&name, &email, password, admin).await?;
            context.print_id("id", user.id.0);
        }
        UserCommand::Delete { email } => {
            let user = context.user(&email).await?;
            context.app.delete_user(user.id, None).await?;
            context.print_id("id", user.id.0);
        }
        UserCommand::Unlock { email } => {
            context.app.unlock_user(&email).await?;
            let user = context.user(&email).await?;
            context.print_id("id", user.id.0);
        }
    }
    Ok(())
}

pub async fn org(global: &Global, command: OrgCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        OrgCommand::Create { name, owner, api_limit } => {
            let owner = context.user(&owner).await?;
            let request = OrganizationRequest { name, api_limit: Some(api_limit), ..Default::default() };
            let org = context.app.create_organization_for(owner.id, request).await?;
            context.print_id("id", org.id.0);
        }
        OrgCommand::SetLimit { org, api_limit } => {
            let org = context.app.set_api_limit(OrganizationId(org), api_limit).await?;
            context.print_id("id", org.id.0);
        }
    }
    Ok(())
}

pub async fn team(global: &Global, command: TeamCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        TeamCommand::Create { org, name } => {
            let team = context.app.create_team_in(OrganizationId(org), &name).await?;
            context.print_id("id", team.id.0);
        }
    }
    Ok(())
}

pub async fn member(global: &Global, command: MemberCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        MemberCommand::Add { org, team, user, role } => {
            let user = context.user(&user).await?;
            if let Some(team) = team {
                context.app.add_team_member(TeamId(team), user.id).await?;
            } else if let Some(org) = org {
                context.app.set_organization_role(OrganizationId(org), user.id, OrgRole::parse(&role)?).await?;
            } else {
                return Err(CliError("name an organization (--org) or a team (--team)".into()));
            }
            if context.json {
                println!("{}", json!({ "userId": user.id.0 }));
            }
        }
    }
    Ok(())
}
