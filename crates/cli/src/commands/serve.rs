//! `serve`: bind, print the first-start credentials once, serve until signalled.

use std::time::Duration;

use gatehouse_app::Settings;
use gatehouse_app::keys::KeyProtection;

use super::context::{CliError, CliResult, Context};
use crate::args::{Global, ServeArgs};
use crate::config::{self, FileConfig};
use crate::server;

pub async fn serve(global: &Global, args: ServeArgs) -> CliResult {
    let file = FileConfig::load(global.config.as_deref())?;
    let listen = config::resolve_listen(args.listen, &file)?;
    let default_zone = config::host_of(&config::resolve_issuer(args.issuer.clone(), &file, listen)?);
    let oauth = config::resolve_oauth(
        args.access_token_lifetime,
        args.refresh_grace,
        args.public_client_refresh_tokens,
        args.access_token_algorithm,
        &file,
    )?;
    let trusted_proxies = config::resolve_trusted_proxies(args.trusted_proxies, &file)?;
    let policy = config::resolve_policy(args.policy.as_deref(), &file)?;
    let limits = config::resolve_limits(args.redis_url, &file)?;
    let edge = config::resolve_edge(&file)?;
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|error| CliError(format!("cannot listen on {listen}: {error}")))?;
    let bound = listener.local_addr()?;
    // The default issuer is where we really listen: with port 0 that is known only now, and OAuth clients
    // compare the discovered issuer with the URL they used byte for byte.
    let issuer = config::resolve_issuer(args.issuer, &file, bound)?;
    let mut settings = Settings::new(String::new(), issuer);
    settings.oauth = oauth;
    settings.limits = limits;
    let context = Context::open(global, Some(&default_zone), Some(settings)).await?;
    if matches!(context.app.settings.key_protection, KeyProtection::Missing) {
        return Err(CliError(server::MISSING_SECRETS_KEY.to_string()));
    }

    if let Some(first) = context.app.first_start().await? {
        if context.json {
            println!("{}", serde_json::to_string(&first)?);
        } else {
            println!("Gatehouse first start: an administrator was created. These are shown once; keep them now.");
            println!("  email:     {}", first.email);
            println!("  password:  {}", first.password);
            println!("  API token: {}", first.token);
            println!("Try: curl -H \"Authorization: Token {}\" http://{bound}/api/v2/users/me", first.token);
        }
    }

    let cadence = server::Cadence {
        flush_every: Duration::from_secs(context.file.last_used_flush_secs.unwrap_or(5).max(1)),
        revocation_poll: Duration::from_millis(context.file.revocation_poll_ms.unwrap_or(250).clamp(10, 60_000)),
    };
    let zone = context.app.settings.zone.clone();
    let backend = context.app.store.backend();
    let rate_limits = if context.app.settings.limits.redis_url.is_some() { "shared through Redis" } else { "counted on this node" };
    tracing::info!(rate_limits, "rate limits");
    let mut running = server::start(listener, gatehouse_http::AppState::new(context.app).with_trusted_proxies(trusted_proxies).with_policy(policy).with_edge_limits(edge), cadence).await?;
    running.serve_metrics(args.metrics_listen.as_deref().or(file.metrics_listen.as_deref())).await?;
    tracing::info!(addr = %running.addr, zone = %zone, backend, "gatehouse listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
