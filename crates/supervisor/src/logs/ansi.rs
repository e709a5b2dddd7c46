//! `strip_ansi`: supervisord's `stripEscapes` (dispatchers.py) as a stream
//! filter. An escape starts at `ESC [` and is hidden up to and including the
//! first terminator byte (`HfABCDRsuJKhlpm`); nothing else is touched (a lone
//! `ESC` stays).
//!
//! supervisord strips each read on its own, so a sequence split across two
//! reads leaks its tail; here the state carries over to the next read, so it
//! is stripped wherever the pipe cut it. Only a sequence still open after
//! [`MAX_ESCAPE`] bytes at the end of a read is given up (as supervisord gives
//! up at the end of every read), so an unterminated `ESC [` cannot swallow
//! all later output.

/// supervisord's `ANSI_TERMINATORS`.
const TERMINATORS: &[u8] = b"HfABCDRsuJKhlpm";
/// An escape longer than this at a read boundary is abandoned.
pub const MAX_ESCAPE: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Show,
    /// An `ESC` ended the last read; `[` would start an escape.
    Esc,
    /// Inside an escape, `n` bytes hidden so far.
    Hide(usize),
}

/// The stripping state of one stream.
#[derive(Debug, Default)]
pub struct Stripper {
    state: State,
}

impl Stripper {
    /// Appends `data` without escapes to `out`.
    pub fn strip(&mut self, data: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::Show => {
                    // copy up to the next ESC in one go
                    match data[i..].iter().position(|&b| b == 0x1b) {
                        None => {
                            out.extend_from_slice(&data[i..]);
                            i = data.len();
                        }
                        Some(n) => {
                            out.extend_from_slice(&data[i..i + n]);
                            i += n + 1;
                            self.state = State::Esc;
                        }
                    }
                }
                State::Esc => {
                    if data[i] == b'[' {
                        self.state = State::Hide(2);
                        i += 1;
                    } else {
                        // not an escape: the ESC is output, the byte is looked at again
                        out.push(0x1b);
                        self.state = State::Show;
                    }
                }
                State::Hide(n) => {
                    self.state = if TERMINATORS.contains(&data[i]) {
                        State::Show
                    } else {
                        State::Hide(n + 1)
                    };
                    i += 1;
                }
            }
        }
        if matches!(self.state, State::Hide(n) if n > MAX_ESCAPE) {
            self.state = State::Show;
        }
    }

    /// At EOF: a trailing lone `ESC` is output.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.state == State::Esc {
            out.push(0x1b);
        }
        self.state = State::Show;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// supervisord's stripEscapes, transcribed, for comparison.
    fn python(s: &[u8]) -> Vec<u8> {
        let mut result = Vec::new();
        let mut show = true;
        let mut i = 0;
        while i < s.len() {
            if !show && TERMINATORS.contains(&s[i]) {
                show = true;
            } else if show {
                match s[i..].windows(2).position(|w| w == b"\x1b[") {
                    None => {
                        result.extend_from_slice(&s[i..]);
                        return result;
                    }
                    Some(n) => {
                        result.extend_from_slice(&s[i..i + n]);
                        i += n;
                        show = false;
                    }
                }
            }
            i += 1;
        }
        result
    }

    fn whole(s: &[u8]) -> Vec<u8> {
        let mut st = Stripper::default();
        let mut out = Vec::new();
        st.strip(s, &mut out);
        st.finish(&mut out);
        out
    }

    const CASES: &[&[u8]] = &[
        b"plain",
        b"\x1b[31mred\x1b[0m done\n",
        b"\x1b[1;32;40mA\x1b[K\x1b[2J\x1b[10;5Hx",
        b"lone \x1b here",
        b"\x1b\x1b[31mx",
        b"\x1b",
        b"ab\x1b",
        b"\x1b[",
        b"unterminated \x1b[31 rest",
        b"\x1b[?25lhidden cursor\x1b[?25h",
        b"\x1b[31m\x1b[31m\x1b[",
        b"[31m not an escape",
    ];

    #[test]
    fn same_as_supervisord_on_whole_reads() {
        for c in CASES {
            assert_eq!(whole(c), python(c), "{:?}", String::from_utf8_lossy(c));
        }
    }

    #[test]
    fn escapes_split_across_reads_are_stripped() {
        let input = b"a\x1b[1;31mred\x1b[0m b \x1b c\x1b[Kd\n";
        let want = whole(input);
        assert_eq!(want, b"ared b \x1b cd\n");
        for cut in 0..=input.len() {
            for cut2 in cut..=input.len() {
                let mut st = Stripper::default();
                let mut out = Vec::new();
                st.strip(&input[..cut], &mut out);
                st.strip(&input[cut..cut2], &mut out);
                st.strip(&input[cut2..], &mut out);
                st.finish(&mut out);
                assert_eq!(out, want, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn an_unterminated_escape_is_given_up_at_a_read_boundary() {
        let mut st = Stripper::default();
        let mut out = Vec::new();
        let mut long = b"x\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', MAX_ESCAPE));
        st.strip(&long, &mut out);
        st.strip(b"visible\n", &mut out);
        assert_eq!(out, b"xvisible\n");
    }
}
