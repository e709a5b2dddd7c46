//! Lines typed by the user (shell commands, `fg` input, confirmations),
//! read straight from fd 0 so that Ctrl-C can interrupt the wait. On a
//! terminal the tty driver does the line editing (erase, kill, ^D).

use std::io::Write;

use super::interrupt::{SigintGuard, POLL};

/// What reading a line gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A line without its end.
    Line(String),
    /// End of input (^D or the pipe closed).
    Eof,
    /// Ctrl-C.
    Interrupted,
}

/// Longest line kept; the rest of a longer line is dropped.
const MAX_LINE: usize = 64 * 1024;

/// Prints `prompt` on stdout (as Python's `input()`) and reads one line.
pub(crate) fn read_line(prompt: &str, guard: &SigintGuard) -> Input {
    if !prompt.is_empty() {
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(prompt.as_bytes());
        let _ = so.flush();
    }
    let mut line = Vec::new();
    loop {
        if guard.fired() {
            return Input::Interrupted;
        }
        let mut pfd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let timeout = i32::try_from(POLL.as_millis()).unwrap_or(200);
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, timeout) };
        if r <= 0 {
            // Timeout or EINTR: look at the flag again. Other poll errors
            // cannot happen with a valid fd array; a closed fd 0 shows as
            // POLLNVAL below.
            continue;
        }
        if pfd.revents & libc::POLLNVAL != 0 {
            return Input::Eof;
        }
        let mut byte = 0u8;
        // SAFETY: reads one byte into a valid buffer. One byte at a time so
        // nothing after the line is consumed (a later reader may want it).
        let n = unsafe { libc::read(0, (&mut byte as *mut u8).cast(), 1) };
        match n {
            1 if byte == b'\n' => break,
            1 => {
                if line.len() < MAX_LINE {
                    line.push(byte);
                }
            }
            0 if line.is_empty() => return Input::Eof,
            0 => break,
            _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
            _ => return Input::Eof,
        }
    }
    Input::Line(String::from_utf8_lossy(&line).into_owned())
}

/// Like [`read_line`], with the terminal's echo off while typing (Python's
/// `getpass`); from a pipe the line is read as it is.
pub(crate) fn read_secret(prompt: &str, guard: &SigintGuard) -> Input {
    // SAFETY: termios calls on fd 0 with a struct we own; an all-zero
    // termios is a valid value to be filled by tcgetattr.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    let tty = unsafe { libc::isatty(0) == 1 && libc::tcgetattr(0, &mut saved) == 0 };
    if tty {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        unsafe { libc::tcsetattr(0, libc::TCSAFLUSH, &quiet) };
    }
    let got = read_line(prompt, guard);
    if tty {
        unsafe { libc::tcsetattr(0, libc::TCSAFLUSH, &saved) };
        // the newline the user typed was not echoed
        println!();
    }
    got
}
