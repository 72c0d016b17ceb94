//! The tasks a server runs beside its connections: the keep-alive sweep, the
//! send-queue budget's pass, the memory return and, with `[metrics] listen`,
//! the metrics' own listener.
//!
//! `App`'s server and a mounted [`Crosswire`](crate::Crosswire) start the
//! same set; they hold the shared state, so they end with their owner
//! (aborted on drop), never outlive it.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use super::service::Routes;

/// Running background tasks, aborted when dropped.
#[derive(Debug, Default)]
pub(crate) struct Background(Vec<AbortHandle>);

impl Background {
    /// Starts the keep-alive sweep, the budget pass and the memory return.
    pub(crate) fn start(routes: &Arc<Routes>) -> Self {
        Self(vec![
            tokio::spawn(crate::ws::keepalive::run(Arc::clone(&routes.shared))).abort_handle(),
            tokio::spawn(crate::ws::queue_budget::run(Arc::clone(&routes.shared))).abort_handle(),
            tokio::spawn(super::memory::run(Arc::clone(&routes.tracker))).abort_handle(),
        ])
    }

    /// Serves the metrics at `path` on `listener` (`[metrics] listen`), as
    /// one more task of the set.
    pub(crate) fn serve_metrics(
        &mut self,
        routes: &Arc<Routes>,
        listener: TcpListener,
        path: String,
        header_read_timeout: Duration,
    ) {
        let scraped = Arc::clone(routes);
        let render: crate::metrics::Render =
            Arc::new(move || Some(super::metered::render(&scraped)));
        let serve = crate::metrics::serve_own_address(listener, path, render, header_read_timeout);
        self.0.push(tokio::spawn(serve).abort_handle());
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
