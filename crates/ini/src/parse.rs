//! CPython 3.11 `RawConfigParser._read`, transcribed: same line splitting, comment search,
//! continuation rule and error cases, so that line numbers and values agree with supervisord's.

use std::path::Path;

use crate::{BadLine, Ini, IniError, Location, Section};

/// Python's `str.isspace()` (also what `\s` and `str.strip()` use): Rust's Unicode whitespace
/// plus the ASCII information separators U+001C..U+001F.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Line terminators in `bytes`, counted like Python's universal newlines (`\r\n` is one).
pub(crate) fn count_line_breaks(bytes: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => n += 1,
            b'\r' => {
                n += 1;
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    n
}

/// Splits like iterating over a text-mode Python file: `\n`, `\r\n` and `\r` end lines.
/// Yields the lines without their terminators.
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
        }
    })
}

/// Where an inline or full-line comment starts, by CPython's algorithm: each round looks at the
/// next occurrence of every prefix and stops at the first round that finds one at the start of
/// the line or after whitespace (so a later `#` can win over an earlier, non-comment `;`).
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut start = usize::MAX;
    let mut active: Vec<(u8, usize)> = vec![(b';', 0), (b'#', 0)];
    while start == usize::MAX && !active.is_empty() {
        let mut next = Vec::with_capacity(2);
        for (prefix, from) in active {
            let Some(k) = bytes[from..].iter().position(|&b| b == prefix) else {
                continue;
            };
            let i = from + k;
            next.push((prefix, i + 1));
            if i == 0 || line[..i].chars().next_back().is_some_and(is_py_space) {
                start = start.min(i);
            }
        }
        active = next;
    }
    let stripped = py_strip(line);
    if stripped.starts_with('#') || stripped.starts_with(';') {
        start = 0;
    }
    (start != usize::MAX).then_some(start)
}

/// Which section the parser is filling.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Defaults,
    Named(usize),
}

/// The option whose (possibly multi-line) value is being collected.
struct Current {
    target: Target,
    key: String,
    pieces: Vec<String>,
    location: Location,
}

fn section_mut(ini: &mut Ini, target: Target) -> &mut Section {
    match target {
        Target::Defaults => &mut ini.defaults,
        Target::Named(i) => &mut ini.sections[i],
    }
}

/// Stores a finished option: pieces joined with `\n`, trailing whitespace (empty lines) dropped.
fn flush(ini: &mut Ini, current: &mut Option<Current>) {
    if let Some(c) = current.take() {
        let joined = c.pieces.join("\n");
        let value = joined.trim_end_matches(is_py_space).to_owned();
        section_mut(ini, c.target).insert(c.key, value, c.location);
    }
}

pub(crate) fn read(ini: &mut Ini, text: &str, source: &Path) -> Result<(), IniError> {
    let file: std::sync::Arc<Path> = std::sync::Arc::from(source);
    let mut target: Option<Target> = None;
    let mut current: Option<Current> = None;
    let mut indent_level = 0usize;
    let mut bad: Vec<BadLine> = Vec::new();

    for (idx, line) in universal_lines(text).enumerate() {
        let lineno = idx + 1;
        let comment = comment_start(line);
        let value = py_strip(&line[..comment.unwrap_or(line.len())]);
        if value.is_empty() {
            // empty_lines_in_values=True: a blank (comment-free) line belongs to the value.
            if comment.is_none() {
                if let Some(c) = current.as_mut() {
                    c.pieces.push(String::new());
                }
            }
            continue;
        }
        let indent = line.chars().take_while(|&c| is_py_space(c)).count();
        if indent > indent_level {
            if let Some(c) = current.as_mut() {
                c.pieces.push(value.to_owned());
                continue;
            }
        }
        indent_level = indent;
        if let Some(name) = header(value) {
            flush(ini, &mut current);
            let location = Location {
                file: file.clone(),
                line: lineno,
            };
            target = Some(if name == crate::DEFAULT_SECTION {
                Target::Defaults
            } else {
                ini.section_or_insert(name, location);
                Target::Named(ini.index[name])
            });
            continue;
        }
        let Some(t) = target else {
            return Err(IniError::MissingSectionHeader {
                path: source.to_owned(),
                line: lineno,
                text: line.to_owned(),
            });
        };
        match value.find(['=', ':']) {
            Some(d) => {
                flush(ini, &mut current);
                let key = value[..d].trim_end_matches(is_py_space);
                if key.is_empty() {
                    // CPython records the error and keeps going with an empty (falsy) name,
                    // which no later line continues.
                    bad.push(BadLine {
                        line: lineno,
                        text: line.to_owned(),
                    });
                    continue;
                }
                current = Some(Current {
                    target: t,
                    key: key.to_lowercase(),
                    pieces: vec![py_strip(&value[d + 1..]).to_owned()],
                    location: Location {
                        file: file.clone(),
                        line: lineno,
                    },
                });
            }
            None => bad.push(BadLine {
                line: lineno,
                text: line.to_owned(),
            }),
        }
    }
    flush(ini, &mut current);
    if bad.is_empty() {
        Ok(())
    } else {
        Err(IniError::Parse {
            path: source.to_owned(),
            lines: bad,
        })
    }
}

/// `SECTCRE.match`: `[` then at least one character then the last `]` (trailing text ignored).
fn header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}
