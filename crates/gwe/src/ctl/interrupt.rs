//! Ctrl-C while following a stream (`tail -f`, `maintail -f`, `fg`) ends the
//! command, not the program, as supervisorctl's `except KeyboardInterrupt`.
//!
//! A SIGINT handler only sets a flag; the command polls it. Streams are
//! copied on a helper thread because a blocked socket read is not reliably
//! woken by a signal (the HTTP chunk reader retries `EINTR`).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use gwe_supervisor_client::LogStream;

static FIRED: AtomicBool = AtomicBool::new(false);

/// How often a waiting command looks at the flag when no signal woke it.
pub(crate) const POLL: Duration = Duration::from_millis(200);

extern "C" fn on_sigint(_: libc::c_int) {
    FIRED.store(true, Ordering::SeqCst);
}

/// SIGINT is caught while this lives; the previous disposition comes back on drop.
pub(crate) struct SigintGuard {
    old: libc::sigaction,
}

/// Installs the flag-setting SIGINT handler (no `SA_RESTART`, so blocking
/// `poll`/`read` on the calling thread return `EINTR`).
pub(crate) fn catch_sigint() -> SigintGuard {
    FIRED.store(false, Ordering::SeqCst);
    // SAFETY: plain sigaction(2) calls on zeroed structs; the handler only
    // touches an atomic, which is async-signal-safe.
    unsafe {
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut new.sa_mask);
        new.sa_flags = 0;
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, &new, &mut old);
        if old.sa_sigaction == libc::SIG_IGN {
            // Started with SIGINT ignored (a background job): stay deaf to
            // it, as Python's KeyboardInterrupt never comes then either.
            libc::sigaction(libc::SIGINT, &old, std::ptr::null_mut());
        }
        SigintGuard { old }
    }
}

impl SigintGuard {
    /// True once Ctrl-C was pressed since the guard was installed.
    pub fn fired(&self) -> bool {
        FIRED.load(Ordering::SeqCst)
    }
}

impl Drop for SigintGuard {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved by `catch_sigint`.
        unsafe {
            libc::sigaction(libc::SIGINT, &self.old, std::ptr::null_mut());
        }
    }
}

/// A log stream copied to stdout on its own thread.
pub(crate) struct Pump {
    stop: Arc<AtomicBool>,
    done: mpsc::Receiver<std::io::Result<()>>,
}

impl Pump {
    /// Starts copying `stream` to stdout until EOF, an error or [`Pump::stop`].
    pub fn spawn(mut stream: LogStream) -> Pump {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, done) = mpsc::channel();
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let result = loop {
                match stream.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    // A stopped pump writes nothing more; the thread ends
                    // with the next data or when the daemon closes the stream.
                    Ok(_) if flag.load(Ordering::SeqCst) => break Ok(()),
                    Ok(n) => {
                        let mut out = std::io::stdout().lock();
                        if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                            // stdout closed (e.g. piped into head): stop quietly.
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            let _ = tx.send(result);
        });
        Pump { stop, done }
    }

    /// Waits until the stream ends (`Some(result)`) or Ctrl-C (`None`).
    pub fn wait(&self, guard: &SigintGuard) -> Option<std::io::Result<()>> {
        loop {
            if guard.fired() {
                return None;
            }
            match self.done.recv_timeout(POLL) {
                Ok(r) => return Some(r),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Some(Ok(())),
            }
        }
    }
}

impl Drop for Pump {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
