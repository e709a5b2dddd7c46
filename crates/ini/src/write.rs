//! Serialization back to INI, checked by reading the output again: a value or name that the
//! dialect cannot hold (inline comment markers after whitespace, leading/trailing whitespace,
//! `=` in a key, ...) is refused instead of being silently changed.

use std::fmt::Write as _;
use std::path::Path;

use crate::{Ini, IniError, Section};

fn write_section(out: &mut String, s: &Section) {
    let _ = writeln!(out, "[{}]", s.name());
    for e in s.entries() {
        if e.value.is_empty() {
            let _ = writeln!(out, "{} =", e.key);
        } else {
            let _ = writeln!(out, "{} = {}", e.key, e.value.replace('\n', "\n\t"));
        }
    }
    out.push('\n');
}

pub(crate) fn write_string(ini: &Ini) -> Result<String, IniError> {
    let mut out = String::new();
    if !ini.defaults.is_empty() {
        write_section(&mut out, &ini.defaults);
    }
    for s in &ini.sections {
        write_section(&mut out, s);
    }
    let unrepresentable = |section: &str, key: &str, reason: &str| IniError::Unrepresentable {
        section: section.to_owned(),
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    let back = Ini::parse_str(&out, Path::new("<written>"))
        .map_err(|e| unrepresentable("", "", &format!("the written text does not parse: {e}")))?;
    let pairs = std::iter::once((&ini.defaults, Some(&back.defaults)))
        .chain(ini.sections.iter().map(|s| (s, back.section(s.name()))));
    for (orig, read) in pairs {
        let Some(read) = read else {
            return Err(unrepresentable(
                orig.name(),
                "",
                "the section name does not read back",
            ));
        };
        if read.len() != orig.len() {
            return Err(unrepresentable(
                orig.name(),
                "",
                "the options do not read back (a key holds `=`, `:`, a comment marker or is not lower-case)",
            ));
        }
        for e in orig.entries() {
            match read.get(&e.key) {
                Some(r) if r.value == e.value => {}
                Some(_) => {
                    return Err(unrepresentable(
                        orig.name(),
                        &e.key,
                        "the value does not read back (leading/trailing whitespace, blank trailing lines or comment markers after whitespace)",
                    ))
                }
                None => return Err(unrepresentable(orig.name(), &e.key, "the key does not read back")),
            }
        }
    }
    if back.sections.len() != ini.sections.len() {
        return Err(unrepresentable(
            "",
            "",
            "section names collide when read back",
        ));
    }
    Ok(out)
}
