//! Starting a child: resolve the command like supervisord, then fork and exec
//! without waiting for the exec (see [`spawn`]). Everything the child needs is
//! prepared before the fork, so between fork and exec it makes only
//! async-signal-safe system calls: `setpgid(0, 0)`, signal reset, pipes onto
//! 0/1/2, every inherited fd above 2 marked close-on-exec,
//! `setgroups`/`setgid`/`setuid`, `chdir`, `umask`. stdin, stdout and stderr are
//! pipes whose parent ends are returned (stderr shares the stdout pipe with
//! `redirect_stderr`).

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

/// Why a process could not be started; `Display` is supervisord's spawnerr text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpawnError {
    /// The command does not exist (fault NO_FILE from startProcess).
    #[error("can't find command '{0}'")]
    NotFound(String),
    /// Exists but is a directory or has no execute bit (fault NOT_EXECUTABLE).
    #[error("command at '{0}' is {1}")]
    NotExecutable(String, &'static str),
    /// Not executable by this user.
    #[error("no permission to run command '{0}'")]
    NoPermission(String),
    /// Empty command.
    #[error("command is empty")]
    BadCommand,
    /// `user=` could not be applied.
    #[error("{0}")]
    User(String),
    /// fork/exec/pipe failed.
    #[error("{0}")]
    Os(String),
}

/// What to start.
#[derive(Debug, Clone)]
pub struct SpawnRequest<'a> {
    /// argv (argv[0] is the command word as written).
    pub argv: &'a [String],
    /// Variables set over the supervisor's own environment, in order.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub directory: Option<&'a Path>,
    /// umask for the child.
    pub umask: Option<u32>,
    /// User to run as.
    pub user: Option<&'a str>,
    /// Send stderr into the stdout pipe.
    pub redirect_stderr: bool,
}

/// A started child and the parent ends of its pipes.
#[derive(Debug)]
pub struct Spawned {
    /// Its pid (also its process group id).
    pub pid: u32,
    /// Write end of its stdin.
    pub stdin: OwnedFd,
    /// Read end of its stdout (and stderr with redirect_stderr).
    pub stdout: OwnedFd,
    /// Read end of its stderr.
    pub stderr: Option<OwnedFd>,
}

/// supervisord's `get_execv_args` + `check_execv_args`: a name with a `/` is
/// used as is, a bare name is searched on the supervisor's PATH.
pub fn resolve(argv0: &str) -> Result<PathBuf, SpawnError> {
    if argv0.is_empty() {
        return Err(SpawnError::BadCommand);
    }
    let found = if argv0.contains('/') {
        PathBuf::from(argv0)
    } else {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/bin:/usr/bin:/usr/local/bin".into());
        path.split(':')
            .map(|d| Path::new(d).join(argv0))
            .find(|p| p.metadata().is_ok())
            .unwrap_or_else(|| PathBuf::from(argv0))
    };
    let shown = found.display().to_string();
    let meta = found
        .metadata()
        .map_err(|_| SpawnError::NotFound(shown.clone()))?;
    if meta.is_dir() {
        return Err(SpawnError::NotExecutable(shown, "a directory"));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(SpawnError::NotExecutable(shown, "not executable"));
    }
    if nix::unistd::access(&found, nix::unistd::AccessFlags::X_OK).is_err() {
        return Err(SpawnError::NoPermission(shown));
    }
    Ok(found)
}

/// uid, gid and supplementary groups to switch to, looked up before the fork.
struct Ids {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

fn lookup_user(name: &str) -> Result<Option<Ids>, SpawnError> {
    let user = match name.parse::<u32>() {
        Ok(uid) => nix::unistd::User::from_uid(uid.into()),
        Err(_) => nix::unistd::User::from_name(name),
    }
    .map_err(|e| SpawnError::User(format!("can't look up user {name}: {e}")))?
    .ok_or_else(|| SpawnError::User(format!("user {name} not found")))?;
    let me = nix::unistd::geteuid();
    if !me.is_root() {
        if user.uid == me {
            return Ok(None);
        }
        return Err(SpawnError::User(
            "Can't drop privilege as nonroot user".into(),
        ));
    }
    let cname =
        CString::new(user.name.as_bytes()).map_err(|_| SpawnError::User("bad user name".into()))?;
    let groups = nix::unistd::getgrouplist(&cname, user.gid)
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_else(|_| vec![user.gid.as_raw()]);
    Ok(Some(Ids {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
    }))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SpawnError> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC)
        .map_err(|e| SpawnError::Os(format!("can't make pipe: {e}")))
}

/// Output pipes hold as much as one capture read (128 KiB instead of the
/// default 64 KiB), so a fast writer is drained in half the wake-ups. The
/// kernel allocates pipe pages only while data waits, so this costs memory
/// only when the reader lags. Best effort.
fn grow_pipe(fd: &OwnedFd) {
    crate::logs::capture::grow_pipe(fd, crate::logs::capture::READ_SIZE);
}

/// Highest fd to mark close-on-exec when close_range(2) is unavailable.
fn max_fd() -> libc::c_int {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into `r`.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0;
    if ok {
        r.rlim_cur.min(65536) as libc::c_int
    } else {
        1024
    }
}

/// Everything the child needs, allocated before the fork: between fork and
/// exec only async-signal-safe system calls run.
struct Prepared {
    program: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    directory: Option<CString>,
    /// `supervisor: couldn't exec ARGV0: ` (the errno name follows).
    exec_msg: Vec<u8>,
    /// `supervisor: couldn't chdir to DIR: `.
    chdir_msg: Vec<u8>,
    /// `supervisor: couldn't setuid to UID: `.
    setuid_msg: Vec<u8>,
}

fn cstring(what: &str, s: impl Into<Vec<u8>>) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError::Os(format!("{what} contains a NUL byte")))
}

/// The supervisor's environment with `overrides` set over it, in order (a
/// later value for the same name wins, like supervisord's dict update).
fn environment(overrides: &[(String, String)]) -> Result<Vec<CString>, SpawnError> {
    use std::os::unix::ffi::OsStrExt;
    let mut vars: Vec<(Vec<u8>, Vec<u8>)> = std::env::vars_os()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    for (k, v) in overrides {
        match vars.iter_mut().find(|(name, _)| name == k.as_bytes()) {
            Some(slot) => slot.1 = v.as_bytes().to_vec(),
            None => vars.push((k.as_bytes().to_vec(), v.as_bytes().to_vec())),
        }
    }
    vars.into_iter()
        .map(|(mut k, v)| {
            k.push(b'=');
            k.extend_from_slice(&v);
            cstring("an environment variable", k)
        })
        .collect()
}

fn prepare(program: &Path, req: &SpawnRequest<'_>) -> Result<Prepared, SpawnError> {
    use std::os::unix::ffi::OsStrExt;
    let argv0 = req.argv.first().map(String::as_str).unwrap_or_default();
    let argv = req
        .argv
        .iter()
        .map(|a| cstring("an argument", a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let directory = req
        .directory
        .map(|d| cstring("directory", d.as_os_str().as_bytes()))
        .transpose()?;
    Ok(Prepared {
        program: cstring("command", program.as_os_str().as_bytes())?,
        argv,
        envp: environment(&req.env)?,
        exec_msg: format!("supervisor: couldn't exec {argv0}: ").into_bytes(),
        chdir_msg: req
            .directory
            .map(|d| format!("supervisor: couldn't chdir to {}: ", d.display()).into_bytes())
            .unwrap_or_default(),
        setuid_msg: format!(
            "supervisor: couldn't setuid to {}: ",
            req.user.unwrap_or("")
        )
        .into_bytes(),
        directory,
    })
}

/// A null-terminated pointer array over `strings` (which must outlive it).
fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Starts the child. The command must already be [`resolve`]d to `program`.
///
/// Like supervisord, the parent does not wait for the exec: everything that
/// can be checked is checked before the fork, and a failure after it (chdir,
/// setuid, exec) is written to the child's stderr as `supervisor: couldn't
/// ...` and ends the child with status 127, which the normal exit handling
/// turns into BACKOFF. Not waiting is what lets 200 programs start in a few
/// tens of milliseconds: the child's exec runs on another core while the next
/// one is forked.
pub fn spawn(program: &Path, req: &SpawnRequest<'_>) -> Result<Spawned, SpawnError> {
    use std::os::fd::AsRawFd;
    let ids = match req.user {
        Some(u) => lookup_user(u)?,
        None => None,
    };
    let prep = prepare(program, req)?;
    let argv = pointers(&prep.argv);
    let envp = pointers(&prep.envp);
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    grow_pipe(&out_r);
    let (err_r, err_w) = if req.redirect_stderr {
        (None, None)
    } else {
        let (r, w) = pipe()?;
        grow_pipe(&r);
        (Some(r), Some(w))
    };
    let child_fds = ChildFds {
        stdin: in_r.as_raw_fd(),
        stdout: out_w.as_raw_fd(),
        stderr: err_w.as_ref().map_or(out_w.as_raw_fd(), |w| w.as_raw_fd()),
    };
    let child = ChildArgs {
        prep: &prep,
        argv: &argv,
        envp: &envp,
        fds: child_fds,
        ids: ids.as_ref(),
        umask: req.umask,
        maxfd: max_fd(),
    };
    let pid = clone_vfork(&child)
        .map_err(|e| SpawnError::Os(format!("couldn't fork: {}", errname(&e))))?;
    drop((in_r, out_w, err_w));
    Ok(Spawned {
        pid: pid as u32,
        stdin: in_w,
        stdout: out_r,
        stderr: err_r,
    })
}

/// Stack of the child between clone and exec (it runs only the short,
/// non-allocating [`child_after_fork`]).
const CHILD_STACK: usize = 64 * 1024;

/// What [`child_entry`] needs; lives on the parent's stack, which stays
/// untouched while the parent is suspended by `CLONE_VFORK`.
struct ChildArgs<'a> {
    prep: &'a Prepared,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    fds: ChildFds,
    ids: Option<&'a Ids>,
    umask: Option<u32>,
    maxfd: libc::c_int,
}

/// `clone(CLONE_VM | CLONE_VFORK)`, as glibc's posix_spawn does it: the
/// child shares our memory on its own stack until it execs, so there is no
/// page-table copy and no copy-on-write faults afterwards (with `fork` these
/// were two thirds of the supervisor's start-up CPU). We are suspended until
/// the child has exec'd or exited, which takes about as long as the exec
/// syscall itself. Signals stay blocked across it so that none of our
/// handlers (tokio's self-pipe writers) can run in the child.
fn clone_vfork(child: &ChildArgs<'_>) -> io::Result<libc::pid_t> {
    let mut stack: Vec<u8> = Vec::with_capacity(CHILD_STACK);
    // the stack grows down on every Linux architecture we build for; keep the
    // top 16-byte aligned as the ABIs require
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    // SAFETY: sigset_t is plain data; sigfillset/pthread_sigmask only write
    // the sets passed.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // SAFETY: `child_entry` gets a pointer to `child`, which outlives the
    // call because CLONE_VFORK suspends us until the child execs or exits;
    // the stack is ours and unused by anything else meanwhile.
    let pid = unsafe {
        libc::clone(
            child_entry,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            child as *const ChildArgs<'_> as *mut libc::c_void,
        )
    };
    let err = io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    drop(stack);
    if pid < 0 {
        Err(err)
    } else {
        Ok(pid)
    }
}

extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` of `clone_vfork`, alive while we run.
    unsafe {
        let a = &*(arg as *const ChildArgs<'_>);
        child_after_fork(a.prep, a.argv, a.envp, a.fds, a.ids, a.umask, a.maxfd)
    }
}

/// The child's ends of its three pipes.
#[derive(Clone, Copy)]
struct ChildFds {
    stdin: libc::c_int,
    stdout: libc::c_int,
    stderr: libc::c_int,
}

/// supervisord's `_spawn_as_child`: own process group, pipes on 0/1/2,
/// inherited fds closed on exec, user, directory, umask, then exec. Each step
/// that fails says so on stderr (the captured log) and exits 127.
///
/// # Safety
/// Only to be called in the child of [`clone_vfork`]. It shares the parent's
/// memory, so it only makes raw system calls (the credential changes go
/// straight to the kernel: glibc's wrappers would signal the parent's other
/// threads) and writes nothing but the shared `errno`.
unsafe fn child_after_fork(
    prep: &Prepared,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    fds: ChildFds,
    ids: Option<&Ids>,
    umask: Option<u32>,
    maxfd: libc::c_int,
) -> ! {
    libc::syscall(libc::SYS_setpgid, 0, 0);
    // default dispositions (an ignored SIGPIPE would survive exec) and an
    // empty mask for the new program
    for sig in 1..libc::SIGRTMIN() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    let empty: libc::sigset_t = std::mem::zeroed();
    libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    // pipe ends are >= 3 (0-2 are always open in the daemon), so dup2 never
    // clobbers one we still need; dup2 clears close-on-exec on the copy
    libc::dup2(fds.stdin, 0);
    libc::dup2(fds.stdout, 1);
    libc::dup2(fds.stderr, 2);
    cloexec_from_3(maxfd);
    if let Some(ids) = ids {
        if libc::syscall(libc::SYS_setgroups, ids.groups.len(), ids.groups.as_ptr()) != 0
            || libc::syscall(libc::SYS_setgid, ids.gid) != 0
            || libc::syscall(libc::SYS_setuid, ids.uid) != 0
        {
            child_fail(&prep.setuid_msg);
        }
    }
    if let Some(dir) = &prep.directory {
        if libc::chdir(dir.as_ptr()) != 0 {
            child_fail(&prep.chdir_msg);
        }
    }
    if let Some(m) = umask {
        libc::umask(m as libc::mode_t);
    }
    libc::execve(prep.program.as_ptr(), argv.as_ptr(), envp.as_ptr());
    child_fail(&prep.exec_msg)
}

/// Writes `prefix`, the errno name and supervisord's closing line to fd 2,
/// then `_exit(127)`. Async-signal-safe: formats into a stack buffer.
unsafe fn child_fail(prefix: &[u8]) -> ! {
    let errno = *libc::__errno_location();
    let mut buf = StackBuf::default();
    let _ = std::fmt::Write::write_fmt(
        &mut buf,
        format_args!("{:?}\n", nix::errno::Errno::from_raw(errno)),
    );
    libc::write(2, prefix.as_ptr().cast(), prefix.len());
    libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
    let last = b"supervisor: child process was not spawned\n";
    libc::write(2, last.as_ptr().cast(), last.len());
    libc::_exit(127)
}

/// A fixed buffer `fmt::Write` can fill without allocating.
struct StackBuf {
    bytes: [u8; 64],
    len: usize,
}

impl Default for StackBuf {
    fn default() -> Self {
        StackBuf {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.bytes.len() - self.len;
        let n = s.len().min(room);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn errname(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).to_string(),
        None => e.to_string(),
    }
}

/// Marks every fd >= 3 close-on-exec. Async-signal-safe.
fn cloexec_from_3(maxfd: libc::c_int) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: plain syscalls on fd numbers.
    unsafe {
        if libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        ) == 0
        {
            return;
        }
        for fd in 3..maxfd {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
                libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_like_supervisord() {
        assert!(resolve("sh").unwrap().is_absolute());
        assert_eq!(
            resolve("no-such-command-gwe").unwrap_err().to_string(),
            "can't find command 'no-such-command-gwe'"
        );
        assert_eq!(
            resolve("/no/such").unwrap_err().to_string(),
            "can't find command '/no/such'"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("plain");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(
            resolve(f.to_str().unwrap()).unwrap_err().to_string(),
            format!("command at '{}' is not executable", f.display())
        );
        assert_eq!(
            resolve(dir.path().to_str().unwrap())
                .unwrap_err()
                .to_string(),
            format!("command at '{}' is a directory", dir.path().display())
        );
        assert_eq!(resolve("").unwrap_err(), SpawnError::BadCommand);
    }
}
