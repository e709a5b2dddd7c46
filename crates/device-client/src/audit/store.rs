//! The SQLite side of the audit log: schema, writer, pruning.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

use super::{AuditConfig, AuditRecord, PRUNE_EVERY};

/// Errors of the audit database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// SQLite refused something.
    #[error("audit database {}: {what}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The directory of the database could not be created.
    #[error("audit database {}: creating its directory: {source}", path.display())]
    Dir {
        /// The database file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    agent TEXT NOT NULL,
    pid INTEGER NOT NULL,
    procedure TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER,
    bytes_sent INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests(ts_ms);
";

const INSERT: &str = "INSERT INTO requests (ts_ms, agent, pid, procedure, method, path, status, \
     bytes_sent, bytes_received, duration_us, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

pub(crate) fn sql_err<'a>(
    path: &'a Path,
    what: &'static str,
) -> impl FnOnce(rusqlite::Error) -> AuditError + 'a {
    move |source| AuditError::Sqlite {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// Opens (creating if needed) a database for writing: WAL, busy timeout, schema.
pub(crate) fn open_rw(path: &Path, busy_timeout: Duration) -> Result<Connection, AuditError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Dir {
                path: path.to_path_buf(),
                source,
            })?;
        }
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sql_err(path, "opening"))?;
    conn.busy_timeout(busy_timeout)
        .map_err(sql_err(path, "setting busy_timeout"))?;
    // WAL lets readers and many writers' short transactions interleave; NORMAL
    // syncs at checkpoints only (a power cut may lose the last rows, never corrupt).
    let _mode: String = retry_busy(busy_timeout, || {
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
    })
    .map_err(sql_err(path, "enabling WAL"))?;
    retry_busy(busy_timeout, || {
        conn.pragma_update(None, "synchronous", "NORMAL")
    })
    .map_err(sql_err(path, "setting synchronous"))?;
    retry_busy(busy_timeout, || conn.execute_batch(SCHEMA))
        .map_err(sql_err(path, "creating the schema"))?;
    Ok(conn)
}

/// Runs `f` again while SQLite answers busy or locked, for up to `timeout`. Switching a
/// database to WAL while other processes create or open it answers "database is locked" at
/// once, without waiting in the busy handler: several `gdc` started together lost their rows.
fn retry_busy<T>(
    timeout: Duration,
    mut f: impl FnMut() -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            r => return r,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The writer thread's state: a lazily (re)opened connection.
pub(crate) struct Writer {
    config: AuditConfig,
    conn: Option<Connection>,
    since_prune: u64,
}

impl Writer {
    pub(crate) fn new(config: AuditConfig) -> Writer {
        Writer {
            config,
            conn: None,
            since_prune: PRUNE_EVERY,
        }
    }

    fn path(&self) -> &Path {
        self.config.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Writes a batch in one transaction. On error the connection is dropped and
    /// reopened on the next batch (the file may have been replaced or repaired).
    pub(crate) fn write(&mut self, batch: &[Box<AuditRecord>]) -> Result<(), AuditError> {
        let r = self.try_write(batch);
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    fn try_write(&mut self, batch: &[Box<AuditRecord>]) -> Result<(), AuditError> {
        if self.conn.is_none() {
            self.conn = Some(open_rw(self.path(), self.config.busy_timeout)?);
        }
        let path = self.path().to_path_buf();
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err(&path, "starting a transaction"))?;
        {
            let mut stmt = tx
                .prepare_cached(INSERT)
                .map_err(sql_err(&path, "preparing insert"))?;
            for r in batch {
                stmt.execute(params![
                    r.ts_ms,
                    r.agent,
                    r.pid,
                    r.procedure,
                    r.method,
                    r.path,
                    r.status,
                    r.bytes_sent as i64,
                    r.bytes_received as i64,
                    r.duration_us as i64,
                    r.error,
                ])
                .map_err(sql_err(&path, "inserting"))?;
            }
        }
        self.since_prune += batch.len() as u64;
        if self.since_prune >= PRUNE_EVERY {
            prune(&tx, self.config.max_rows, self.config.max_age)
                .map_err(sql_err(&path, "pruning"))?;
            self.since_prune = 0;
        }
        tx.commit().map_err(sql_err(&path, "committing"))
    }
}

/// Deletes rows beyond `max_rows` (by id) and older than `max_age` (by the time
/// index): both are index range deletes, cheap however big the table is.
pub(crate) fn prune(
    conn: &Connection,
    max_rows: u64,
    max_age: Duration,
) -> rusqlite::Result<usize> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let cutoff = now_ms - max_age.as_millis().min(i64::MAX as u128) as i64;
    let by_age = conn.execute("DELETE FROM requests WHERE ts_ms < ?1", [cutoff])?;
    let by_count = conn.execute(
        "DELETE FROM requests WHERE id <= (SELECT MAX(id) FROM requests) - ?1",
        [max_rows.min(i64::MAX as u64) as i64],
    )?;
    Ok(by_age + by_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection to a new rollback-journal database at `path`, inside a read transaction.
    fn reading(path: &Path) -> Connection {
        let c = Connection::open(path).unwrap();
        c.execute_batch("CREATE TABLE t(x); BEGIN;").unwrap();
        let _: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        c
    }

    /// Another process reads the database (a shared lock, rollback journal) while this one
    /// opens it: the switch to WAL waits for the reader instead of failing. (The race that
    /// answers "database is locked" at once, several processes creating the file together,
    /// is exercised by `concurrent_gdc_processes_all_audited` in tests/gdc.rs.)
    #[test]
    fn opening_waits_for_a_reader_of_the_database_to_finish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let other = reading(&path);
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            other.execute_batch("COMMIT").unwrap();
        });
        let conn = open_rw(&path, Duration::from_secs(5));
        releaser.join().unwrap();
        let conn = conn.expect("opened once the reader was done");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_reader_past_the_timeout_is_an_error_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let other = reading(&path);
        let e = open_rw(&path, Duration::from_millis(100)).expect_err("locked");
        assert!(e.to_string().contains("enabling WAL"), "{e}");
        assert!(e.to_string().contains("locked"), "{e}");
        drop(other);
    }
}
