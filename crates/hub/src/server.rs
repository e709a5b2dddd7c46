//! Starting and running a hub: open the data directory, then accept connections (plain or
//! TLS) and serve each with hyper's HTTP/1.1 server until shutdown.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::blobs::Blobs;
use crate::config::HubConfig;
use crate::notify::Notifier;
use crate::state::AppState;
use crate::store::{SqliteStore, Store, StoreError};

/// How often last-seen times go to the database.
const SEEN_FLUSH: Duration = Duration::from_secs(5);
/// How long open connections may finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why a hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory or a file in it could not be used.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The database could not be opened or prepared.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blob directory could not be prepared.
    #[error("content directory: {0}")]
    Blobs(String),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A hub whose data directory is open, ready to serve.
pub struct Hub {
    state: AppState,
    token_created: bool,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Hub {
    /// Creates the data directory (database, blobs, operator token) if needed and opens it.
    pub async fn open(config: HubConfig) -> Result<Hub, StartError> {
        let io_err = |what, path: &PathBuf| {
            let path = path.clone();
            move |source| StartError::Io { what, path, source }
        };
        std::fs::create_dir_all(&config.data_dir)
            .map_err(io_err("cannot create data directory", &config.data_dir))?;
        let store = SqliteStore::open(&config.db_path(), config.history_limit)?;
        store.ensure_product(config.default_product.clone()).await?;
        let products: HashSet<String> = store
            .list_products()
            .await?
            .into_iter()
            .map(|p| p.product_id)
            .collect();
        let blobs = Blobs::open(config.blob_dir()).map_err(|e| StartError::Blobs(e.to_string()))?;
        blobs.remove_orphans(&store.content_files().await?);
        let (operator_token, token_created) = match &config.operator_token {
            Some(t) => (t.clone(), false),
            None => crate::operator_token::load_or_create(&config.operator_token_path()).map_err(
                io_err("cannot use operator token", &config.operator_token_path()),
            )?,
        };
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::acceptor(files).map_err(StartError::Tls)?),
            None => None,
        };
        let state = AppState {
            store: Arc::new(store),
            notifier: Notifier::new(),
            config: Arc::new(config),
            blobs,
            tokens: Arc::new(RwLock::new(HashMap::new())),
            products: Arc::new(RwLock::new(products)),
            seen: Arc::new(Mutex::new(HashMap::new())),
            operator_token: operator_token.into(),
            shutdown: CancellationToken::new(),
        };
        Ok(Hub {
            state,
            token_created,
            tls,
        })
    }

    /// The operator bearer token.
    pub fn operator_token(&self) -> &str {
        &self.state.operator_token
    }

    /// True when this start created the operator token (print it once).
    pub fn token_created(&self) -> bool {
        self.token_created
    }

    /// Whether connections are served over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The shared state (for embedding and tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves connections from `listener` until `shutdown` completes, then lets open
    /// connections finish for a short grace period (long polls answer 304 at once).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let state = self.state;
        let app = crate::router::router(state.clone());
        let tracker = TaskTracker::new();
        let stop = state.shutdown.clone();
        let flusher = {
            let state = state.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(SEEN_FLUSH);
                loop {
                    tokio::select! {
                        _ = tick.tick() => state.flush_seen().await,
                        _ = stop.cancelled() => break,
                    }
                }
                state.flush_seen().await;
            })
        };
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and similar: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let app = app.clone();
            let stop = stop.clone();
            let tls = self.tls.clone();
            tracker.spawn(async move {
                let result = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => serve_conn(s, app, stop).await,
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                    None => serve_conn(stream, app, stop).await,
                };
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        stop.cancel();
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("connections still open after the grace period; closing them");
        }
        let _ = flusher.await;
        Ok(())
    }
}

async fn serve_conn<S>(stream: S, app: axum::Router, stop: CancellationToken) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    crate::http1::serve_connection(stream, app, stop).await
}

/// Opens the hub described by `config` and serves `listener` until `shutdown` completes.
/// This is what `gwe-hub serve`, tests and `gwe demo` run in-process.
pub async fn serve(
    listener: TcpListener,
    config: HubConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let hub = Hub::open(config).await?;
    hub.run(listener, shutdown).await?;
    Ok(())
}
