//! The engine's view of an INI file, on top of `gwe-ini` (Python `RawConfigParser` dialect,
//! which the original engine used): ordered sections of ordered `key = value` pairs, written
//! back so unknown sections and keys survive a rewrite.

use std::path::Path;

pub use gwe_ini::{IniError, MAX_FILE_SIZE};

/// An ordered INI document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IniDoc {
    ini: gwe_ini::Ini,
}

impl Default for IniDoc {
    fn default() -> Self {
        Self {
            ini: gwe_ini::Ini::new(),
        }
    }
}

impl IniDoc {
    /// Parses `text`; `source` names the file in errors (with the line).
    pub fn parse(text: &str, source: &Path) -> Result<Self, IniError> {
        Ok(Self {
            ini: gwe_ini::Ini::parse_str(text, source)?,
        })
    }

    /// The value of `key` in `section`, if present.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.ini.get(section, key).map(|e| e.value.as_str())
    }

    /// Whether `section` exists.
    pub fn has_section(&self, section: &str) -> bool {
        self.ini.has_section(section)
    }

    /// The keys and values of `section` (DEFAULT ones included), in file order.
    pub fn entries(&self, section: &str) -> Vec<(String, String)> {
        self.ini
            .items(section)
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }

    /// Sets `key` in `section`, creating either as needed (keeps its position when present).
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.ini.set(section, key, value);
    }

    /// Renders the document as INI text that reads back the same.
    pub fn render(&self) -> Result<String, IniError> {
        self.ini.write_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IniDoc, IniError> {
        IniDoc::parse(text, Path::new("/x/Gateway.cfg"))
    }

    #[test]
    fn parses_sections_keys_comments_and_continuations() {
        let doc =
            parse("# top\n[device]\nCIK = abc ; note\nmodel: m\nuuid = a\n  more\n[other]\nx=1\n")
                .unwrap();
        assert_eq!(doc.get("device", "cik"), Some("abc"));
        assert_eq!(doc.get("device", "model"), Some("m"));
        assert_eq!(doc.get("device", "uuid"), Some("a\nmore"));
        assert_eq!(doc.get("other", "x"), Some("1"));
        assert_eq!(doc.get("nope", "x"), None);
    }

    #[test]
    fn malformed_input_names_file_and_line() {
        let err = parse("cik = x\n").unwrap_err().to_string();
        assert!(err.contains("Gateway.cfg:1"), "{err}");
        let err = parse("[device]\njust words\n").unwrap_err().to_string();
        assert!(err.contains("Gateway.cfg:2"), "{err}");
    }

    #[test]
    fn render_round_trips_and_keeps_unknown_sections() {
        let mut doc = parse("[device]\ncik = a\n[custom]\nk = v\n").unwrap();
        doc.set("device", "uuid", "U");
        doc.set("device", "cik", "b");
        let text = doc.render().unwrap();
        let again = parse(&text).unwrap();
        assert_eq!(again.get("device", "cik"), Some("b"));
        assert_eq!(again.get("device", "uuid"), Some("U"));
        assert_eq!(again.get("custom", "k"), Some("v"));
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for input in [
            "[",
            "]",
            "[]\n=",
            "[a]\n\t\tcont",
            "[a]\n:\n",
            "\u{0}\u{feff}[x]\ny=z",
        ] {
            let _ = parse(input);
        }
    }
}
