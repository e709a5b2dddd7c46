//! Where the engine learns about the hosted apps: the supervisor's XML-RPC interface, through
//! `gwe-supervisor-client` (a synchronous client, so calls run on the blocking pool).

use std::time::Duration;

use crate::reports::engine_report::SupervisorSnapshot;

/// A source of supervisor snapshots.
pub trait SupervisorSource: Send + Sync {
    /// The supervisor's state and every process; errors are carried inside the snapshot.
    fn snapshot(&self) -> SupervisorSnapshot;
}

/// The real supervisor at an XML-RPC URL (`unix:///tmp/supervisord.sock`, `http://...`).
#[derive(Debug, Clone)]
pub struct XmlRpcSupervisor {
    url: String,
}

impl XmlRpcSupervisor {
    /// A source asking the supervisor at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into() }
    }
}

impl SupervisorSource for XmlRpcSupervisor {
    fn snapshot(&self) -> SupervisorSnapshot {
        let result = (|| {
            let mut client = gwe_supervisor_client::Client::new(&self.url)?
                .with_connect_timeout(Duration::from_secs(5))
                .with_timeout(Some(Duration::from_secs(10)));
            let state = client.get_state()?;
            let processes = client.get_all_process_info()?;
            Ok::<_, gwe_supervisor_client::ClientError>((state.statename, processes))
        })();
        match result {
            Ok((state, processes)) => SupervisorSnapshot {
                state: Some(state),
                processes,
                error: None,
            },
            Err(e) => SupervisorSnapshot {
                state: None,
                processes: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }
}
