//! The floor of `bench/run`: the same runtime and HTTP stack as Gatehouse (tokio multi-thread, hyper through
//! axum 0.8), answering every `GET /` with 200 and a small JSON body and doing nothing else. No system on
//! this machine can answer an HTTP request much faster, so Gatehouse's rows are quoted as ratios to it.
//!
//! Usage: `gatehouse-bench-floor 127.0.0.1:PORT`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The same allocator as Gatehouse, so that the floor is what this stack can do at its best.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BODY: &str = r#"{"authorization":{"authUsed":"token","scope":["user:read"]}}"#;

async fn answer() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], BODY)
}

fn main() -> std::io::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18080".to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        eprintln!("floor listening on http://{}", listener.local_addr()?);
        let app = Router::new().route("/", get(answer)).route("/health", get(answer));
        axum::serve(listener, app).await
    })
}
