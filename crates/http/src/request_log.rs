//! One log line per request, and the request metrics, from one layer that wraps every route and fallback:
//! `/api/v2`, `/oauth/v2`, the pages, forward-auth, `/health` and the 404s alike.
//!
//! The line names the route's template, never the path or the query (which may hold a code, a state or an
//! email), and no header but the request id: credentials and cookies never reach it. It is written at
//! `info` with the target `gatehouse::request`, so `GATEHOUSE_LOG=info,gatehouse::request=off` silences
//! it alone; when it is filtered out, the client address is not even worked out.
//!
//! The route's template is known only once a router has matched it. OAuth's routes are matched by the
//! outer router, before this layer runs; the API's are matched inside the fallback, so this layer leaves a
//! slot in the request and [`RecordRoute`], on the API's router, fills it.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use tower::{Layer, Service};

use crate::client_address::{TrustedProxies, client_address};
use crate::metrics::{Metrics, Route};
use crate::request_id::{self, RequestIds};
use crate::state::AppState;

pub const TARGET: &str = "gatehouse::request";

/// Where an inner router writes the template of the route it matched.
#[derive(Debug, Clone, Default)]
pub struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// The outer layer: request id, metrics, log line.
#[derive(Clone)]
pub struct RequestLogLayer(Arc<Observer>);

struct Observer {
    metrics: Arc<Metrics>,
    ids: Arc<RequestIds>,
    trusted_proxies: Arc<TrustedProxies>,
}

impl RequestLogLayer {
    pub fn new(state: &AppState) -> Self {
        Self(Arc::new(Observer {
            metrics: state.metrics.clone(),
            ids: state.request_ids.clone(),
            trusted_proxies: state.trusted_proxies.clone(),
        }))
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLog { inner, observer: self.0.clone() }
    }
}

#[derive(Clone)]
pub struct RequestLog<S> {
    inner: S,
    observer: Arc<Observer>,
}

impl<S> Service<Request> for RequestLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // Latency is not a rule of the domain: a monotonic clock, not the injected one.
        let started = tokio::time::Instant::now();
        let observer = self.observer.clone();
        let id = observer.ids.for_request(request.headers());
        let method = request.method().clone();
        let matched = request.extensions().get::<MatchedPath>().cloned();
        let slot = match matched {
            Some(_) => None,
            None => {
                let slot = RouteSlot::default();
                request.extensions_mut().insert(slot.clone());
                Some(slot)
            }
        };
        let client = if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| {
                client_address(peer.ip(), request.headers(), &observer.trusted_proxies)
            })
        } else {
            None
        };
        request.extensions_mut().insert(id.clone());
        let served = self.inner.call(request);
        Box::pin(async move {
            let Ok(mut response) = served.await;
            let elapsed = started.elapsed();
            let route = match (matched, slot) {
                (Some(matched), _) => Route::Matched(matched),
                (None, Some(slot)) => slot.0.get().cloned().map_or(Route::Unmatched, Route::Matched),
                (None, None) => Route::Unmatched,
            };
            let status = response.status();
            observer.metrics.request(&route, &method, status, elapsed);
            response.headers_mut().insert(request_id::HEADER, id.0.clone());
            tracing::info!(
                target: TARGET,
                method = %method,
                route = %route.as_str(),
                status = status.as_u16(),
                latency_ms = (elapsed.as_micros() as f64) / 1000.0,
                request_id = %id.as_str(),
                client = client.map(tracing::field::display),
                "request"
            );
            Ok(response)
        })
    }
}

/// On an inner router: tells the outer layer which route matched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordRoute;

impl<S> Layer<S> for RecordRoute {
    type Service = RecordRouteService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RecordRouteService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct RecordRouteService<S> {
    inner: S,
}

impl<S: Service<Request>> Service<Request> for RecordRouteService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let extensions = request.extensions();
        if let (Some(slot), Some(matched)) = (extensions.get::<RouteSlot>(), extensions.get::<MatchedPath>()) {
            let _ = slot.0.set(matched.clone());
        }
        self.inner.call(request)
    }
}
