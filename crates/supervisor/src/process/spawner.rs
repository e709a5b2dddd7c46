//! Starting a child: resolve the command like supervisord, then fork/exec via
//! `std::process::Command` with a `pre_exec` hook that only makes
//! async-signal-safe system calls (everything it needs is prepared before the
//! fork): `setpgid(0, 0)`, `umask`, `setgroups`/`setgid`/`setuid`, and marking
//! every inherited fd above 2 close-on-exec. stdin, stdout and stderr are pipes
//! whose parent ends are returned (stderr shares the stdout pipe with
//! `redirect_stderr`).

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a pipe fd we own.
    unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            crate::logs::capture::READ_SIZE as libc::c_int,
        );
    }
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

/// Starts the child. The command must already be [`resolve`]d to `program`.
pub fn spawn(program: &Path, req: &SpawnRequest<'_>) -> Result<Spawned, SpawnError> {
    let ids = match req.user {
        Some(u) => lookup_user(u)?,
        None => None,
    };
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    grow_pipe(&out_r);
    let (err_r, err_w) = if req.redirect_stderr {
        (
            None,
            out_w
                .try_clone()
                .map_err(|e| SpawnError::Os(e.to_string()))?,
        )
    } else {
        let (r, w) = pipe()?;
        grow_pipe(&r);
        (Some(r), w)
    };
    let mut cmd = Command::new(program);
    if let Some(a0) = req.argv.first() {
        cmd.arg0(a0);
    }
    cmd.args(req.argv.iter().skip(1))
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::from(in_r))
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));
    if let Some(d) = req.directory {
        cmd.current_dir(d);
    }
    let umask = req.umask;
    let maxfd = max_fd();
    // SAFETY: the hook runs between fork and exec and only calls
    // async-signal-safe functions on data prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(m) = umask {
                libc::umask(m as libc::mode_t);
            }
            if let Some(ids) = &ids {
                if libc::setgroups(ids.groups.len(), ids.groups.as_ptr()) != 0
                    || libc::setgid(ids.gid) != 0
                    || libc::setuid(ids.uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
            }
            cloexec_from_3(maxfd);
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        SpawnError::Os(format!(
            "couldn't exec {}: {}",
            program.display(),
            errname(&e)
        ))
    })?;
    // The std Child handle is dropped without waiting: the reaper collects it.
    Ok(Spawned {
        pid: child.id(),
        stdin: in_w,
        stdout: out_r,
        stderr: err_r,
    })
}

fn errname(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).to_string(),
        None => e.to_string(),
    }
}

/// Marks every fd >= 3 close-on-exec (the pipe std uses to report exec errors
/// is already CLOEXEC, so it keeps working). Async-signal-safe.
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
