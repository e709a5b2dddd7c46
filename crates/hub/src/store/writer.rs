//! The single writer thread: jobs from all requests are run one after another inside one
//! transaction per batch (group commit), each inside its own savepoint so a failing job
//! leaves nothing half-stored and does not spoil the others.

use std::collections::HashMap;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{StoreError, StoreResult};

/// Most jobs committed by one transaction; bounds the latency a big batch adds.
const MAX_BATCH: usize = 512;

/// What the writer knows about a resource: its id and how many points it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachedResource {
    /// Resource id.
    pub id: i64,
    /// Points stored (kept here instead of updating a counter row per point).
    pub count: i64,
}

/// Per-writer cache, `(device, alias) -> resource`; cleared whenever a job or batch fails,
/// since rolled-back rows may be in it.
pub(crate) type ResourceCache = HashMap<(i64, String), CachedResource>;

/// What the writer thread gives a job to work with.
pub(crate) struct WriterCtx<'a> {
    /// The connection, inside the batch transaction and the job's savepoint.
    pub conn: &'a Connection,
    /// Resource ids seen so far.
    pub resources: &'a mut ResourceCache,
}

type Completion = Box<dyn FnOnce(StoreResult<()>) + Send>;
type Job = Box<dyn FnOnce(&mut WriterCtx<'_>) -> Completion + Send>;

/// Handle to the writer thread; cloning shares the thread.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection) -> std::io::Result<Writer> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("gwe-hub-writer".into())
            .spawn(move || run(conn, rx))?;
        Ok(Writer { jobs: tx })
    }

    /// Queues `f` and returns its result once its batch is committed.
    pub async fn submit<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterCtx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |ctx| {
            let result = in_savepoint(ctx, f);
            Box::new(move |commit: StoreResult<()>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.jobs.send(job).map_err(|_| StoreError::WriterGone)?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { what, source }
}

/// Runs a statement without parameters through the statement cache.
fn exec(conn: &Connection, stmt: &str) -> StoreResult<()> {
    conn.prepare_cached(stmt)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(sql("handling a savepoint"))
}

fn in_savepoint<T>(
    ctx: &mut WriterCtx<'_>,
    f: impl FnOnce(&mut WriterCtx<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    exec(ctx.conn, "SAVEPOINT job")?;
    let result = f(ctx);
    if result.is_err() {
        // Resources cached by the failed job may have been rolled back.
        ctx.resources.clear();
        exec(ctx.conn, "ROLLBACK TO job")?;
    }
    exec(ctx.conn, "RELEASE job")?;
    result
}

fn run(mut conn: Connection, rx: mpsc::Receiver<Job>) {
    let mut cache = ResourceCache::new();
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut done: Vec<Completion> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = match conn.transaction() {
            Ok(tx) => {
                let mut ctx = WriterCtx {
                    conn: &tx,
                    resources: &mut cache,
                };
                for job in batch.drain(..) {
                    done.push(job(&mut ctx));
                }
                tx.commit().map_err(sql("committing a batch"))
            }
            Err(e) => {
                // Run nothing: every job of the batch gets the error.
                batch.clear();
                Err(sql("starting a batch")(e))
            }
        };
        match commit {
            Ok(()) => {
                for c in done.drain(..) {
                    c(Ok(()));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed");
                cache.clear();
                let message = e.to_string();
                for c in done.drain(..) {
                    c(Err(StoreError::Commit(message.clone())));
                }
            }
        }
    }
}
