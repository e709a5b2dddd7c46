//! Process states and the table of legal transitions between them
//! (supervisord's `states.py` and the transitions `process.py` makes).
//!
//! ```text
//!            spawn                 > startsecs up
//! STOPPED ----------> STARTING ---------------------> RUNNING
//! EXITED  ----------> STARTING                          |  \ exit
//! FATAL   ----------> STARTING                          |   `-----> EXITED --(autorestart)--> STARTING
//!                      |   \ exit too quickly / spawnerr |
//!                      |    `----> BACKOFF --(delay)--> STARTING
//!                      |             | \ backoff > startretries
//!                      | stop        |  `----> FATAL
//!                      v             v stop
//!                   STOPPING ---> STOPPED  <-----------'
//! ```
//! Any state may go to UNKNOWN when signalling the process fails unexpectedly.

/// One of supervisord's process states; the discriminant is its wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i64)]
pub enum ProcessState {
    /// Not running, by request or never started.
    #[default]
    Stopped = 0,
    /// Spawned, not yet up for more than `startsecs`.
    Starting = 10,
    /// Up for more than `startsecs`.
    Running = 20,
    /// Exited too quickly; waiting to retry.
    Backoff = 30,
    /// A stop signal was sent; waiting for the exit.
    Stopping = 40,
    /// Exited on its own after RUNNING.
    Exited = 100,
    /// Gave up after too many start retries.
    Fatal = 200,
    /// Signalling failed in an unexpected way.
    Unknown = 1000,
}

use ProcessState::*;

/// Every legal `(from, to)` move. Anything else is a bug and is refused.
pub const ALLOWED_TRANSITIONS: &[(ProcessState, &[ProcessState])] = &[
    (Stopped, &[Starting, Unknown]),
    (Starting, &[Running, Backoff, Stopping, Unknown]),
    (Running, &[Stopping, Exited, Unknown]),
    (Backoff, &[Starting, Fatal, Stopped, Unknown]),
    (Stopping, &[Stopped, Unknown]),
    (Exited, &[Starting, Unknown]),
    (Fatal, &[Starting, Unknown]),
    (Unknown, &[Starting, Stopped]),
];

impl ProcessState {
    /// The wire code (`state` in getProcessInfo).
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The name supervisord uses (`statename`).
    pub fn name(self) -> &'static str {
        match self {
            Stopped => "STOPPED",
            Starting => "STARTING",
            Running => "RUNNING",
            Backoff => "BACKOFF",
            Stopping => "STOPPING",
            Exited => "EXITED",
            Fatal => "FATAL",
            Unknown => "UNKNOWN",
        }
    }

    /// supervisord's RUNNING_STATES: the process is (trying to be) up.
    pub fn is_running(self) -> bool {
        matches!(self, Running | Backoff | Starting)
    }

    /// supervisord's STOPPED_STATES.
    pub fn is_stopped(self) -> bool {
        matches!(self, Stopped | Exited | Fatal | Unknown)
    }

    /// supervisord's SIGNALLABLE_STATES: there is a live pid to signal.
    pub fn is_signallable(self) -> bool {
        matches!(self, Running | Starting | Stopping)
    }

    /// Whether the table allows moving from `self` to `to`.
    pub fn can_go(self, to: ProcessState) -> bool {
        ALLOWED_TRANSITIONS
            .iter()
            .find(|(from, _)| *from == self)
            .is_some_and(|(_, tos)| tos.contains(&to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ProcessState; 8] = [
        Stopped, Starting, Running, Backoff, Stopping, Exited, Fatal, Unknown,
    ];

    #[test]
    fn test_valid_transitions() {
        // (from, to, allowed)
        let rows = [
            (Stopped, Starting, true),
            (Stopped, Running, false),
            (Stopped, Backoff, false),
            (Starting, Running, true),
            (Starting, Backoff, true),
            (Starting, Stopping, true),
            (Starting, Exited, false),
            (Starting, Fatal, false),
            (Running, Exited, true),
            (Running, Stopping, true),
            (Running, Backoff, false),
            (Running, Starting, false),
            (Backoff, Starting, true),
            (Backoff, Fatal, true),
            (Backoff, Stopped, true),
            (Backoff, Running, false),
            (Stopping, Stopped, true),
            (Stopping, Exited, false),
            (Stopping, Starting, false),
            (Exited, Starting, true),
            (Exited, Stopped, false),
            (Fatal, Starting, true),
            (Fatal, Running, false),
            (Unknown, Starting, true),
        ];
        for (from, to, ok) in rows {
            assert_eq!(from.can_go(to), ok, "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn every_state_has_a_row_and_codes_match_supervisord() {
        for s in ALL {
            assert!(ALLOWED_TRANSITIONS.iter().any(|(f, _)| *f == s), "{s:?}");
            assert!(!s.can_go(s), "{s:?} must not self-transition");
        }
        let codes: Vec<i64> = ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, [0, 10, 20, 30, 40, 100, 200, 1000]);
    }

    #[test]
    fn state_sets_match_supervisord() {
        let running: Vec<_> = ALL.iter().filter(|s| s.is_running()).collect();
        assert_eq!(running, [&Starting, &Running, &Backoff]);
        let stopped: Vec<_> = ALL.iter().filter(|s| s.is_stopped()).collect();
        assert_eq!(stopped, [&Stopped, &Exited, &Fatal, &Unknown]);
        let sig: Vec<_> = ALL.iter().filter(|s| s.is_signallable()).collect();
        assert_eq!(sig, [&Starting, &Running, &Stopping]);
    }
}
