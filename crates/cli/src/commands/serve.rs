//! `serve`: bind, print the first-start credentials once, serve until signalled.

use std::time::Duration;

use gatehouse_app::Settings;
use gatehouse_app::keys::KeyProtection;

use super::context::{CliError, CliResult, Context, Serving};
use crate::args::{Global, ServeArgs};
use crate::config::{self, FileConfig, ListenAddress};
use crate::server;

pub async fn serve(global: &Global, args: ServeArgs) -> CliResult {
    // Everything is read and checked before anything is written: a bad value must not leave a new store,
    // and a first-start password printed once, behind a start that then fails.
    let file = FileConfig::load(global.config.as_deref())?;
    let listen = config::resolve_listen(args.listen, &file)?;
    let chosen_issuer = args.issuer.or_else(|| file.issuer.clone());
    config::check_public_listen(&listen, chosen_issuer.is_some())?;
    config::resolve_issuer(chosen_issuer.clone(), listen.default_issuer(listen.addr.port()))?;
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
    let mail = config::resolve_mail(args.smtp_url, args.mail_from, &file)?;
    let key_protection = config::resolve_key_protection(global.secrets_key_file.as_deref(), global.insecure_dev_keys, &file)?;
    if matches!(key_protection, KeyProtection::Missing) {
        return Err(CliError(server::MISSING_SECRETS_KEY.to_string()));
    }
    let cadence = server::Cadence {
        flush_every: Duration::from_secs(file.last_used_flush_secs.unwrap_or(5).max(1)),
        revocation_poll: Duration::from_millis(file.revocation_poll_ms.unwrap_or(250).clamp(10, 60_000)),
    };

    let listener = tokio::net::TcpListener::bind(listen.addr).await.map_err(|error| cannot_listen(&listen, &error))?;
    let bound = listener.local_addr()?;
    // The default issuer is where we really listen: with port 0 that is known only now, and OAuth clients
    // compare the discovered issuer with the URL they used byte for byte. The zone defaults to its host,
    // so it is never recorded as `…:0`, and only once the address is ours.
    let issuer = config::resolve_issuer(chosen_issuer, listen.default_issuer(bound.port()))?;
    let serving = Serving { default_zone: config::host_of(&issuer), change_zone: args.change_zone };
    let mut settings = Settings::new(String::new(), issuer);
    settings.oauth = oauth;
    settings.limits = limits;
    settings.key_protection = key_protection;
    settings.mail = mail;
    let context = Context::open(global, Some(serving), Some(settings)).await?;

    if let Some(first) = context.app.first_start().await? {
        if context.json {
            println!("{}", serde_json::to_string(&first)?);
        } else {
            println!("Gatehouse first start: an administrator was created. These are shown once; keep them now.");
            println!("  email:     {}", first.email);
            println!("  password:  {}", first.password);
            println!("  API token: {}", first.token);
            println!("Sign in at {}/ with this email and password to manage tokens in the browser,", context.app.settings.issuer);
            println!("or try: curl -H \"Authorization: Token {}\" {}/api/v2/users/me", first.token, context.app.settings.issuer);
        }
    }

    let zone = context.app.settings.zone.clone();
    let backend = context.app.store.backend();
    let rate_limits = if context.app.settings.limits.redis_url.is_some() { "shared through Redis" } else { "counted on this node" };
    tracing::info!(rate_limits, "rate limits");
    match &context.app.settings.mail.smtp_url {
        Some(url) => tracing::info!(smtp = %gatehouse_store::redact_url(url), "email goes out through SMTP"),
        None => tracing::info!("email: none configured (--smtp-url), so no password reset by email"),
    }
    let mut running = server::start(listener, gatehouse_http::AppState::new(context.app).with_trusted_proxies(trusted_proxies).with_policy(policy).with_edge_limits(edge), cadence).await?;
    running.serve_metrics(args.metrics_listen.as_deref().or(file.metrics_listen.as_deref())).await?;
    tracing::info!(addr = %running.addr, zone = %zone, backend, "gatehouse listening on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

fn cannot_listen(listen: &ListenAddress, error: &std::io::Error) -> CliError {
    let hint = match error.kind() {
        std::io::ErrorKind::AddrInUse => "another process listens there: stop it, or pick another port with --listen HOST:PORT",
        std::io::ErrorKind::PermissionDenied => "ports below 1024 need privileges: pick a port from 1024 up, or run behind a proxy",
        std::io::ErrorKind::AddrNotAvailable => "no interface of this machine has that address: use 127.0.0.1, localhost or 0.0.0.0",
        _ => "check the address (HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080)",
    };
    CliError(format!("cannot listen on {listen} ({}): {error}; {hint}", listen.addr))
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
