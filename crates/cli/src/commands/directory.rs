//! `user`, `org`, `team` and `member`: the directory, as the operator sees it. Plain output is one
//! tab-separated line per item; `--json` prints JSON on stdout; messages for people go to stderr.

use std::future::Future;
use std::io::IsTerminal;

use gatehouse_app::directory::OrganizationRequest;
use gatehouse_domain::{OrgRole, OrganizationId, Page, SortDir, SortKey, TeamId, TeamRole, User};
use serde_json::{Value, json};

use super::context::{CliError, CliResult, Context};
use super::password::read_new_password;
use crate::args::{Global, Listing, MemberCommand, OrgCommand, TeamCommand, UserCommand};

pub async fn user(global: &Global, command: UserCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        UserCommand::Create { email, name, admin } => {
            let password = read_new_password(&email)?;
            let user = context.app.create_user(&name, &email, password, admin).await?;
            context.print_id("id", user.id.0);
        }
        UserCommand::List(listing) => {
            let users = listed(&listing, |page| context.app.list_users(page)).await?;
            if context.json {
                println!("{}", Value::Array(users.iter().map(user_json).collect()));
            } else {
                for user in &users {
                    let role = if user.is_admin { "administrator" } else { "-" };
                    println!("{}\t{}\t{}\t{role}\t{}", user.id.0, user.email.as_str(), user.name, user.created.to_iso());
                }
            }
        }
        UserCommand::Delete { email } => {
            let user = context.user(&email).await?;
            context.app.delete_user(user.id, None).await?;
            context.print_id("id", user.id.0);
        }
        UserCommand::ResetPassword { email, generate } => {
            let user = context.user(&email).await?;
            let password = if generate {
                context.app.generate_password()
            } else {
                read_new_password(user.email.as_str())?
                    .ok_or_else(|| CliError(format!("the new password for {} is empty; nothing was changed", user.email.as_str())))?
            };
            context.app.reset_password(user.id, password.clone()).await?;
            eprintln!("The password of {} was reset; their browser sessions are signed out.", user.email.as_str());
            // A generated password is printed this once; a chosen one never is.
            match (context.json, generate) {
                (true, true) => println!("{}", json!({ "id": user.id.0, "password": password })),
                (true, false) => println!("{}", json!({ "id": user.id.0 })),
                (false, true) => println!("{password}"),
                (false, false) => println!("{}", user.id.0),
            }
        }
        UserCommand::SetAdmin { email, revoke } => {
            let user = context.user(&email).await?;
            context.app.set_platform_admin(user.id, !revoke).await?;
            let now = if revoke { "no longer a platform administrator" } else { "a platform administrator" };
            eprintln!("{} is {now}.", user.email.as_str());
            if context.json {
                println!("{}", json!({ "id": user.id.0, "administrator": !revoke }));
            } else {
                println!("{}", user.id.0);
            }
        }
        UserCommand::Unlock { email } => {
            // Looked up first, so that a mistyped email is named rather than unlocked.
            let user = context.user(&email).await?;
            context.app.unlock_user(user.email.as_str()).await?;
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
        OrgCommand::List(listing) => {
            let orgs = listed(&listing, |page| context.app.organization_overviews(page)).await?;
            if context.json {
                let listed = orgs.iter().map(|overview| {
                    let org = &overview.organization;
                    json!({
                        "id": org.id.0,
                        "name": org.name,
                        "owners": overview.owners.iter().map(|email| email.as_str()).collect::<Vec<_>>(),
                        "memberCount": overview.member_count,
                        "apiLimit": org.api_limit,
                        "created": org.created.to_iso(),
                    })
                });
                println!("{}", Value::Array(listed.collect()));
            } else {
                for overview in &orgs {
                    let org = &overview.organization;
                    let owners = overview.owners.iter().map(|email| email.as_str()).collect::<Vec<_>>().join(",");
                    println!("{}\t{}\t{owners}\t{}", org.id.0, org.name, overview.member_count);
                }
            }
        }
        OrgCommand::SetLimit { org, api_limit } => {
            let org = context.app.set_api_limit(OrganizationId(org), api_limit).await?;
            context.print_id("id", org.id.0);
        }
        OrgCommand::Delete { org, yes } => {
            let org = context.app.organization_by_id(OrganizationId(org)).await?;
            let teams = context.app.teams_in(org.id, Page::default()).await?.len();
            let members = context.app.organization_members(org.id, Page::default()).await?.len();
            confirm(&format!("Delete organization {} \"{}\" with its {teams} teams and {members} members?", org.id, org.name), yes)?;
            context.app.delete_organization_by_operator(org.id).await?;
            eprintln!("Organization {} \"{}\" was deleted.", org.id, org.name);
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
        TeamCommand::List { org, listing } => {
            let teams = listed(&listing, |page| context.app.teams_in(OrganizationId(org), page)).await?;
            if context.json {
                let listed = teams.iter().map(|team| {
                    json!({ "id": team.id.0, "name": team.name, "organizationId": team.organization_id.0, "created": team.created.to_iso() })
                });
                println!("{}", Value::Array(listed.collect()));
            } else {
                for team in &teams {
                    println!("{}\t{}", team.id.0, team.name);
                }
            }
        }
        TeamCommand::Delete { team, yes } => {
            let team = context.app.team_by_id(TeamId(team)).await?;
            let members = context.app.team_members(team.id, Page::default()).await?.len();
            confirm(&format!("Delete team {} \"{}\" with its {members} members?", team.id, team.name), yes)?;
            context.app.delete_team_by_operator(team.id).await?;
            eprintln!("Team {} \"{}\" was deleted.", team.id, team.name);
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
                // A team role; the default `member` is Make's Team Member.
                context.app.add_team_member_as(TeamId(team), user.id, TeamRole::parse(&role)?).await?;
            } else if let Some(org) = org {
                context.app.set_organization_role(OrganizationId(org), user.id, OrgRole::parse(&role)?).await?;
            } else {
                return Err(CliError("name an organization (--org) or a team (--team)".into()));
            }
            if context.json {
                println!("{}", json!({ "userId": user.id.0 }));
            }
        }
        MemberCommand::Remove { org, team, user } => {
            let user = context.user(&user).await?;
            match (org, team) {
                (_, Some(team)) => {
                    context.app.remove_team_member(TeamId(team), &user).await?;
                    eprintln!("{} was removed from team {team}.", user.email.as_str());
                }
                (Some(org), None) => {
                    context.app.remove_organization_member(OrganizationId(org), &user).await?;
                    eprintln!("{} was removed from organization {org} and its teams.", user.email.as_str());
                }
                (None, None) => return Err(CliError("name an organization (--org) or a team (--team)".into())),
            }
            if context.json {
                println!("{}", json!({ "userId": user.id.0 }));
            }
        }
        MemberCommand::List { org, team, listing } => match (org, team) {
            (_, Some(team)) => {
                let users = listed(&listing, |page| context.app.team_members(TeamId(team), page)).await?;
                if context.json {
                    println!("{}", Value::Array(users.iter().map(member_json).collect()));
                } else {
                    for user in &users {
                        println!("{}\t{}\t{}", user.id.0, user.email.as_str(), user.name);
                    }
                }
            }
            (Some(org), None) => {
                let members = listed(&listing, |page| context.app.organization_members(OrganizationId(org), page)).await?;
                if context.json {
                    let listed = members.iter().map(|member| {
                        let mut entry = member_json(&member.user);
                        entry["role"] = Value::from(member.role.as_str());
                        entry
                    });
                    println!("{}", Value::Array(listed.collect()));
                } else {
                    for member in &members {
                        let user = &member.user;
                        println!("{}\t{}\t{}\t{}", user.id.0, user.email.as_str(), user.name, member.role.as_str());
                    }
                }
            }
            (None, None) => return Err(CliError("name an organization (--org) or a team (--team)".into())),
        },
    }
    Ok(())
}

fn user_json(user: &User) -> Value {
    json!({
        "id": user.id.0,
        "email": user.email.as_str(),
        "name": user.name,
        "administrator": user.is_admin,
        "created": user.created.to_iso(),
    })
}

fn member_json(user: &User) -> Value {
    json!({ "userId": user.id.0, "email": user.email.as_str(), "name": user.name })
}

/// What a listing asks for, oldest first: the page it names, or every item, a store page at a time.
async fn listed<T, F, Fut, E>(listing: &Listing, mut fetch: F) -> Result<Vec<T>, CliError>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Result<Vec<T>, E>>,
    CliError: From<E>,
{
    let mut page = Page { limit: Page::MAX_LIMIT, offset: listing.offset, sort_by: SortKey::Id, sort_dir: SortDir::Asc };
    let mut wanted = listing.limit.map_or(usize::MAX, |limit| limit as usize);
    let mut items = Vec::new();
    while wanted > 0 {
        page.limit = Page::MAX_LIMIT.min(u32::try_from(wanted).unwrap_or(u32::MAX));
        let batch = fetch(page).await?;
        let full = batch.len() == page.limit as usize;
        wanted -= batch.len();
        page.offset = page.offset.saturating_add(page.limit);
        items.extend(batch);
        if !full {
            break;
        }
    }
    Ok(items)
}

/// A destructive command asks at a terminal; from a script it needs `--yes`, so that nothing piped into
/// it can answer for the operator.
fn confirm(question: &str, yes: bool) -> CliResult {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError(format!("{question} Standard input is not a terminal: add --yes to confirm.")));
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError("nothing was deleted".into()))
    }
}
