//! supervisord's `expand()`: Python `%`-formatting of a value against a mapping
//! (`'%(program_name)s_%(process_num)02d' % expansions`), so `%%` is a literal `%` and an
//! unknown name is an error.
//!
//! Supported conversions: `s d i u o x X` with Python's flags (`#0- +`), width and precision.
//! Others (`r a c e f g`) and unnamed specifiers are refused (supervisord would accept a few of
//! them, with results nobody relies on).

use std::collections::BTreeMap;

/// A value that can be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpVal {
    /// A string (`here`, `program_name`, `ENV_X`, ...).
    Str(String),
    /// An integer (`process_num`, `numprocs`).
    Int(i64),
}

/// The names a value may use.
pub type Expansions = BTreeMap<String, ExpVal>;

/// Formats `s` with the `expansions`; the error says what is wrong (and the available names
/// for an unknown one).
pub fn expand(s: &str, expansions: &Expansions) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let spec = &rest[pos + 1..];
        if let Some(after) = spec.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        let Some(inner) = spec.strip_prefix('(') else {
            return Err(format!(
                "badly formatted: `%` must be written `%%` or start `%(name)s` (in {s:?})"
            ));
        };
        let Some(close) = inner.find(')') else {
            return Err(format!("badly formatted: incomplete format key (in {s:?})"));
        };
        let name = &inner[..close];
        let (conv, consumed) = parse_spec(&inner[close + 1..]).ok_or_else(|| {
            format!("badly formatted: incomplete format after %({name}) (in {s:?})")
        })?;
        let value = expansions.get(name).ok_or_else(|| {
            let names: Vec<&str> = expansions.keys().map(String::as_str).collect();
            format!(
                "%({name}) cannot be expanded (in {s:?}); available names: {}",
                names.join(", ")
            )
        })?;
        out.push_str(&conv.format(value).map_err(|e| format!("{e} (in {s:?})"))?);
        rest = &inner[close + 1 + consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A parsed conversion specifier after `%(name)`.
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
    conv: char,
}

/// Parses flags, width, precision, length modifier and the conversion char; returns the spec
/// and how many bytes it used.
fn parse_spec(s: &str) -> Option<(Spec, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut spec = Spec {
        left: false,
        zero: false,
        plus: false,
        space: false,
        alt: false,
        width: 0,
        precision: None,
        conv: 's',
    };
    while i < b.len() {
        match b[i] {
            b'-' => spec.left = true,
            b'0' => spec.zero = true,
            b'+' => spec.plus = true,
            b' ' => spec.space = true,
            b'#' => spec.alt = true,
            _ => break,
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        s[start..*i].parse::<usize>().ok()
    };
    spec.width = digits(&mut i).unwrap_or(0);
    if b.get(i) == Some(&b'.') {
        i += 1;
        spec.precision = Some(digits(&mut i).unwrap_or(0));
    }
    while i < b.len() && matches!(b[i], b'h' | b'l' | b'L') {
        i += 1;
    }
    let c = s[i..].chars().next()?;
    spec.conv = c;
    // Bound the output: a width like %(x)999999999s must not allocate gigabytes.
    if spec.width > 4096 || spec.precision.is_some_and(|p| p > 4096) {
        return Some((
            Spec {
                conv: '\u{0}',
                ..spec
            },
            i + c.len_utf8(),
        ));
    }
    Some((spec, i + c.len_utf8()))
}

impl Spec {
    fn format(&self, value: &ExpVal) -> Result<String, String> {
        let body = match (self.conv, value) {
            ('s', ExpVal::Str(v)) => match self.precision {
                Some(p) => v.chars().take(p).collect(),
                None => v.clone(),
            },
            ('s', ExpVal::Int(n)) => {
                let v = n.to_string();
                match self.precision {
                    Some(p) => v.chars().take(p).collect(),
                    None => v,
                }
            }
            ('d' | 'i' | 'u' | 'o' | 'x' | 'X', ExpVal::Int(n)) => return Ok(self.format_int(*n)),
            ('d' | 'i' | 'u' | 'o' | 'x' | 'X', ExpVal::Str(_)) => {
                return Err(format!(
                    "%{} format: a number is required, not a string",
                    self.conv
                ))
            }
            ('\u{0}', _) => return Err("format width or precision too large".to_owned()),
            (c, _) => return Err(format!("unsupported format character {c:?}")),
        };
        Ok(self.pad(body, false))
    }

    fn format_int(&self, n: i64) -> String {
        let mag = n.unsigned_abs();
        let mut digits = match self.conv {
            'o' => format!("{mag:o}"),
            'x' => format!("{mag:x}"),
            'X' => format!("{mag:X}"),
            _ => mag.to_string(),
        };
        if let Some(p) = self.precision {
            while digits.len() < p {
                digits.insert(0, '0');
            }
        }
        let prefix = match (self.alt, self.conv) {
            (true, 'o') => "0o",
            (true, 'x') => "0x",
            (true, 'X') => "0X",
            _ => "",
        };
        let sign = if n < 0 {
            "-"
        } else if self.plus {
            "+"
        } else if self.space {
            " "
        } else {
            ""
        };
        let head = format!("{sign}{prefix}");
        if self.zero && !self.left {
            let len = head.len() + digits.len();
            let zeros = self.width.saturating_sub(len);
            return format!("{head}{}{digits}", "0".repeat(zeros));
        }
        self.pad(format!("{head}{digits}"), true)
    }

    fn pad(&self, body: String, _numeric: bool) -> String {
        let len = body.chars().count();
        if len >= self.width {
            return body;
        }
        let fill = " ".repeat(self.width - len);
        if self.left {
            body + &fill
        } else {
            fill + &body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Expansions {
        let mut v = Expansions::new();
        v.insert("program_name".into(), ExpVal::Str("web".into()));
        v.insert("process_num".into(), ExpVal::Int(7));
        v.insert("neg".into(), ExpVal::Int(-7));
        v
    }

    #[test]
    fn formats_like_python() {
        let v = vars();
        // Expected values produced with CPython: "..." % {...}
        for (input, want) in [
            ("%(program_name)s_%(process_num)02d", "web_07"),
            ("%(process_num)d", "7"),
            ("%(process_num)s", "7"),
            ("%(process_num)5d|", "    7|"),
            ("%(process_num)-5d|", "7    |"),
            ("%(process_num)+d", "+7"),
            ("%(neg)03d", "-07"),
            ("%(process_num)#x %(process_num)o", "0x7 7"),
            ("%(process_num).3d", "007"),
            ("%(process_num)05.3d", "00007"),
            ("%(process_num)#5x", "  0x7"),
            ("%(program_name)05s", "  web"),
            ("%(program_name).2s|%(program_name)5s", "we|  web"),
            ("100%% sure", "100% sure"),
            ("no percent", "no percent"),
        ] {
            assert_eq!(expand(input, &v).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn refuses_what_python_refuses_or_we_do_not_support() {
        let v = vars();
        for bad in [
            "%(nope)s",
            "50%",
            "%s",
            "%(program_name)d",
            "%(program_name",
            "%(x)",
            "%(process_num)99999999d",
        ] {
            assert!(expand(bad, &v).is_err(), "{bad}");
        }
        let e = expand("%(nope)s", &v).unwrap_err();
        assert!(
            e.contains("available names: neg, process_num, program_name"),
            "{e}"
        );
    }
}
