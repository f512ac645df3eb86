//! `client`: OAuth clients, as an administrator decides them.

use gatehouse_app::clients::{Approval, ClientRegistration};
use gatehouse_domain::oauth::{ClientStatus, OAuthClient, OpaqueSecret};
use gatehouse_http::api::views::client_view;
use serde_json::json;

use super::context::{CliResult, Context};
use crate::args::{ClientCommand, ClientSpec, Global};

fn registration(spec: &ClientSpec) -> ClientRegistration<'_> {
    ClientRegistration {
        name: &spec.name,
        description: &spec.description,
        client_type: &spec.client_type,
        redirect_uris: &spec.redirect_uris,
        scopes: &spec.scopes,
    }
}

fn print_credentials(context: &Context, client: &OAuthClient, secret: Option<&OpaqueSecret>) {
    let secret = secret.map(OpaqueSecret::reveal);
    if context.json {
        println!("{}", json!({ "client_id": client.id.as_str(), "client_secret": secret }));
    } else {
        println!("{}", client.id);
        if let Some(secret) = secret {
            println!("{secret}");
        }
    }
}

/// The client's id, or with `--json` its id and status.
fn print_status(context: &Context, client: &OAuthClient) {
    if context.json {
        println!("{}", json!({ "client_id": client.id.as_str(), "status": client.status.as_str() }));
    } else {
        println!("{}", client.id);
    }
}

pub async fn client(global: &Global, command: ClientCommand) -> CliResult {
    let context = Context::open(global, None, None).await?;
    match command {
        ClientCommand::Request(spec) => {
            let owner = context.user(&spec.owner).await?;
            let client = context.app.request_client(&gatehouse_app::Actor::operator(&owner), registration(&spec)).await?;
            print_status(&context, &client);
        }
        ClientCommand::Create { spec, allow_refresh } => {
            let owner = context.user(&spec.owner).await?;
            let (client, secret) = context.app.create_approved_client(owner.id, registration(&spec), allow_refresh).await?;
            print_credentials(&context, &client, secret.as_ref());
        }
        ClientCommand::Approve { client_id, scopes, allow_refresh } => {
            // The flag can only switch refresh tokens on; without it the client keeps what it asked for.
            let approval = Approval {
                scopes: (!scopes.is_empty()).then_some(scopes),
                allow_refresh: allow_refresh.then_some(true),
            };
            let (client, secret) = context.app.approve_client(&client_id, approval, None).await?;
            print_credentials(&context, &client, secret.as_ref());
        }
        ClientCommand::Reject { client_id } => {
            let client = context.app.reject_client(&client_id, None).await?;
            print_status(&context, &client);
        }
        ClientCommand::List { status } => {
            let status = status.as_deref().map(ClientStatus::parse).transpose()?;
            let clients = context.app.list_clients(status, None).await?;
            if context.json {
                let listed: Vec<_> = clients.iter().map(client_view).collect();
                println!("{}", json!({ "clients": listed }));
            } else {
                for client in &clients {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        client.id,
                        client.status.as_str(),
                        client.client_type.as_str(),
                        client.name,
                        client.scopes.to_space_delimited()
                    );
                }
            }
        }
        ClientCommand::Delete { client_id } => {
            let client = context.app.delete_client(&client_id, None).await?;
            if context.json {
                println!("{}", json!({ "client_id": client.id.as_str(), "deleted": true }));
            } else {
                println!("{}", client.id);
            }
        }
        ClientCommand::RotateSecret { client_id } => {
            let (client, secret) = context.app.rotate_client_secret(&client_id, None).await?;
            print_credentials(&context, &client, Some(&secret));
        }
    }
    Ok(())
}
