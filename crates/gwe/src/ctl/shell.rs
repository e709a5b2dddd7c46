//! `gwe ctl` without a command: supervisorctl's interactive shell. It runs
//! `status` first, then reads command lines (from a terminal or a pipe)
//! until `exit`, `quit`, EOF or Ctrl-C at the prompt. Each line goes
//! through the same [`super::onecmd`] as one-shot mode.

use super::input::{read_line, Input};
use super::interrupt::catch_sigint;
use super::{onecmd, Ctl, Next};

/// Runs the shell until the user leaves it.
pub(crate) fn run(ctl: &mut Ctl, prompt: &str) {
    // `exec_cmdloop` queues `status` before the first prompt.
    onecmd(ctl, "status");
    loop {
        // Ctrl-C is caught only while waiting at the prompt; during a
        // command it keeps its meaning (tail -f and fg catch it themselves).
        let input = {
            let guard = catch_sigint();
            read_line(prompt, &guard)
        };
        let line = match input {
            Input::Line(l) => l,
            // `do_EOF` prints an empty line and ends the loop.
            Input::Eof => "EOF".to_owned(),
            // `exec_cmdloop`: `except KeyboardInterrupt: self.output('')`.
            Input::Interrupted => {
                ctl.line("");
                ctl.flush();
                return;
            }
        };
        if onecmd(ctl, &line) == Next::Quit {
            return;
        }
    }
}
