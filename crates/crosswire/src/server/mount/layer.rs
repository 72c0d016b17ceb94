//! The tower layer of mounted mode: the [`ServerHandle`] in every request
//! under it, and the event-stream checks `App` makes around its HTTP routes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use axum::response::Response;
use http::Request;
use tower::{Layer, Service};

use super::endpoint::UNKNOWN_REMOTE;
use crate::server::service::{
    Routes, accepts_event_stream, draining_refusal, is_event_stream, refuse_event_stream,
};

#[cfg(doc)]
use crate::ServerHandle;

/// Gives the routes under it the [`ServerHandle`] extractor and event
/// streams their settings and topics; made by
/// [`Crosswire::layer`](crate::Crosswire::layer).
#[derive(Clone)]
#[must_use]
pub struct CrosswireLayer {
    routes: Arc<Routes>,
}

impl CrosswireLayer {
    pub(super) fn new(routes: Arc<Routes>) -> Self {
        Self { routes }
    }
}

impl<S> Layer<S> for CrosswireLayer {
    type Service = CrosswireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CrosswireService {
            inner,
            routes: Arc::clone(&self.routes),
        }
    }
}

/// The service [`CrosswireLayer`] wraps around the app's routes.
#[derive(Clone)]
pub struct CrosswireService<S> {
    inner: S,
    routes: Arc<Routes>,
}

impl<S, B> Service<Request<B>> for CrosswireService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The service polled ready is the one that must be called.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let routes = Arc::clone(&self.routes);
        Box::pin(async move {
            let wants_stream = accepts_event_stream(request.headers());
            let draining = routes.shared.is_shutting_down();
            if draining && wants_stream {
                return Ok(draining_refusal());
            }
            // `[sse] allowed_origins`: refused before the handler when the
            // request asks for an event stream, and after it when the
            // handler answered with one anyway, as under `App`.
            let foreign = match &routes.sse_origins {
                Some(policy) => policy.check(request.headers(), request.uri()).err(),
                None => None,
            };
            let remote = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(UNKNOWN_REMOTE, |info| info.0);
            if let Some(refused) = &foreign
                && wants_stream
            {
                return Ok(refuse_event_stream(
                    refused,
                    remote,
                    request.uri().path(),
                    &routes.sse_origin_refusals,
                ));
            }
            let path = foreign.is_some().then(|| request.uri().path().to_owned());
            request.extensions_mut().insert(routes.handle.clone());
            let response = inner.call(request).await?;
            if !is_event_stream(response.headers()) {
                return Ok(response);
            }
            if draining || routes.shared.is_shutting_down() {
                // Started while the server began to drain: it would end at once.
                return Ok(draining_refusal());
            }
            match (&foreign, path) {
                (Some(refused), Some(path)) => Ok(refuse_event_stream(
                    refused,
                    remote,
                    &path,
                    &routes.sse_origin_refusals,
                )),
                _ => Ok(response),
            }
        })
    }
}

impl std::fmt::Debug for CrosswireLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrosswireLayer").finish_non_exhaustive()
    }
}

impl<S> std::fmt::Debug for CrosswireService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrosswireService").finish_non_exhaustive()
    }
}
