//! Recovery after the supervisor itself was SIGKILLed: the pids it started are
//! recorded (name, pid, kernel start time) in a file beside the pidfile. At the
//! next start, every recorded pid that still runs with the same start time
//! (`/proc/<pid>/stat` field 22, so a reused pid is never touched) is killed
//! with its process group, so an app never runs twice. We kill rather than
//! adopt: an orphan is no longer our child, so we could not reap it or read
//! its pipes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One recorded child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRecord {
    /// Process name.
    pub name: String,
    /// Its pid (= its process group id).
    pub pid: u32,
    /// Kernel start time in clock ticks since boot.
    pub starttime: u64,
}

/// The record file for a pidfile: `<pidfile>.children`.
pub fn record_path(pidfile: &Path) -> PathBuf {
    let mut s = pidfile.as_os_str().to_owned();
    s.push(".children");
    PathBuf::from(s)
}

/// Start time of `pid` (field 22 of /proc/<pid>/stat), None if it is gone.
pub fn starttime(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parens: fields start after the last ')'
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3 (state); starttime is field 22
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Writes the records atomically (temp file + rename), in one write.
pub fn save(path: &Path, records: &[ChildRecord]) -> std::io::Result<()> {
    let mut text = String::with_capacity(records.len() * 32);
    for r in records {
        text.push_str(&format!("{} {} {}\n", r.pid, r.starttime, r.name));
    }
    crate::files::write_replacing(path, text.as_bytes())
}

/// The record file as the daemon keeps it: a line is appended per spawn (one
/// `write(2)`, so recording stays O(1) however many programs start at once),
/// and stale lines of exited children are dropped by an atomic rewrite once
/// they outnumber the live ones. A stale line is harmless in between: recovery
/// matches pid *and* start time.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Option<std::fs::File>,
    lines: usize,
}

impl Journal {
    /// Starts an empty record at `path` (only valid while none of our children run).
    pub fn create(path: PathBuf) -> std::io::Result<Journal> {
        let file = std::fs::File::create(&path)?;
        Ok(Journal {
            path,
            file: Some(file),
            lines: 0,
        })
    }

    /// Where the record lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records one started child.
    pub fn append(&mut self, r: &ChildRecord) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(&self.path)?,
            );
        }
        let line = format!("{} {} {}\n", r.pid, r.starttime, r.name);
        if let Some(f) = &mut self.file {
            f.write_all(line.as_bytes())?;
        }
        self.lines += 1;
        Ok(())
    }

    /// Rewrites the record with only `live` when stale lines dominate.
    pub fn compact(&mut self, live: &[ChildRecord]) -> std::io::Result<()> {
        if self.lines <= 2 * live.len() + 64 {
            return Ok(());
        }
        save(&self.path, live)?;
        // the next append reopens the renamed file
        self.file = None;
        self.lines = live.len();
        Ok(())
    }

    /// How many live ones a compaction would be worth: callers skip building
    /// the live list otherwise.
    pub fn wants_compaction(&self, live: usize) -> bool {
        self.lines > 2 * live + 64
    }
}

/// Reads the records; malformed lines are skipped.
pub fn load(path: &Path) -> Vec<ChildRecord> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let pid = it.next()?.parse().ok()?;
            let starttime = it.next()?.parse().ok()?;
            let name = it.next()?.to_owned();
            (pid > 1).then_some(ChildRecord {
                name,
                pid,
                starttime,
            })
        })
        .collect()
}

/// Kills every recorded child that still runs (SIGKILL to its group and to
/// itself) and waits up to 5 s for them to disappear. Returns those killed.
pub fn kill_leftovers(path: &Path) -> Vec<ChildRecord> {
    let alive: Vec<ChildRecord> = load(path)
        .into_iter()
        .filter(|r| starttime(r.pid) == Some(r.starttime))
        .collect();
    for r in &alive {
        // SAFETY: plain kill(2) calls.
        unsafe {
            libc::kill(-(r.pid as libc::pid_t), libc::SIGKILL);
            libc::kill(r.pid as libc::pid_t, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && alive.iter().any(|r| {
            // a zombie still has its stat; state 'Z' counts as gone
            starttime(r.pid) == Some(r.starttime) && !is_zombie(r.pid)
        })
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(path);
    alive
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| s[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_starttime_is_readable() {
        let me = std::process::id();
        assert!(starttime(me).is_some());
        assert_eq!(starttime(u32::MAX - 1), None);
    }

    #[test]
    fn save_load_roundtrip_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = record_path(&dir.path().join("s.pid"));
        let recs = vec![
            ChildRecord {
                name: "a b".into(),
                pid: 10,
                starttime: 5,
            },
            ChildRecord {
                name: "c".into(),
                pid: 11,
                starttime: 6,
            },
        ];
        save(&p, &recs).unwrap();
        assert_eq!(load(&p), recs);
        std::fs::write(&p, "x y z\n1 2 init\n\n12 13\n").unwrap();
        assert_eq!(load(&p), vec![]);
    }

    #[test]
    fn journal_appends_and_compacts() {
        let dir = tempfile::tempdir().unwrap();
        let p = record_path(&dir.path().join("s.pid"));
        let mut j = Journal::create(p.clone()).unwrap();
        let rec = |i: u32| ChildRecord {
            name: format!("p{i}"),
            pid: 100 + i,
            starttime: 7,
        };
        for i in 0..70 {
            j.append(&rec(i)).unwrap();
        }
        assert_eq!(load(&p).len(), 70);
        // 70 lines for 3 live children is not yet worth a rewrite (> 2*3+64)
        assert!(!j.wants_compaction(3));
        j.compact(&[rec(1), rec(2), rec(3)]).unwrap();
        assert_eq!(load(&p).len(), 70);
        j.append(&rec(70)).unwrap();
        assert!(j.wants_compaction(3));
        j.compact(&[rec(1), rec(2), rec(3)]).unwrap();
        assert_eq!(load(&p), vec![rec(1), rec(2), rec(3)]);
        // appends after a compaction go to the new file
        j.append(&rec(4)).unwrap();
        assert_eq!(load(&p), vec![rec(1), rec(2), rec(3), rec(4)]);
    }

    #[test]
    fn kills_only_matching_start_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = record_path(&dir.path().join("s.pid"));
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let st = starttime(pid).unwrap();
        // wrong start time: must survive
        save(
            &p,
            &[ChildRecord {
                name: "x".into(),
                pid,
                starttime: st + 1,
            }],
        )
        .unwrap();
        assert!(kill_leftovers(&p).is_empty());
        assert!(child.try_wait().unwrap().is_none());
        save(
            &p,
            &[ChildRecord {
                name: "x".into(),
                pid,
                starttime: st,
            }],
        )
        .unwrap();
        assert_eq!(kill_leftovers(&p).len(), 1);
        let status = child.wait().unwrap();
        assert!(!status.success());
        assert!(!p.exists());
    }
}
