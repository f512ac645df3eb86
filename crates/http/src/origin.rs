//! Where each request comes from, for the audit log: the client's address (through trusted proxies only,
//! see `client_address`) and the request's id, set as the use cases' task-local origin while the request
//! is handled (`gatehouse_app::audit::with_origin`; the reasons for a task-local are written there).
//!
//! A tower layer rather than axum middleware: its future is the task-local future itself, so it costs no
//! allocation per request.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use axum::http::Request;
use gatehouse_app::audit::with_origin;
use gatehouse_domain::AuditOrigin;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

use crate::client_address::{TrustedProxies, client_address};

#[derive(Clone)]
pub struct OriginLayer {
    trusted: Arc<TrustedProxies>,
}

impl OriginLayer {
    pub fn new(trusted: Arc<TrustedProxies>) -> Self {
        Self { trusted }
    }
}

impl<S> Layer<S> for OriginLayer {
    type Service = OriginService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OriginService { inner, trusted: self.trusted.clone() }
    }
}

#[derive(Clone)]
pub struct OriginService<S> {
    inner: S,
    trusted: Arc<TrustedProxies>,
}

/// The origin of a request: no address when the connection's peer is unknown (a test calling the router
/// directly).
pub fn origin_of<B>(request: &Request<B>, trusted: &TrustedProxies) -> AuditOrigin {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
    let address = peer.map(|peer| client_address(peer, request.headers(), trusted));
    // The id the request log settled on (the client's if sane, else the node's own): that layer runs outside
    // this one. Never the raw header, which nothing has checked.
    let request_id = request.extensions().get::<crate::request_id::RequestId>().and_then(|crate::request_id::RequestId(id)| id.to_str().ok());
    AuditOrigin::new(address, request_id)
}

impl<S, B> Service<Request<B>> for OriginService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<AuditOrigin, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let origin = origin_of(&request, &self.trusted);
        with_origin(origin, self.inner.call(request))
    }
}
