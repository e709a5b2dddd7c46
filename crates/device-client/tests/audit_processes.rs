//! Several processes writing one audit database at once lose no rows.
//!
//! The test re-runs its own binary as child processes (`child_writer`, ignored when
//! run normally), each writing rows through the library's `AuditLog`.

use std::process::Command;
use std::time::Duration;

use gwe_device_client::audit::{AuditConfig, AuditDb, AuditLog, AuditRecord};

const CHILDREN: usize = 6;
const ROWS: usize = 300;

#[test]
#[ignore = "run as a child process by many_processes_lose_no_rows"]
fn child_writer() {
    let Ok(db) = std::env::var("AUDIT_CHILD_DB") else {
        return;
    };
    let agent = std::env::var("AUDIT_CHILD_AGENT").unwrap();
    let log = AuditLog::open(AuditConfig::at(&db));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..ROWS {
        log.record(AuditRecord {
            ts_ms: now_ms + i as i64,
            agent: agent.clone(),
            pid: std::process::id(),
            procedure: "write".into(),
            method: "POST".into(),
            path: "/onep:v1/stack/alias".into(),
            status: Some(204),
            bytes_sent: 100,
            bytes_received: 50,
            duration_us: 1000 + i as u64,
            error: None,
        });
        if i % 50 == 0 {
            // Interleave small bursts with other processes.
            std::thread::yield_now();
        }
    }
    assert!(log.flush(Duration::from_secs(30)), "flush timed out");
    let stats = log.stats();
    assert_eq!(
        stats.written.load(std::sync::atomic::Ordering::SeqCst),
        ROWS as u64,
        "failed: {:?}",
        stats
    );
}

#[test]
fn many_processes_lose_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|i| {
            Command::new(&exe)
                .args(["--exact", "child_writer", "--ignored", "--test-threads=1"])
                .env("AUDIT_CHILD_DB", &db)
                .env("AUDIT_CHILD_AGENT", format!("app{i}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child writer failed: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let reader = AuditDb::open(&db).unwrap();
    assert_eq!(reader.count().unwrap(), (CHILDREN * ROWS) as u64);
    let usage = reader.usage(Duration::from_secs(3600)).unwrap();
    assert_eq!(usage.agents.len(), CHILDREN);
    for a in usage.agents.values() {
        assert_eq!(a.total.requests, ROWS as u64);
        assert_eq!(a.total.bytes_sent, 100 * ROWS as u64);
    }
}

#[test]
fn pruning_bounds_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ifaces.db");
    let config = AuditConfig {
        max_rows: 100,
        ..AuditConfig::at(&db)
    };
    let log = AuditLog::open(config);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for i in 0..1000 {
        // Half of them older than the 31-day age limit.
        let ts_ms = if i % 2 == 0 {
            now_ms - 40 * 86_400_000
        } else {
            now_ms
        };
        log.record(AuditRecord {
            ts_ms,
            agent: "a".into(),
            pid: 1,
            procedure: "read".into(),
            method: "GET".into(),
            path: "/".into(),
            status: Some(200),
            bytes_sent: 1,
            bytes_received: 1,
            duration_us: 1,
            error: None,
        });
        if i % 200 == 199 {
            assert!(log.flush(Duration::from_secs(10)));
        }
    }
    assert!(log.flush(Duration::from_secs(10)));
    let n = AuditDb::open(&db).unwrap().count().unwrap();
    assert!(
        n <= 100 + gwe_device_client::audit::PRUNE_EVERY,
        "table not bounded: {n} rows"
    );
    let rows = AuditDb::open(&db).unwrap().recent(1000).unwrap();
    // 500 expired rows were written; pruning by age removed all but those written
    // since the last prune.
    let expired = rows.iter().filter(|r| r.ts_ms < now_ms).count() as u64;
    assert!(
        expired < gwe_device_client::audit::PRUNE_EVERY,
        "{expired} expired rows left"
    );
    assert!(
        rows.iter().any(|r| r.ts_ms == now_ms),
        "fresh rows are kept"
    );
}
