//! A real gwe-hub served in the test's own process on 127.0.0.1, for the tests that run the
//! `gwe` binary against it.
#![allow(dead_code)] // Not every test stops its hub before the end.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// The hub's runtime (one worker, so the test thread can `block_on` its own requests), its
/// address, and what stops it. It serves until [`LocalHub::stop`] or the end of the test.
pub struct LocalHub {
    pub rt: tokio::runtime::Runtime,
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl LocalHub {
    /// A hub with its data in `dir`, answering operator calls with `operator_token`.
    pub fn start(dir: &Path, operator_token: &str) -> LocalHub {
        Self::start_with(dir, operator_token, None)
    }

    /// The same, serving https with `tls` (certificate chain and key).
    pub fn start_tls(dir: &Path, operator_token: &str, tls: gwe_hub::TlsFiles) -> LocalHub {
        Self::start_with(dir, operator_token, Some(tls))
    }

    fn start_with(dir: &Path, operator_token: &str, tls: Option<gwe_hub::TlsFiles>) -> LocalHub {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = gwe_hub::HubConfig::new(dir);
        config.operator_token = Some(operator_token.into());
        config.tls = tls;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(gwe_hub::serve(listener, config, async {
            let _ = stopped.await;
        }));
        LocalHub {
            rt,
            addr,
            stop,
            task,
        }
    }

    /// Shuts the hub down and waits (up to 20 s) for it to finish, so that nothing answers at
    /// `addr` any more (a test of `gwe` without its server) and no request is cut off.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let task = self.task;
        self.rt.block_on(async {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        });
    }
}
