//! Drains a child's stdout/stderr pipe into its log file.
//!
//! Into a regular file the bytes move with splice(2), pipe to file inside the
//! kernel, as many per readiness as the pipe holds. Otherwise (devices, a
//! file that fails, a kernel without splice) they are copied:
//! every capture task shares one 128 KiB read buffer (per thread): the task
//! borrows it only between an awaited readiness and the next `WouldBlock`,
//! never across an `.await`, so 50 programs cost 128 KiB, not 12.5 MiB. Data is
//! written straight to the file; if the file cannot be written the pipe is
//! still drained (the child is never blocked by the log) and the bytes are
//! dropped and counted by [`RotatingFile`].
//!
//! A hot stream (over 1 MiB within 10 ms) gets a 1 MiB pipe and leaves the
//! event loop for a short-lived thread ([`drain_hot`]) that naps a few
//! hundred microseconds (for a writer over 500 MB/s that is the only hot
//! stream, keeps to its CPU and yields instead: [`Busy`]), takes
//! what the pipe holds into a private pipe (page moves, not copies) and
//! splices it to the file in 128 KiB-aligned pieces.
//! It goes back to the event loop when the pipe stays empty for
//! [`COOL_AFTER`] or a [`RATE_WINDOW`] brings less than [`HOT_BYTES`].
//! Why a thread: once a pipe has been polled, Linux wakes its epoll waiter on
//! *every* write, so a child writing 8 KiB at a time would cost the event loop
//! 130,000 wake-ups per GiB and delay the RPC server and other captures.
//! Measured on a 2-core VM against `| cat > file` (docs/benchmarks.md): a
//! splice straight from the child's pipe into the file holds the child's pipe
//! lock while the file is written (0.7-0.8x of cat); a `cat`-like read/write
//! loop woken by every write reached 0.80-0.99x of cat with rotation. An idle
//! stream never sets a timer and never has a thread.
//!
//! A stream that goes to syslog or has escapes stripped (`strip_ansi`) always
//! takes the copy path: its bytes must pass through the daemon. They are
//! stripped first, then written to the file (if any) and sent to syslog line
//! by line ([`super::syslog`]).

use std::cell::RefCell;
use std::io;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use tokio::net::unix::pipe;

use super::ansi::Stripper;
use super::rotating::Splice;
use super::syslog::{self, LineSender};
use super::{MainLog, RotatingFile};

/// Read size, as supervisord (`os.read(fd, 128 KiB)`) and `cat` use.
pub const READ_SIZE: usize = 128 * 1024;
/// Asks for a pipe capacity of `size` bytes and returns the capacity the pipe
/// has then. Best effort: past the user's pipe quota the kernel refuses
/// (EPERM) and the pipe keeps its size.
pub(crate) fn grow_pipe(fd: impl AsFd, size: usize) -> usize {
    use nix::fcntl::{fcntl, FcntlArg};
    let fd = fd.as_fd();
    match fcntl(fd, FcntlArg::F_SETPIPE_SZ(size as libc::c_int)) {
        Ok(n) => n as usize,
        Err(_) => fcntl(fd, FcntlArg::F_GETPIPE_SZ).map_or(0, |n| n as usize),
    }
}

/// Pipe size of a hot stream (the unprivileged maximum, `fs.pipe-max-size`):
/// room for what a fast writer produces while the file is being rotated.
const HOT_PIPE: usize = 1024 * 1024;
/// A stream is hot when this much arrives within [`HOT_WINDOW`] (100 MB/s).
const HOT_BYTES: u64 = 1024 * 1024;
const HOT_WINDOW: std::time::Duration = std::time::Duration::from_millis(10);
/// A hot stream whose pipe stays empty this long goes back to the event loop.
const COOL_AFTER: std::time::Duration = std::time::Duration::from_millis(20);
/// ... as does one that brings less than [`HOT_BYTES`] in this long (a
/// steady trickle after a burst).
const RATE_WINDOW: std::time::Duration = std::time::Duration::from_millis(100);
/// Stack of a hot stream's thread (its read buffer is on the heap).
const HOT_STACK: usize = 64 * 1024;

/// Decides when a spliced stream is hot enough to be drained in batches.
#[derive(Debug)]
struct Pace {
    window_start: std::time::Instant,
    window_bytes: u64,
    /// The pipe's capacity after the last attempt to grow it (0 before
    /// any).
    pipe_size: usize,
    /// The stream is hot: it leaves the event loop for a thread.
    lingering: bool,
}

impl Pace {
    fn new() -> Pace {
        Pace {
            window_start: std::time::Instant::now(),
            window_bytes: 0,
            pipe_size: 0,
            lingering: false,
        }
    }

    /// The pipe was grown to [`HOT_PIPE`].
    fn grown(&self) -> bool {
        self.pipe_size >= HOT_PIPE
    }

    /// How much one splice may move.
    fn splice_len(&self) -> usize {
        if self.grown() {
            HOT_PIPE
        } else {
            READ_SIZE
        }
    }

    /// Back from a hot period: start counting afresh.
    fn cooled(&mut self) {
        self.lingering = false;
        self.window_start = std::time::Instant::now();
        self.window_bytes = 0;
    }

    /// Accounts one drain of `moved` bytes from `rx`.
    fn record(&mut self, moved: usize, rx: &pipe::Receiver) {
        let now = std::time::Instant::now();
        if now.duration_since(self.window_start) > HOT_WINDOW {
            self.window_start = now;
            self.window_bytes = 0;
        }
        self.window_bytes += moved as u64;
        if !self.lingering && self.window_bytes >= HOT_BYTES {
            if !self.grown() {
                self.pipe_size = grow_pipe(rx, HOT_PIPE);
            }
            self.lingering = true;
        }
    }
}
/// Reads per readiness before yielding to other tasks, so that one chatty
/// child cannot starve the RPC server or the other captures.
const READS_PER_TURN: usize = 32;

thread_local! {
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Stripped copy of BUF (only streams with `strip_ansi` touch it).
    static STRIPPED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Where captured bytes go: a shared log file, or nowhere (NONE).
pub type Sink = Option<Arc<Mutex<RotatingFile>>>;

/// Everything a stream's output goes through.
#[derive(Debug, Default)]
pub struct Output {
    /// The log file, if any.
    pub file: Sink,
    /// Per-line syslog messages (`*_syslog`), if on.
    pub syslog: Option<LineSender>,
    /// Escape stripping (`strip_ansi`), if on.
    pub strip: Option<Stripper>,
}

/// Reads `rx` until EOF into `out`. `what` names the stream in the one-time
/// error line (`x stdout`).
pub async fn capture(mut rx: pipe::Receiver, mut out: Output, log: MainLog, what: String) {
    let sink = out.file.clone();
    // The log file exists from the spawn on, as with supervisord (which opens
    // it then); an error here is reported by the first write that fails.
    if let Some(s) = &sink {
        s.lock().unwrap_or_else(|e| e.into_inner()).touch();
    }
    let mut can_splice = sink.is_some() && out.syslog.is_none() && out.strip.is_none();
    let mut pace = Pace::new();
    loop {
        if pace.lingering {
            if let Some(file) = &sink {
                match hot_period(rx, file.clone(), pace.pipe_size).await {
                    Ok((back, Hot::Cooled)) => {
                        rx = back;
                        pace.cooled();
                    }
                    Ok((back, Hot::Eof)) => {
                        // the event loop sees the end of file too
                        rx = back;
                        pace.cooled();
                    }
                    Ok((back, Hot::Unsupported)) => {
                        rx = back;
                        pace.cooled();
                        can_splice = false;
                    }
                    Ok((back, Hot::Fallback(e))) => {
                        rx = back;
                        pace.cooled();
                        if let Some(e) = e {
                            log.log(
                                crate::process::Level::Error,
                                &format!("cannot write {what} log, dropping output: {e}"),
                            );
                        }
                    }
                    Err(e) => {
                        log.log(
                            crate::process::Level::Error,
                            &format!("{what}: lost the pipe leaving the event loop: {e}"),
                        );
                        return;
                    }
                }
            }
        }
        if rx.readable().await.is_err() {
            return;
        }
        let mut step = Drain::Copy;
        if can_splice {
            let mut moved = 0;
            step = splice(&rx, &mut out, &log, pace.splice_len(), &mut moved);
            pace.record(moved, &rx);
            if matches!(step, Drain::Unsupported) {
                can_splice = false;
                step = Drain::Copy;
            }
        }
        if matches!(step, Drain::Copy) {
            step = drain(&rx, &mut out, &log);
        }
        match step {
            Drain::Eof => {
                finish(&mut out, &log);
                let lost = sink
                    .as_ref()
                    .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).still_failing());
                if let Some(n) = lost.filter(|n| *n > 0) {
                    log.log(
                        crate::process::Level::Error,
                        &format!("{what} log: {n} bytes of output dropped"),
                    );
                }
                return;
            }
            Drain::Recovered(n) => log.log(
                crate::process::Level::Warn,
                &format!("{what} log writable again after dropping {n} bytes of output"),
            ),
            Drain::WouldBlock | Drain::Copy | Drain::Unsupported => {}
            Drain::More => tokio::task::yield_now().await,
            Drain::WriteFailed(e) => log.log(
                crate::process::Level::Error,
                &format!("cannot write {what} log, dropping output: {e}"),
            ),
        }
    }
}

/// How a hot period ended.
enum Hot {
    /// The pipe stayed empty for [`COOL_AFTER`], or a [`RATE_WINDOW`]
    /// brought less than [`HOT_BYTES`]: back to the event loop.
    Cooled,
    /// The writer closed the pipe (the event loop then sees the EOF too).
    Eof,
    /// Writing failed (full disk, unwritable file): the event loop's copy
    /// path drains and counts what cannot be written. Carries the error of
    /// the first failure of a run, to be logged once.
    Fallback(Option<io::Error>),
    /// This kernel or file cannot splice: the event loop copies from now on.
    Unsupported,
}

/// Takes `rx` out of the event loop and drains it on a thread until it
/// cools; returns it registered again. `pipe_size`: the capacity of the
/// child's pipe, as growing it left it.
async fn hot_period(
    rx: pipe::Receiver,
    file: Arc<Mutex<RotatingFile>>,
    pipe_size: usize,
) -> io::Result<(pipe::Receiver, Hot)> {
    let fd = rx.into_nonblocking_fd()?;
    let (tx, done) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("gwe-capture".into())
        .stack_size(HOT_STACK)
        .spawn(move || {
            let how = drain_hot(&fd, pipe_size, &file);
            let _ = tx.send((fd, how));
        });
    let (fd, how) = match spawned {
        Ok(_) => done
            .await
            .map_err(|_| io::Error::other("capture thread ended without an answer"))?,
        // no thread to be had: stay on the event loop
        Err(_) => return Err(io::Error::other("cannot start a capture thread")),
    };
    Ok((pipe::Receiver::from_owned_fd(fd)?, how))
}

/// The hot thread's loop, until the stream cools: gather what the child wrote
/// during a short nap, then write it out in file-aligned pieces.
///
/// - The child's pipe is spliced into a private pipe: that moves page
///   references, so the child's pipe lock is held for microseconds, not for a
///   copy (a 1 MiB `read` made the child's `write` spin on that lock).
/// - The private pipe is spliced into the file: one copy, from the pipe's
///   pages into the page cache, with no other writer waiting on that lock.
/// - Napping instead of polling: a polled pipe wakes its reader on every
///   write; a napping reader costs the child nothing and gathers a few
///   hundred KiB per wake-up. A writer that fills half its pipe between two
///   gathers would be held back by the naps (the pipe full, the child
///   blocked, this thread asleep), so then the next gather follows the
///   write-out at once.
/// - While the writer is faster than 500 MB/s and no other stream is hot,
///   the thread keeps to its CPU and yields between gathers instead of
///   sleeping ([`Busy`]).
/// - Pieces end on [`ALIGN`] boundaries of the file, so the page cache holds
///   it in large folios, which are cheaper to fill and to free when the
///   rotated-out file is deleted.
///
/// Measured on a 2-core VM against `| cat > file` (docs/benchmarks.md).
/// Whatever way the period ends, the private pipe is empty by then.
fn drain_hot(fd: &std::os::fd::OwnedFd, pipe_size: usize, file: &Mutex<RotatingFile>) -> Hot {
    use std::os::fd::AsRawFd;
    let Ok(mut staged) = Staging::new() else {
        return Hot::Unsupported;
    };
    // dropped after `busy` (declared later), so a kept CPU is given back
    // before another stream can find itself alone
    let _hot = HotStream::enter();
    let child = fd.as_raw_fd();
    // a writer that fills half of its pipe between two gathers outpaces the
    // naps: gather again as soon as the last write-out is done
    let outpaced = match pipe_size {
        // the size could not even be read
        0 => HOT_PIPE / 2,
        n => n / 2,
    };
    let mut window_start = std::time::Instant::now();
    let mut window_bytes = 0u64;
    let mut busy = Busy::default();
    let mut burst_start = window_start;
    let mut burst_bytes = 0u64;
    let mut empty_naps = 0u32;
    loop {
        // gather
        let gathered_at = std::time::Instant::now();
        let mut got = 0usize;
        let mut eof = false;
        // a private pipe still full (the file took less than it held): no
        // nap before the next write-out
        let mut full = staged.held == staged.cap;
        while !full {
            let len = staged.cap - staged.held;
            // SAFETY: splice between two pipes we own; no offsets.
            let n = unsafe {
                libc::splice(
                    child,
                    std::ptr::null_mut(),
                    staged.w.as_raw_fd(),
                    std::ptr::null_mut(),
                    len,
                    libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
                )
            };
            if n > 0 {
                // One call takes all the child's pipe holds (up to `len`);
                // what the child writes meanwhile waits for the next
                // wake-up, so the two do not take turns at the pipe's lock.
                staged.held += n as usize;
                got = n as usize;
                full = got == len;
                break;
            }
            if n == 0 {
                eof = true;
                break;
            }
            match io::Error::last_os_error().raw_os_error() {
                // the child's pipe is empty (or ours has no free slot)
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => continue,
                // no pipe-to-pipe splice here: the event loop copies
                _ => return staged.finish(file, Hot::Unsupported),
            }
        }
        window_bytes += got as u64;
        burst_bytes += got as u64;
        empty_naps = if got == 0 { empty_naps + 1 } else { 0 };
        // a pause (nothing came during a few naps) or the end: write out
        // all, so no line waits in our pipe
        let pause = empty_naps > EMPTY_NAPS;
        if let Err(how) = staged.write_out(file, eof || pause) {
            return how;
        }
        if eof {
            return Hot::Eof;
        }
        let now = std::time::Instant::now();
        if now.duration_since(window_start) >= RATE_WINDOW {
            if window_bytes < HOT_BYTES {
                return staged.finish(file, Hot::Cooled);
            }
            if window_bytes < BUSY_BYTES {
                busy.end();
            }
            window_start = now;
            window_bytes = 0;
        }
        if now.duration_since(burst_start) >= BUSY_WINDOW {
            // quick to start, slow to end: a pipeline placed apart in its
            // first milliseconds stays apart for much of a short run
            if burst_bytes >= BUSY_BYTES / 10 {
                busy.start();
            }
            busy.place();
            burst_start = now;
            burst_bytes = 0;
        }
        if pause {
            // wait for the next write; a pause this long ends the hot period
            let mut p = libc::pollfd {
                fd: child,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one pollfd, ours.
            let r = unsafe { libc::poll(&mut p, 1, COOL_AFTER.as_millis() as libc::c_int) };
            if r == 0 {
                return Hot::Cooled;
            }
            empty_naps = 0;
        } else if !full && got < outpaced {
            // one gather per NAP, the write-out included
            if busy.yields() {
                yield_until(gathered_at + NAP);
            } else if let Some(rest) = NAP.checked_sub(gathered_at.elapsed()) {
                std::thread::sleep(rest);
            }
        }
        // else: the writer outpaces the naps: go again at once
    }
}

/// A writer fast enough to be a CPU-bound pipeline (a [`BUSY_WINDOW`] brought
/// a tenth of [`BUSY_BYTES`]), until a [`RATE_WINDOW`] brings less than
/// [`BUSY_BYTES`]. While it is also the only hot stream ([`HOT_STREAMS`]),
/// the hot thread keeps to the CPU it is on and yields between gathers
/// ([`yield_until`]) instead of sleeping.
///
/// Why keep to one CPU: otherwise at each wake-up the scheduler may move the
/// thread to the CPU the writer's processes were on, and them to where the
/// thread was, which can leave a `yes | head` pipeline split over two CPUs for
/// hundreds of milliseconds (seen with `perf record -e sched:sched_migrate_task`).
/// On a 2-vCPU VM, with the anchor's wait loop running, the writer's median
/// rose from 1381 to 1529 MB/s (`yes | head`, 20 interleaved runs) and from
/// 976 to 1057 (`head | tr`, 12 runs) (docs/benchmarks.md). The thread ends
/// with the hot period, and gets back the mask it had when the writer slows
/// down.
#[derive(Default)]
struct Busy {
    on: bool,
    /// The only hot stream in the daemon, when last placed.
    alone: bool,
    /// The mask the thread had before it was kept to one CPU (none: not
    /// kept).
    kept: Option<nix::sched::CpuSet>,
    /// The kernel refused to keep it to one CPU: do not ask again.
    refused: bool,
}

/// Hot streams (threads in [`drain_hot`]) in the whole daemon. Only the one
/// hot stream keeps to a CPU and yields: several fast writers keep the CPUs
/// busy themselves, and with two `yes | head` writers at once on two CPUs,
/// threads that kept to a CPU or yielded measured lower and more spread out
/// than napping ones (`WRITERS=2 bench/capture_interleaved.sh`,
/// docs/benchmarks.md).
static HOT_STREAMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Counts a hot stream in [`HOT_STREAMS`] while it lives.
struct HotStream;

impl HotStream {
    fn enter() -> HotStream {
        HOT_STREAMS.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        HotStream
    }
}

impl Drop for HotStream {
    fn drop(&mut self) {
        HOT_STREAMS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Busy {
    fn start(&mut self) {
        self.on = true;
    }

    fn end(&mut self) {
        self.on = false;
        self.release();
    }

    /// Keeps the thread to the CPU it is on while it is busy and the only
    /// hot stream, and gives the mask back when another stream is hot too.
    fn place(&mut self) {
        use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
        use nix::unistd::Pid;
        let alone = self.on && HOT_STREAMS.load(std::sync::atomic::Ordering::Acquire) == 1;
        self.alone = alone;
        if !alone {
            self.release();
            return;
        }
        if self.kept.is_some() || self.refused {
            return;
        }
        let me = Pid::from_raw(0);
        let (Ok(before), Ok(cpu)) = (sched_getaffinity(me), sched_getcpu()) else {
            self.refused = true;
            return;
        };
        let mut one = CpuSet::new();
        if one.set(cpu).is_ok() && sched_setaffinity(me, &one).is_ok() {
            self.kept = Some(before);
        } else {
            // best effort: the yields go on
            self.refused = true;
        }
    }

    /// Yields between gathers rather than napping: busy and the only hot
    /// stream (several fast writers keep the CPUs busy themselves).
    fn yields(&self) -> bool {
        self.on && self.alone
    }

    fn release(&mut self) {
        if let Some(before) = self.kept.take() {
            let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &before);
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.end();
    }
}

/// Gives the CPU to whatever else is runnable until `deadline`, without
/// leaving it idle.
///
/// Why not sleep: a CPU left idle draws the wake-ups of a fast child's own
/// processes (`yes | head`: each wakes the other at every 64 KiB), which the
/// scheduler then spreads over two CPUs, where each hand-over costs a
/// cross-CPU wake-up. On a 2-vCPU VM `head | tr` ran at 0.83-0.91 of its
/// speed into `cat` (whose copying keeps its CPU busy) with naps, and at
/// 1.03-1.12 yielding (docs/benchmarks.md). A yielding thread keeps the
/// pipeline together on the other CPU, and a runnable program on this CPU
/// gets it at each yield.
fn yield_until(deadline: std::time::Instant) {
    while std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
}

/// How long the hot thread naps between gathers: at 1 GB/s, some 300 KB
/// arrive meanwhile, well within [`HOT_PIPE`].
const NAP: std::time::Duration = std::time::Duration::from_micros(300);
/// What a [`RATE_WINDOW`] brings from a writer fast enough (500 MB/s) to be
/// a CPU-bound pipeline ([`Busy`]).
const BUSY_BYTES: u64 = 50_000_000;
/// A writer is [`Busy`] from the first window this long that brings a tenth
/// of [`BUSY_BYTES`].
const BUSY_WINDOW: std::time::Duration = std::time::Duration::from_millis(10);
/// Naps in a row that bring nothing before the hot thread writes out what it
/// holds and waits for the child (a child descheduled for a moment has not
/// gone quiet).
const EMPTY_NAPS: u32 = 3;
/// File alignment of the hot thread's writes (32 pages).
const ALIGN: u64 = 128 * 1024;

/// The hot thread's private pipe: what was taken from the child's pipe and
/// not yet written to the file.
struct Staging {
    r: std::os::fd::OwnedFd,
    w: std::os::fd::OwnedFd,
    /// Bytes in the pipe.
    held: usize,
    /// Bytes it can hold.
    cap: usize,
}

impl Staging {
    fn new() -> io::Result<Staging> {
        use nix::fcntl::OFlag;
        let (r, w) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        // past the user's pipe quota the pipe keeps its default size and
        // gathers less per call
        let cap = grow_pipe(&r, HOT_PIPE).max(4096);
        Ok(Staging { r, w, held: 0, cap })
    }

    /// Splices what is held to the file: all of it, or (`all` false) up to
    /// the last [`ALIGN`] boundary it reaches in the file. On a failure the
    /// rest is copied to the file's failure accounting and the period ends.
    fn write_out(&mut self, file: &Mutex<RotatingFile>, all: bool) -> Result<(), Hot> {
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        while self.held > 0 {
            let mut want = self.held as u64;
            if !all {
                // up to the last boundary; the rest waits for more to come
                let tail = (f.size() + want) % ALIGN;
                if tail >= want {
                    break;
                }
                want -= tail;
            }
            match f.splice_from(self.r.as_fd(), want as usize) {
                // less than asked for (a rotation point, a signal): go on
                // from where the file is now
                Splice::Moved(n) => self.held -= n.min(self.held),
                // held bytes are in the pipe: only a bug gets here
                Splice::Eof | Splice::Empty => {
                    self.held = 0;
                    break;
                }
                Splice::Unsupported => {
                    drop(f);
                    return Err(self.spill(file, Hot::Unsupported));
                }
                Splice::Failed(e) => {
                    drop(f);
                    return Err(self.spill(file, Hot::Fallback(e)));
                }
            }
        }
        Ok(())
    }

    /// Ends the period as `how`, with everything held written out.
    fn finish(&mut self, file: &Mutex<RotatingFile>, how: Hot) -> Hot {
        match self.write_out(file, true) {
            Ok(()) => how,
            Err(failed) => failed,
        }
    }

    /// After a failed splice: empties the pipe into the file with plain
    /// writes (which drop and count what cannot be written) and returns
    /// `how`, or the write error if `how` has none to report.
    fn spill(&mut self, file: &Mutex<RotatingFile>, how: Hot) -> Hot {
        use std::os::fd::AsRawFd;
        if self.held == 0 {
            return how;
        }
        let mut f = file.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = vec![0u8; READ_SIZE.min(self.held)];
        let mut first_error = None;
        while self.held > 0 {
            // SAFETY: reads into our buffer from our non-blocking pipe.
            let n = unsafe { libc::read(self.r.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                break;
            }
            self.held -= (n as usize).min(self.held);
            if let Some(e) = f.write(&buf[..n as usize]) {
                first_error.get_or_insert(e);
            }
        }
        self.held = 0;
        match (how, first_error) {
            (Hot::Fallback(None), Some(e)) => Hot::Fallback(Some(e)),
            (how, _) => how,
        }
    }
}

enum Drain {
    Eof,
    /// Splicing is not possible for this sink: copy from now on.
    Unsupported,
    /// Splicing failed this time: copy (and drop) what the pipe holds.
    Copy,
    Recovered(u64),
    WouldBlock,
    More,
    WriteFailed(io::Error),
}

/// Splices until the pipe is empty (or [`READS_PER_TURN`] moves), `len` at
/// most per call; adds what it moved to `moved`.
fn splice(
    rx: &pipe::Receiver,
    out: &mut Output,
    log: &MainLog,
    len: usize,
    moved: &mut usize,
) -> Drain {
    let Some(s) = out.file.clone() else {
        return Drain::Unsupported;
    };
    let mut file = s.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..READS_PER_TURN {
        // try_io clears the readiness on EAGAIN, so the next await sleeps
        let r = rx.try_io(|| match file.splice_from(rx.as_fd(), len) {
            Splice::Empty => Err(io::ErrorKind::WouldBlock.into()),
            other => Ok(other),
        });
        match r {
            Ok(Splice::Moved(n)) => {
                *moved += n;
                if let Some(lost) = file.take_recovered() {
                    return Drain::Recovered(lost);
                }
                if n < len {
                    // Less than asked for: the pipe is empty now. Clearing the
                    // readiness here saves the splice that would only return
                    // EAGAIN (a third of the syscalls when a child writes in
                    // small pieces); data written meanwhile raises a new
                    // edge-triggered event, so nothing is missed.
                    let _ = rx.try_io(|| Err::<(), _>(io::ErrorKind::WouldBlock.into()));
                    return Drain::WouldBlock;
                }
            }
            Ok(Splice::Eof) => return Drain::Eof,
            Ok(Splice::Unsupported) => return Drain::Unsupported,
            Ok(Splice::Failed(Some(e))) => {
                drop(file);
                // the data is still in the pipe: read and drop it
                let _ = drain(rx, out, log);
                return Drain::WriteFailed(e);
            }
            Ok(Splice::Failed(None)) => return Drain::Copy,
            Ok(Splice::Empty) => return Drain::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drain::WouldBlock,
            Err(_) => return Drain::Eof,
        }
    }
    Drain::More
}

fn drain(rx: &pipe::Receiver, out: &mut Output, log: &MainLog) -> Drain {
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        if buf.capacity() < READ_SIZE {
            // capacity only: pages are not touched (resident) until data arrives
            *buf = Vec::with_capacity(READ_SIZE);
        }
        for _ in 0..READS_PER_TURN {
            buf.clear();
            match rx.try_read_buf(&mut *buf) {
                Ok(0) => return Drain::Eof,
                Ok(n) => {
                    if let Some(step) = deliver(&buf[..n], out, log) {
                        return step;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drain::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Drain::Eof,
            }
        }
        Drain::More
    })
}

/// Strips (if on), then writes to the file and syslog. Some(step) when the
/// file reports something.
fn deliver(data: &[u8], out: &mut Output, log: &MainLog) -> Option<Drain> {
    let Some(mut st) = out.strip.take() else {
        return write(data, out, log);
    };
    let step = STRIPPED.with(|s| {
        let mut s = s.borrow_mut();
        s.clear();
        st.strip(data, &mut s);
        write(&s, out, log)
    });
    out.strip = Some(st);
    step
}

fn write(data: &[u8], out: &mut Output, log: &MainLog) -> Option<Drain> {
    if data.is_empty() {
        return None;
    }
    if let Some(lines) = out.syslog.as_mut() {
        let to = syslog::global();
        lines.feed(data, to, &mut |sent| report(to, sent, log));
    }
    if let Some(s) = &out.file {
        let mut file = s.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = file.write(data) {
            return Some(Drain::WriteFailed(e));
        }
        if let Some(lost) = file.take_recovered() {
            return Some(Drain::Recovered(lost));
        }
    }
    None
}

/// At EOF: what the stripper held back and the unfinished last line go out.
fn finish(out: &mut Output, log: &MainLog) {
    if let Some(mut st) = out.strip.take() {
        let mut rest = Vec::new();
        st.finish(&mut rest);
        let _ = write(&rest, out, log);
    }
    if let Some(lines) = out.syslog.as_mut() {
        let to = syslog::global();
        lines.finish(to, &mut |sent| report(to, sent, log));
    }
}

fn report(to: &syslog::Syslog, sent: syslog::Sent, log: &MainLog) {
    if let Some((level, msg)) = to.describe(&sent) {
        log.log(level, &msg);
    }
}
