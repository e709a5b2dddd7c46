//! A test's long-running child (a supervisor daemon), stopped like a service when the guard
//! goes out of scope: SIGTERM, up to 20 s to exit, then SIGKILL.

use std::process::Child;
use std::time::{Duration, Instant};

/// Owns the child; stops it on drop.
pub struct StopOnDrop(pub Child);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // SAFETY: SIGTERM to our own child.
        unsafe {
            kill(self.0.id() as i32, 15);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
