//! `gwe-hub serve`: one command, nothing else to install.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::{HubConfig, TlsFiles};
use crate::server::Hub;

/// Options of `gwe-hub serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Data directory (created if missing): SQLite database, content blobs, operator token.
    #[arg(long, env = "GWE_HUB_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port; the URL is printed).
    #[arg(long, default_value = super::DEFAULT_LISTEN)]
    pub listen: String,
    /// TLS certificate chain (PEM); serves https with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Product created at first start and used by calls that name none.
    #[arg(long, default_value = "default")]
    pub default_product: String,
    /// Points kept per alias.
    #[arg(long, default_value_t = 100)]
    pub history: u32,
    /// Drop device writes to aliases no spec defined (Murano's behaviour) instead of creating them.
    #[arg(long)]
    pub strict_aliases: bool,
    /// Largest content upload, in bytes.
    #[arg(long, default_value_t = 1 << 30)]
    pub max_content_bytes: u64,
}

/// Opens the data directory, prints the URL (and the operator token when new), serves until
/// SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    match crate::limits::raise_fd_limit() {
        Ok(n) => tracing::debug!(limit = n, "file descriptor limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the file descriptor limit"),
    }
    let mut config = HubConfig::new(&args.data_dir);
    config.default_product = args.default_product;
    config.history_limit = args.history;
    config.create_aliases = !args.strict_aliases;
    config.max_content_bytes = args.max_content_bytes;
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(TlsFiles { cert, key });
    }
    let token_path = config.operator_token_path();
    let hub = Hub::open(config).await?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr().context("listener address")?;
    let scheme = if hub.is_tls() { "https" } else { "http" };
    {
        let mut out = std::io::stdout().lock();
        if hub.token_created() {
            writeln!(
                out,
                "operator token (shown once; stored in {}): {}",
                token_path.display(),
                hub.operator_token()
            )?;
        }
        writeln!(out, "gwe-hub listening on {scheme}://{addr}")?;
        out.flush()?;
    }
    hub.run(listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {},
                _ = i.recv() => {},
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
