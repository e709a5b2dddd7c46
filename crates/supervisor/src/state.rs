//! The one state owner: [`Supervisor`] holds every process group, process and
//! the supervisor's mood.
//!
//! **Ownership rule.** The run loop ([`crate::daemon`]) owns the `Supervisor`
//! by value on its single thread; nothing else holds a reference. Other tasks
//! (RPC connections, signal streams) never touch it: they send a request over
//! a channel and the loop handles it as one unit of work, between two
//! awaits, so no lock is needed and no state is seen half-changed. The only
//! shared objects are the log files (`Arc<Mutex<RotatingFile>>`, and the
//! [`MainLog`] handle): capture tasks append to them while the loop may clear
//! or read them; each lock is held for one write or one clear.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use gwe_supervisor_client::ProcessInfo;
use tokio::sync::mpsc;

use crate::config::{Config, GroupConfig, LogConfig, LogTarget, ProcessConfig};
use crate::logs::{capture, MainLog, RotatingFile};
use crate::orphans::{self, ChildRecord};
use crate::process::{spawner, Effect, ExitStatus, Level, Machine, ProcessState};

/// The supervisor's mood (supervisord's `SupervisorStates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mood {
    /// Normal operation.
    Running,
    /// Stopping everything to reload the configuration.
    Restarting,
    /// Stopping everything to exit.
    Shutdown,
}

impl Mood {
    /// Wire code and name for `getState`.
    pub fn code_name(self) -> (i64, &'static str) {
        match self {
            Mood::Running => (1, "RUNNING"),
            Mood::Restarting => (0, "RESTARTING"),
            Mood::Shutdown => (-1, "SHUTDOWN"),
        }
    }
}

/// One process: its configuration, its machine, and its OS-side handles.
#[derive(Debug)]
pub struct Proc {
    /// Its configuration.
    pub config: ProcessConfig,
    /// Its state machine.
    pub m: Machine,
    /// Epoch seconds of the last start (0 = never).
    pub start_epoch: i64,
    /// Epoch seconds of the last stop (0 = never).
    pub stop_epoch: i64,
    /// stdout log file (None: NONE).
    pub stdout_log: Option<Arc<Mutex<RotatingFile>>>,
    /// stderr log file (None: NONE or redirect_stderr).
    pub stderr_log: Option<Arc<Mutex<RotatingFile>>>,
    /// Feeds the child's stdin (sendProcessStdin) while it runs.
    pub stdin: Option<mpsc::UnboundedSender<Vec<u8>>>,
    /// Kernel start time of the current pid (for the children record).
    starttime: u64,
}

/// A process group and its processes by name.
#[derive(Debug)]
pub struct Group {
    /// Its configuration, without `processes`: each [`Proc`] holds its own
    /// (one copy of each process config, not two). See [`Group::full_config`].
    pub config: GroupConfig,
    /// Processes by name.
    pub procs: BTreeMap<String, Proc>,
    /// Process names in configuration order.
    order: Vec<String>,
}

impl Group {
    /// The group's configuration with its processes, as it was read.
    pub fn full_config(&self) -> GroupConfig {
        GroupConfig {
            name: self.config.name.clone(),
            priority: self.config.priority,
            processes: self
                .order
                .iter()
                .filter_map(|n| self.procs.get(n).map(|p| p.config.clone()))
                .collect(),
        }
    }
}

/// Everything the daemon supervises. See the module doc for who may touch it.
#[derive(Debug)]
pub struct Supervisor {
    /// The configuration last read (by start-up or `reloadConfig`): what
    /// `addProcessGroup` and `getAllConfigInfo` use.
    pub config: Config,
    /// Active groups by name.
    pub groups: BTreeMap<String, Group>,
    /// Current mood.
    pub mood: Mood,
    /// The main log.
    pub log: MainLog,
    /// `SUPERVISOR_SERVER_URL` for children.
    pub server_url: String,
    /// Where started pids are recorded (for recovery after SIGKILL).
    pub children_file: Option<PathBuf>,
    /// Config to switch to when a restart completes.
    pub next_config: Option<Config>,
    journal: Option<orphans::Journal>,
    pids: HashMap<u32, (String, String)>,
    order: Vec<(String, String)>,
    stop_order: Option<Vec<String>>,
}

/// `group:name` / `name` / `group:*` split like supervisord's `split_namespec`:
/// `(group, Some(process))` or `(group, None)` for a whole group.
pub fn split_namespec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (spec, Some(spec)),
    }
}

/// `group:name`, or `name` when both are equal.
pub fn make_namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_owned()
    } else {
        format!("{group}:{name}")
    }
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_suffix() -> String {
    let mut b = [0u8; 8];
    // SAFETY: getrandom writes at most b.len() bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        b = (t.as_nanos() as u64 ^ u64::from(std::process::id())).to_le_bytes();
    }
    const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    b.iter()
        .map(|x| ALPHA[*x as usize % ALPHA.len()] as char)
        .collect()
}

/// Picks an unused AUTO log name `<name>-<channel>---<identifier>-XXXXXXXX.log`
/// like supervisord's `mktemp`: the file itself is created when the process
/// is spawned (by its capture task), not here, so that start-up does not pay
/// for creating two files per program before the first one starts.
fn auto_log_path(dir: &Path, name: &str, channel: &str, identifier: &str) -> PathBuf {
    for _ in 0..10 {
        let p = dir.join(format!(
            "{name}-{channel}---{identifier}-{}.log",
            random_suffix()
        ));
        if std::fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
    dir.join(format!(
        "{name}-{channel}---{identifier}-{}.log",
        random_suffix()
    ))
}

/// Deletes AUTO logs left by earlier runs (supervisord's `clear_autochildlogdir`).
pub fn clear_auto_logs(dir: &Path, identifier: &str) {
    let marker = format!("---{identifier}-");
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.contains(&marker)
            && (n.contains("-stdout---") || n.contains("-stderr---"))
            && n.contains(".log")
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl Proc {
    fn new(config: ProcessConfig, childlogdir: &Path, identifier: &str) -> Proc {
        let open = |lc: &LogConfig, channel: &str| -> Option<Arc<Mutex<RotatingFile>>> {
            let path = match &lc.target {
                LogTarget::Auto => auto_log_path(childlogdir, &config.name, channel, identifier),
                LogTarget::File(p) => p.clone(),
                LogTarget::None | LogTarget::Syslog => return None,
            };
            Some(Arc::new(Mutex::new(RotatingFile::new(
                path,
                lc.maxbytes,
                lc.backups,
            ))))
        };
        let stdout_log = open(&config.stdout, "stdout");
        let stderr_log = if config.redirect_stderr {
            None
        } else {
            open(&config.stderr, "stderr")
        };
        Proc {
            m: Machine::default(),
            config,
            start_epoch: 0,
            stop_epoch: 0,
            stdout_log,
            stderr_log,
            stdin: None,
            starttime: 0,
        }
    }

    /// The log file of `channel` ("stdout" or "stderr").
    pub fn log_path(&self, channel: &str) -> Option<PathBuf> {
        let l = match channel {
            "stdout" => self.stdout_log.as_ref(),
            "stderr" => self.stderr_log.as_ref(),
            _ => None,
        }?;
        Some(
            l.lock()
                .unwrap_or_else(|e| e.into_inner())
                .path()
                .to_path_buf(),
        )
    }

    /// The getProcessInfo struct.
    pub fn info(&self, group: &str) -> ProcessInfo {
        let s = self.m.state;
        let now = epoch_now();
        let path = |c| {
            self.log_path(c)
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let spawnerr = self.m.spawnerr.clone().unwrap_or_default();
        let description = match s {
            ProcessState::Running => format!(
                "pid {}, uptime {}",
                self.m.pid,
                uptime(now - self.start_epoch)
            ),
            ProcessState::Fatal | ProcessState::Backoff if spawnerr.is_empty() => {
                format!("unknown error (try \"tail {}\")", self.config.name)
            }
            ProcessState::Fatal | ProcessState::Backoff => spawnerr.clone(),
            ProcessState::Stopped | ProcessState::Exited if self.start_epoch != 0 => {
                stop_time(self.stop_epoch)
            }
            ProcessState::Stopped | ProcessState::Exited => "Not started".into(),
            _ => String::new(),
        };
        ProcessInfo {
            name: self.config.name.clone(),
            group: group.to_owned(),
            description,
            start: self.start_epoch,
            stop: self.stop_epoch,
            now,
            state: s.code(),
            statename: s.name().to_owned(),
            spawnerr,
            exitstatus: i64::from(self.m.exitstatus.unwrap_or(0)),
            logfile: path("stdout"),
            stdout_logfile: path("stdout"),
            stderr_logfile: path("stderr"),
            pid: i64::from(self.m.pid),
        }
    }
}

/// Python's `str(timedelta)`: `H:MM:SS` or `N day(s), H:MM:SS`.
fn uptime(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, rem) = (secs / 86400, secs % 86400);
    let hms = format!("{}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60);
    match d {
        0 => hms,
        1 => format!("1 day, {hms}"),
        _ => format!("{d} days, {hms}"),
    }
}

/// `%b %d %I:%M %p` in local time, e.g. `Nov 25 01:05 PM`.
fn stop_time(epoch: i64) -> String {
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = epoch as libc::time_t;
    // SAFETY: localtime_r only writes the tm we pass.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&t, &mut tm) };
    let h12 = match tm.tm_hour % 12 {
        0 => 12,
        h => h,
    };
    let ampm = if tm.tm_hour < 12 { "AM" } else { "PM" };
    format!(
        "{} {:02} {:02}:{:02} {ampm}",
        MON[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        h12,
        tm.tm_min
    )
}

/// supervisord's AUTO server URL for children.
fn server_url(config: &Config) -> String {
    if let Some(inet) = &config.inet_http_server {
        let port = inet.port.trim_start_matches('*');
        let hostport = if port.starts_with(':') {
            format!("localhost{port}")
        } else {
            port.to_owned()
        };
        return format!("http://{hostport}");
    }
    match &config.unix_http_server {
        Some(u) => format!("unix://{}", u.file.display()),
        None => "http://localhost:9001".into(),
    }
}

impl Supervisor {
    /// Builds the state for `config`, logging to `log`. No process starts yet.
    pub fn new(config: Config, log: MainLog, children_file: Option<PathBuf>) -> Supervisor {
        let journal =
            children_file
                .as_ref()
                .and_then(|p| match orphans::Journal::create(p.clone()) {
                    Ok(j) => Some(j),
                    Err(e) => {
                        log.warn(&format!("cannot write {}: {e}", p.display()));
                        None
                    }
                });
        let mut sup = Supervisor {
            journal,
            server_url: server_url(&config),
            groups: BTreeMap::new(),
            mood: Mood::Running,
            log,
            children_file,
            next_config: None,
            pids: HashMap::new(),
            order: Vec::new(),
            stop_order: None,
            config,
        };
        for i in 0..sup.config.groups.len() {
            let g = sup.config.groups[i].clone();
            sup.add_group(g);
        }
        sup
    }

    /// Adds an active group (false if one with that name exists).
    pub fn add_group(&mut self, mut g: GroupConfig) -> bool {
        if self.groups.contains_key(&g.name) {
            return false;
        }
        let dir = self.config.supervisord.childlogdir.clone();
        let ident = self.config.supervisord.identifier.clone();
        let processes = std::mem::take(&mut g.processes);
        let order = processes.iter().map(|p| p.name.clone()).collect();
        let procs = processes
            .into_iter()
            .map(|p| (p.name.clone(), Proc::new(p, &dir, &ident)))
            .collect();
        self.groups.insert(
            g.name.clone(),
            Group {
                config: g,
                procs,
                order,
            },
        );
        self.rebuild_order();
        true
    }

    /// Removes a group whose processes are all stopped (false otherwise).
    pub fn remove_group(&mut self, name: &str) -> bool {
        let Some(g) = self.groups.get(name) else {
            return false;
        };
        if g.procs.values().any(|p| !p.m.state.is_stopped()) {
            return false;
        }
        self.groups.remove(name);
        self.rebuild_order();
        true
    }

    /// (group, process) keys in start order: group priority, then process priority.
    fn rebuild_order(&mut self) {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by(|a, b| {
            (a.config.priority, &a.config.name).cmp(&(b.config.priority, &b.config.name))
        });
        self.order.clear();
        for g in groups {
            let mut ps: Vec<&Proc> = g.procs.values().collect();
            ps.sort_by(|a, b| {
                (a.config.priority, &a.config.name).cmp(&(b.config.priority, &b.config.name))
            });
            for p in ps {
                self.order
                    .push((g.config.name.clone(), p.config.name.clone()));
            }
        }
    }

    /// Processes in priority order (supervisord's `_getAllProcesses()`).
    pub fn ordered(&self) -> Vec<(String, String)> {
        self.order.clone()
    }

    /// Looks a process up.
    pub fn proc(&self, group: &str, name: &str) -> Option<&Proc> {
        self.groups.get(group)?.procs.get(name)
    }

    fn proc_mut(&mut self, group: &str, name: &str) -> Option<&mut Proc> {
        self.groups.get_mut(group)?.procs.get_mut(name)
    }

    /// supervisord's `transition()` over all processes, in priority order.
    pub fn tick_all(&mut self, now: Instant) {
        let may_start = self.mood == Mood::Running;
        for i in 0..self.order.len() {
            // no allocation unless the machine has something to do
            let fx = {
                let (g, n) = &self.order[i];
                match self.groups.get_mut(g).and_then(|grp| grp.procs.get_mut(n)) {
                    Some(p) => p.m.tick(&p.config, now, may_start),
                    None => continue,
                }
            };
            if !fx.is_empty() {
                let (g, n) = self.order[i].clone();
                self.apply(&g, &n, fx, now);
            }
        }
    }

    /// The earliest deadline of any process (None: sleep until an event).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.groups
            .values()
            .flat_map(|g| g.procs.values())
            .filter_map(|p| p.m.deadline(&p.config))
            .min()
    }

    /// Carries out effects for one process (effects may produce more effects).
    pub fn apply(&mut self, group: &str, name: &str, fx: Vec<Effect>, now: Instant) {
        let mut queue: VecDeque<Effect> = fx.into();
        while let Some(e) = queue.pop_front() {
            match e {
                Effect::Log(level, msg) => self.log.log(level, &msg),
                Effect::Spawn => queue.extend(self.spawn(group, name, now)),
                Effect::Signal {
                    sig,
                    group: as_group,
                } => queue.extend(self.send_signal(group, name, sig, as_group, now)),
            }
        }
    }

    fn send_signal(
        &mut self,
        group: &str,
        name: &str,
        sig: i32,
        as_group: bool,
        now: Instant,
    ) -> Vec<Effect> {
        let Some(p) = self.proc_mut(group, name) else {
            return vec![];
        };
        if p.m.pid == 0 {
            return vec![];
        }
        let pid = p.m.pid as libc::pid_t;
        let target = if as_group { -pid } else { pid };
        // SAFETY: kill(2) with a pid we own.
        if unsafe { libc::kill(target, sig) } == 0 {
            return vec![];
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ESRCH) {
            return vec![]; // already dead: the reaper will see it
        }
        let n = p.config.name.clone();
        p.m.kill_failed(&n, &err.to_string(), now)
    }

    fn spawn(&mut self, group: &str, name: &str, now: Instant) -> Vec<Effect> {
        let base_env: Vec<(String, String)> = self
            .config
            .supervisord
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let default_url = self.server_url.clone();
        let log = self.log.clone();
        let strip_ansi = self.config.supervisord.strip_ansi;
        let Some(p) = self.proc_mut(group, name) else {
            return vec![];
        };
        let pname = p.config.name.clone();
        if p.m.pid != 0 {
            // e.g. startProcess while STOPPING: supervisord refuses the same way
            return vec![Effect::Log(
                Level::Warn,
                format!("process '{pname}' already running"),
            )];
        }
        let mut fx = p.m.begin_spawn(&pname, now);
        p.start_epoch = epoch_now();
        let argv0 = p.config.argv.first().cloned().unwrap_or_default();
        let program = match spawner::resolve(&argv0) {
            Ok(prog) => prog,
            Err(e) => {
                fx.extend(p.m.spawn_failed(&pname, e.to_string(), now));
                return fx;
            }
        };
        let mut env = base_env;
        env.push(("SUPERVISOR_ENABLED".into(), "1".into()));
        env.push((
            "SUPERVISOR_SERVER_URL".into(),
            p.config.serverurl.clone().unwrap_or(default_url),
        ));
        env.push(("SUPERVISOR_PROCESS_NAME".into(), pname.clone()));
        env.push(("SUPERVISOR_GROUP_NAME".into(), group.to_owned()));
        env.extend(
            p.config
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let req = spawner::SpawnRequest {
            argv: &p.config.argv,
            env,
            directory: p.config.directory.as_deref(),
            umask: p.config.umask,
            user: p.config.user.as_deref(),
            redirect_stderr: p.config.redirect_stderr,
        };
        let child = match spawner::spawn(&program, &req) {
            Ok(c) => c,
            Err(e) => {
                fx.extend(p.m.spawn_failed(&pname, e.to_string(), now));
                return fx;
            }
        };
        let pid = child.pid;
        attach_pipes(p, child, &log, strip_ansi);
        p.starttime = orphans::starttime(pid).unwrap_or(0);
        fx.extend(p.m.spawned(&pname, pid));
        let rec = ChildRecord {
            name: p.config.name.clone(),
            pid,
            starttime: p.starttime,
        };
        self.pids.insert(pid, (group.to_owned(), name.to_owned()));
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.append(&rec) {
                self.log
                    .warn(&format!("cannot write {}: {e}", j.path().display()));
            }
        }
        fx
    }

    /// Drops exited children from the record once they dominate it.
    fn compact_children(&mut self) {
        let Some(j) = &self.journal else {
            return;
        };
        if !j.wants_compaction(self.pids.len()) {
            return;
        }
        let recs: Vec<ChildRecord> = self
            .groups
            .values()
            .flat_map(|g| g.procs.values())
            .filter(|p| p.m.pid != 0)
            .map(|p| ChildRecord {
                name: p.config.name.clone(),
                pid: p.m.pid,
                starttime: p.starttime,
            })
            .collect();
        if let Some(j) = &mut self.journal {
            if let Err(e) = j.compact(&recs) {
                self.log
                    .warn(&format!("cannot write {}: {e}", j.path().display()));
            }
        }
    }

    /// Reaps every exited child and runs the exit logic of the ones we own.
    pub fn reap(&mut self) -> bool {
        let reaped = crate::process::reaper::reap();
        let any = !reaped.is_empty();
        for (pid, status) in reaped {
            self.child_exited(pid, status, Instant::now());
        }
        if any {
            self.compact_children();
        }
        any
    }

    fn child_exited(&mut self, pid: u32, status: ExitStatus, now: Instant) {
        let Some((g, n)) = self.pids.remove(&pid) else {
            let (_, msg) = status.decode();
            self.log
                .log(Level::Info, &format!("reaped unknown pid {pid} ({msg})"));
            return;
        };
        let Some(p) = self.proc_mut(&g, &n) else {
            return;
        };
        if p.m.pid != pid {
            return;
        }
        p.stop_epoch = epoch_now();
        p.stdin = None;
        let fx = p.m.exited(&p.config, status, now);
        self.apply(&g, &n, fx, now);
    }

    /// Administrative stop of one process (stopProcess).
    pub fn stop_process(&mut self, group: &str, name: &str, now: Instant) -> Result<(), String> {
        let Some(p) = self.proc_mut(group, name) else {
            return Err("no such process".into());
        };
        let fx = p.m.stop(&p.config, now)?;
        self.apply(group, name, fx, now);
        Ok(())
    }

    /// Starts one process now (startProcess), whatever its state.
    pub fn start_process(&mut self, group: &str, name: &str, now: Instant) {
        self.apply(group, name, vec![Effect::Spawn], now);
    }

    /// Sends `sig` to one process (signalProcess).
    pub fn signal_process(
        &mut self,
        group: &str,
        name: &str,
        sig: i32,
        now: Instant,
    ) -> Result<(), String> {
        let Some(p) = self.proc_mut(group, name) else {
            return Err("no such process".into());
        };
        let fx = p.m.signal(&p.config.name, sig)?;
        self.apply(group, name, fx, now);
        Ok(())
    }

    /// Begins a shutdown (or a restart) unless one is under way.
    pub fn set_mood(&mut self, mood: Mood) {
        if self.mood == Mood::Shutdown {
            return;
        }
        self.mood = mood;
    }

    /// One step of the ordered stop (supervisord's `ordered_stop_groups_phase_1/2`):
    /// groups stop one at a time, highest priority number first; inside a group
    /// processes stop in descending priority. Returns true when all are stopped.
    pub fn stop_step(&mut self, now: Instant) -> bool {
        if self.stop_order.is_none() {
            let mut gs: Vec<(i64, String)> = self
                .groups
                .values()
                .map(|g| (g.config.priority, g.config.name.clone()))
                .collect();
            gs.sort();
            self.stop_order = Some(gs.into_iter().map(|(_, n)| n).collect());
        }
        while let Some(gname) = self.stop_order.as_ref().and_then(|o| o.last().cloned()) {
            let keys: Vec<(String, String)> = self
                .order
                .iter()
                .rev()
                .filter(|(g, _)| *g == gname)
                .cloned()
                .collect();
            for (g, n) in &keys {
                if let Some(p) = self.proc_mut(g, n) {
                    let fx = p.m.stop_for_shutdown(&p.config, now);
                    self.apply(g, n, fx, now);
                }
            }
            let unstopped = keys
                .iter()
                .any(|(g, n)| self.proc(g, n).is_some_and(|p| !p.m.state.is_stopped()));
            if unstopped {
                return false;
            }
            if let Some(o) = self.stop_order.as_mut() {
                o.pop();
            }
        }
        self.groups
            .values()
            .flat_map(|g| g.procs.values())
            .all(|p| p.m.state.is_stopped())
    }

    /// `(added, changed, removed)` group names between the last read config
    /// and the active groups (supervisord's `diff_to_active`).
    pub fn diff_to_active(&self) -> (Vec<String>, Vec<String>, Vec<String>) {
        let new = &self.config.groups;
        let added = new
            .iter()
            .filter(|g| !self.groups.contains_key(&g.name))
            .map(|g| g.name.clone())
            .collect();
        let changed = new
            .iter()
            .filter(|g| {
                self.groups
                    .get(&g.name)
                    .is_some_and(|cur| cur.full_config() != **g)
            })
            .map(|g| g.name.clone())
            .collect();
        let removed = self
            .groups
            .keys()
            .filter(|n| !new.iter().any(|g| &g.name == *n))
            .cloned()
            .collect();
        (added, changed, removed)
    }

    /// Removes the children record (clean exit: nothing is left running).
    pub fn forget_children(&self) {
        if let Some(p) = &self.children_file {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Whether any process still has a pid.
    pub fn any_alive(&self) -> bool {
        !self.pids.is_empty()
    }
}

/// Connects the child's pipes: capture tasks for stdout/stderr, a writer task for stdin.
fn attach_pipes(p: &mut Proc, child: spawner::Spawned, log: &MainLog, strip_ansi: bool) {
    use crate::logs::{ansi::Stripper, capture::Output, syslog::LineSender};
    use tokio::net::unix::pipe;
    let name = p.config.name.clone();
    let output = |file: &Option<Arc<Mutex<RotatingFile>>>, lc: &LogConfig| Output {
        file: file.clone(),
        syslog: lc.syslog.then(|| LineSender::new(&name)),
        strip: strip_ansi.then(Stripper::default),
    };
    if let Ok(rx) = pipe::Receiver::from_owned_fd(child.stdout) {
        tokio::spawn(capture::capture(
            rx,
            output(&p.stdout_log, &p.config.stdout),
            log.clone(),
            format!("{name} stdout"),
        ));
    }
    if let Some(fd) = child.stderr {
        if let Ok(rx) = pipe::Receiver::from_owned_fd(fd) {
            tokio::spawn(capture::capture(
                rx,
                output(&p.stderr_log, &p.config.stderr),
                log.clone(),
                format!("{name} stderr"),
            ));
        }
    }
    if let Ok(tx) = pipe::Sender::from_owned_fd(child.stdin) {
        let (send, mut recv) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut tx = tx;
            while let Some(buf) = recv.recv().await {
                if tx.write_all(&buf).await.is_err() {
                    return;
                }
            }
        });
        p.stdin = Some(send);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespecs() {
        assert_eq!(split_namespec("a"), ("a", Some("a")));
        assert_eq!(split_namespec("g:a"), ("g", Some("a")));
        assert_eq!(split_namespec("g:*"), ("g", None));
        assert_eq!(split_namespec("g:"), ("g", None));
        assert_eq!(make_namespec("a", "a"), "a");
        assert_eq!(make_namespec("g", "a"), "g:a");
    }

    #[test]
    fn uptime_like_python_timedelta() {
        assert_eq!(uptime(5), "0:00:05");
        assert_eq!(uptime(3725), "1:02:05");
        assert_eq!(uptime(86400 + 61), "1 day, 0:01:01");
        assert_eq!(uptime(2 * 86400), "2 days, 0:00:00");
        assert_eq!(uptime(-3), "0:00:00");
    }

    #[test]
    fn stop_time_shape() {
        let s = stop_time(0);
        assert_eq!(s.len(), "Jan 01 12:00 AM".len(), "{s}");
        assert!(s.ends_with("AM") || s.ends_with("PM"));
    }
}
