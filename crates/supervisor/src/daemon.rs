//! The daemon: start-up (daemonize, pidfile, orphan clean-up, sockets), the
//! event-driven run loop, signals, reload and shutdown.
//!
//! The loop sleeps until something happens: SIGCHLD, another signal, an RPC
//! request, or the earliest process deadline (startsecs, back-off delay,
//! stopwaitsecs). There is no periodic tick: an idle supervisor does not wake.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config::{self, Config};
use crate::logs::MainLog;
use crate::orphans;
use crate::process::Level;
use crate::rpc::{self, server, Pending, Request};
use crate::state::{clear_auto_logs, Mood, Supervisor};

/// Command-line options of `supervisord` (`-c -n -e -l -j -d`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// `-c`: the configuration file.
    pub config: PathBuf,
    /// `-n`: stay in the foreground (also `nodaemon=true` in the file).
    pub nodaemon: bool,
    /// `-e`: log level override.
    pub loglevel: Option<String>,
    /// `-l`: main log file override.
    pub logfile: Option<PathBuf>,
    /// `-j`: pidfile override.
    pub pidfile: Option<PathBuf>,
    /// `-d`: directory to chdir to when daemonizing.
    pub directory: Option<PathBuf>,
}

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    /// A file or socket operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Another supervisord already listens on the socket.
    #[error("Another program is already listening on a port that one of our HTTP servers is configured to use ({0}).  Shut this program down first before starting supervisord.")]
    AddressInUse(String),
    /// The pidfile names a live supervisor.
    #[error("another supervisord (pid {pid}) is running with pidfile {}", pidfile.display())]
    AlreadyRunning {
        /// Its pid.
        pid: u32,
        /// The pidfile naming it.
        pidfile: PathBuf,
    },
    /// `[supervisord] user` could not be switched to (supervisord's message).
    #[error("{0}")]
    User(String),
    /// fork/setsid failed.
    #[error("could not daemonize: {0}")]
    Daemonize(nix::Error),
    /// The async runtime could not start.
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
}

fn load(opts: &Options) -> Result<Config, DaemonError> {
    let mut c = config::load(&opts.config)?;
    if let Some(l) = &opts.loglevel {
        c.supervisord.loglevel = l.clone();
    }
    if let Some(l) = &opts.logfile {
        // `-l syslog` as `logfile=syslog` (supervisord compares the same way)
        c.supervisord.logfile_syslog = l.as_os_str() == "syslog";
        c.supervisord.logfile = (!c.supervisord.logfile_syslog).then(|| l.clone());
    }
    if let Some(p) = &opts.pidfile {
        c.supervisord.pidfile = p.clone();
    }
    if let Some(d) = &opts.directory {
        c.supervisord.directory = Some(d.clone());
    }
    if opts.nodaemon {
        c.supervisord.nodaemon = true;
    }
    Ok(c)
}

/// Runs supervisord: loads the configuration, daemonizes unless `-n` /
/// `nodaemon` (the parent then returns `Ok` at once), and supervises until
/// shutdown. Returns when everything has stopped.
pub fn run(opts: Options) -> Result<(), DaemonError> {
    let config = load(&opts)?;
    // supervisord's order: privileges go first, before limits, logs, sockets
    // and the fork, so that everything is opened (and owned) as the user.
    let user_note = set_uid_or_exit(config.supervisord.user.as_deref())?;
    if !config.supervisord.nodaemon && daemonize(&config)? {
        return Ok(()); // the parent
    }
    extern "C" {
        fn tzset();
    }
    // SAFETY: tzset only reads TZ and /etc/localtime; no other thread runs yet.
    unsafe { tzset() };
    // Orphaned grandchildren (daemonizing apps) become ours to reap.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // A log past the file size limit (RLIMIT_FSIZE) then fails with EFBIG,
    // dropped and counted like a full disk, instead of killing the daemon;
    // Python ignores SIGXFSZ for supervisord too. Children get it back at
    // spawn (default dispositions).
    // SAFETY: setting a signal to SIG_IGN.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::Runtime)?;
    rt.block_on(serve(config, opts, user_note))
}

/// supervisord's `set_uid_or_exit`: switches to `[supervisord] user` (a name
/// or uid) and returns the line the main log starts with.
fn set_uid_or_exit(user: Option<&str>) -> Result<(Level, String), DaemonError> {
    let Some(user) = user else {
        let note = if nix::unistd::getuid().is_root() {
            "Supervisor is running as root.  Privileges were not dropped because no user is \
             specified in the config file.  If you intend to run as root, you can set user=root \
             in the config file to avoid this message."
        } else {
            ""
        };
        return Ok((Level::Critical, note.to_owned()));
    };
    let uid = drop_privileges(user).map_err(DaemonError::User)?;
    Ok((Level::Info, format!("Set uid to user {uid} succeeded")))
}

/// supervisord's `drop_privileges`: the same uid is fine; otherwise only root
/// may switch (supplementary groups, then gid, then uid). Errors are
/// supervisord's messages.
fn drop_privileges(user: &str) -> Result<u32, String> {
    use nix::unistd::{getgrouplist, getuid, setgid, setgroups, setuid, Uid, User};
    let found = match user.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .ok_or_else(|| format!("Can't find uid {uid}"))?,
        Err(_) => User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("Can't find username '{user}'"))?,
    };
    let current = getuid();
    if current == found.uid {
        return Ok(found.uid.as_raw());
    }
    if !current.is_root() {
        return Err("Can't drop privilege as nonroot user".into());
    }
    let name = std::ffi::CString::new(found.name.as_str())
        .map_err(|_| "Could not set groups of effective user".to_owned())?;
    let mut groups = getgrouplist(&name, found.gid)
        .map_err(|_| "Could not set groups of effective user".to_owned())?;
    // the primary group first, as supervisord puts it
    groups.retain(|g| *g != found.gid);
    groups.insert(0, found.gid);
    setgroups(&groups).map_err(|_| "Could not set groups of effective user".to_owned())?;
    setgid(found.gid).map_err(|_| "Could not set group id of effective user".to_owned())?;
    setuid(found.uid).map_err(|e| format!("Could not set user id of effective user: {e}"))?;
    Ok(found.uid.as_raw())
}

/// fork + setsid like supervisord's `daemonize()`. True in the parent.
fn daemonize(config: &Config) -> Result<bool, DaemonError> {
    // SAFETY: no other threads exist yet (the runtime starts after this).
    match unsafe { nix::unistd::fork() }.map_err(DaemonError::Daemonize)? {
        nix::unistd::ForkResult::Parent { .. } => Ok(true),
        nix::unistd::ForkResult::Child => {
            if let Some(d) = &config.supervisord.directory {
                std::env::set_current_dir(d).map_err(|e| DaemonError::Io {
                    what: "cannot chdir to",
                    path: d.clone(),
                    source: e,
                })?;
            }
            nix::unistd::setsid().map_err(DaemonError::Daemonize)?;
            // stdin/stdout/stderr to /dev/null: nobody reads them any more
            if let Ok(null) = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
            {
                use std::os::fd::AsRawFd;
                for fd in 0..3 {
                    // SAFETY: dup2 onto the standard fds.
                    unsafe { libc::dup2(null.as_raw_fd(), fd) };
                }
            }
            Ok(false)
        }
    }
}

/// The pid in `pidfile` if it is a live supervisor other than us (a pid
/// reused by an unrelated program after a crash or reboot does not count).
fn other_instance(pidfile: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(pidfile).ok()?.trim().parse().ok()?;
    if pid == std::process::id() || pid <= 1 {
        return None;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline);
    cmdline.contains("supervisord").then_some(pid)
}

/// Writes the pidfile whole (temporary file and rename), so a script that reads
/// it (`kill $(cat supervisord.pid)`) never finds it empty.
fn write_pidfile(path: &Path) -> Result<(), DaemonError> {
    crate::files::write_replacing(path, format!("{}\n", std::process::id()).as_bytes()).map_err(
        |e| DaemonError::Io {
            what: "cannot write pidfile",
            path: path.to_path_buf(),
            source: e,
        },
    )
}

fn main_log(c: &Config) -> MainLog {
    let s = &c.supervisord;
    let level = Level::parse(&s.loglevel).unwrap_or(Level::Info);
    MainLog::new(
        s.logfile.clone(),
        s.logfile_maxbytes,
        s.logfile_backups,
        level,
        s.nodaemon && !s.silent,
    )
    .with_syslog(s.logfile_syslog)
}

async fn serve(
    config: Config,
    opts: Options,
    user_note: (Level, String),
) -> Result<(), DaemonError> {
    let log = main_log(&config);
    if !user_note.1.is_empty() {
        log.log(user_note.0, &user_note.1);
    }
    let pidfile = config.supervisord.pidfile.clone();
    if let Some(pid) = other_instance(&pidfile) {
        return Err(DaemonError::AlreadyRunning { pid, pidfile });
    }
    raise_limit(
        &log,
        Resource::RLIMIT_NOFILE,
        config.supervisord.minfds,
        "minfds",
    );
    raise_limit(
        &log,
        Resource::RLIMIT_NPROC,
        config.supervisord.minprocs,
        "minprocs",
    );
    // SAFETY: umask(2) only sets the mask.
    unsafe { libc::umask(config.supervisord.umask as libc::mode_t) };
    let (tx, rx) = mpsc::channel::<Request>(64);
    // Binding first proves no other supervisor serves this socket: only then
    // is it safe to kill leftovers and delete old AUTO logs.
    let servers = server::start(&config, tx).await?;
    let children = orphans::record_path(&pidfile);
    for r in orphans::kill_leftovers(&children) {
        log.warn(&format!(
            "killed '{}' (pid {}) left running by a previous supervisord",
            r.name, r.pid
        ));
    }
    if !config.supervisord.nocleanup {
        clear_auto_logs(
            &config.supervisord.childlogdir,
            &config.supervisord.identifier,
        );
    }
    remove_stale_discards(&config);
    write_pidfile(&pidfile)?;
    log.info(&format!(
        "supervisord started with pid {}",
        std::process::id()
    ));
    let loader: rpc::Loader = {
        let opts = opts.clone();
        Arc::new(move || load(&opts).map_err(|e| e.to_string()))
    };
    let mut sup = Supervisor::new(config, log.clone(), Some(children));
    let result = run_loop(&mut sup, rx, &loader).await;
    // let responses already handed to connections (e.g. to `shutdown`) go out
    servers.drain(Duration::from_secs(2)).await;
    servers.remove_sockets();
    sup.forget_children();
    let _ = std::fs::remove_file(&pidfile);
    log.info("supervisord exited");
    result
}

/// supervisord's `set_rlimits`: raise a soft limit to at least `min`
/// (and the hard one too when allowed). A failure is logged, not fatal.
fn raise_limit(log: &MainLog, resource: Resource, min: u64, option: &str) {
    let Ok((soft, hard)) = getrlimit(resource) else {
        return;
    };
    if soft >= min {
        return;
    }
    match setrlimit(resource, min, hard.max(min)) {
        Ok(()) => log.info(&format!("Increased {option} limit to {min}")),
        Err(e) => log.warn(&format!(
            "could not raise the limit to {option}={min} (now {soft}): {e}"
        )),
    }
}

/// Signals the loop reacts to.
struct Signals {
    chld: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    usr2: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Signals, DaemonError> {
        let s = |k: SignalKind| signal(k).map_err(DaemonError::Runtime);
        Ok(Signals {
            chld: s(SignalKind::child())?,
            term: s(SignalKind::terminate())?,
            int: s(SignalKind::interrupt())?,
            quit: s(SignalKind::quit())?,
            hup: s(SignalKind::hangup())?,
            usr2: s(SignalKind::user_defined2())?,
        })
    }
}

/// A signal or request the loop woke for.
enum Wake {
    Nothing,
    Child,
    Exit(&'static str),
    Reload,
    ReopenLogs,
    Request(Request),
}

async fn run_loop(
    sup: &mut Supervisor,
    mut rx: mpsc::Receiver<Request>,
    loader: &rpc::Loader,
) -> Result<(), DaemonError> {
    let mut sig = Signals::new()?;
    let mut pending: Vec<Pending> = Vec::new();
    let mut settled = false;
    // waitpid(-1) walks every child in the kernel, so it runs only when a
    // SIGCHLD came in (tokio reports every delivery since the last recv),
    // not on each RPC wake-up
    let mut chld = true;
    loop {
        let now = Instant::now();
        if std::mem::take(&mut chld) {
            sup.reap();
        }
        sup.tick_all(now);
        rpc::poll_pending(sup, &mut pending);
        if sup.mood != Mood::Running && sup.stop_step(now) {
            if sup.mood == Mood::Shutdown {
                rpc::fail_pending(&mut pending);
                return Ok(());
            }
            restart(sup, &mut pending);
            continue;
        }
        let deadline = sup.next_deadline();
        // once everything has settled (start-up, a reload, a restart burst),
        // hand the freed heap back to the kernel
        if deadline.is_none() && !settled {
            release_free_heap();
        }
        settled = deadline.is_none();
        let wake = tokio::select! {
            _ = sig.chld.recv() => Wake::Child,
            _ = sig.term.recv() => Wake::Exit("SIGTERM"),
            _ = sig.int.recv() => Wake::Exit("SIGINT"),
            _ = sig.quit.recv() => Wake::Exit("SIGQUIT"),
            _ = sig.hup.recv() => Wake::Reload,
            _ = sig.usr2.recv() => Wake::ReopenLogs,
            r = rx.recv() => r.map_or(Wake::Nothing, Wake::Request),
            _ = sleep_until(deadline), if deadline.is_some() => Wake::Nothing,
        };
        match wake {
            Wake::Nothing => {}
            Wake::Child => chld = true,
            Wake::Exit(name) => {
                sup.log
                    .warn(&format!("received {name} indicating exit request"));
                sup.set_mood(Mood::Shutdown);
            }
            Wake::Reload => {
                if sup.mood == Mood::Shutdown {
                    sup.log
                        .warn("ignored SIGHUP indicating restart request (shutdown in progress)");
                } else {
                    sup.log.warn("received SIGHUP indicating restart request");
                    begin_restart(sup, loader);
                }
            }
            Wake::ReopenLogs => {
                sup.log
                    .info("received SIGUSR2 indicating log reopen request");
                sup.log.reopen();
                for p in sup.groups.values().flat_map(|g| g.procs.values()) {
                    for l in [&p.stdout_log, &p.stderr_log].into_iter().flatten() {
                        l.lock().unwrap_or_else(|e| e.into_inner()).reopen();
                    }
                }
            }
            Wake::Request(req) => rpc::handle(sup, req, &mut pending, loader),
        }
    }
}

/// Re-reads the configuration; on success everything is stopped and then
/// started from it. A bad configuration is logged and the old one kept.
pub fn begin_restart(sup: &mut Supervisor, loader: &rpc::Loader) -> bool {
    match loader() {
        Ok(c) => {
            sup.next_config = Some(c);
            sup.set_mood(Mood::Restarting);
            true
        }
        Err(e) => {
            sup.log.log(
                Level::Error,
                &format!("could not reload config, keeping the current one: {e}"),
            );
            false
        }
    }
}

fn restart(sup: &mut Supervisor, pending: &mut Vec<Pending>) {
    rpc::fail_pending(pending);
    let config = sup.next_config.take().unwrap_or_else(|| sup.config.clone());
    let children = sup.children_file.clone();
    let log = sup.log.clone();
    log.info("supervisord restarting with the reloaded configuration");
    if !config.supervisord.nocleanup {
        clear_auto_logs(
            &config.supervisord.childlogdir,
            &config.supervisord.identifier,
        );
    }
    *sup = Supervisor::new(config, log, children);
}

/// Returns free heap pages to the kernel (glibc keeps them otherwise).
pub(crate) fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases unused memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Rotated-out logs that a killed daemon had renamed away but not yet deleted.
fn remove_stale_discards(config: &Config) {
    use crate::config::LogTarget;
    let logs = config
        .groups
        .iter()
        .flat_map(|g| &g.processes)
        .flat_map(|p| [&p.stdout, &p.stderr])
        .filter_map(|lc| match &lc.target {
            LogTarget::File(path) => Some(path.as_path()),
            _ => None,
        });
    crate::logs::rotating::remove_stale_discards(logs.chain(config.supervisord.logfile.as_deref()));
}
