//! The INI dialect of Python's `RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)`,
//! which is what supervisord reads its configuration with (`UnhosedConfigParser`).
//!
//! The parser follows CPython 3.11's `configparser._read` line by line, including its quirks,
//! because a config that supervisord accepts must mean the same thing here:
//!
//! - `[name]` headers (the name is everything up to the *last* `]`, not trimmed);
//! - `key = value` / `key: value`, split at the first `=` or `:`; keys are lower-cased;
//! - full-line comments (`#`/`;` after optional whitespace) and inline comments (`;`/`#`
//!   at the start of the line or preceded by whitespace, found with CPython's round-based search);
//! - multi-line values: lines indented deeper than the key line continue it; blank lines inside a
//!   value are kept, trailing ones are dropped;
//! - duplicate sections merge, a duplicate option's last value wins (strict=False);
//! - `[DEFAULT]` options are visible from every section;
//! - no interpolation: values are returned raw (supervisord expands `%(name)s` itself).
//!
//! Every option records the file and line it came from so callers can report `file:line: ...`.
//! [`Ini::write_string`] serializes back to INI in the same order.
#![deny(missing_docs)]

mod parse;
mod write;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The largest file [`Ini::read_file`] accepts: config files are small, a bigger one is a mistake.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// The name of the section whose options every other section inherits.
pub const DEFAULT_SECTION: &str = "DEFAULT";

/// Where something was defined: file and 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file (as given to the reader; `<string>`-like names for in-memory sources).
    pub file: Arc<Path>,
    /// 1-based line number; 0 for values set programmatically.
    pub line: usize,
}

impl Location {
    /// A location in `file` at `line`.
    pub fn new(file: &Path, line: usize) -> Self {
        Location {
            file: Arc::from(file),
            line,
        }
    }

    /// The location given to values set with [`Ini::set`] (no file line).
    pub fn programmatic() -> Self {
        Location::new(Path::new("<set>"), 0)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// One option: lower-cased key, raw value (multi-line values joined with `\n`) and where the
/// winning definition was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key after `optionxform` (lower-cased).
    pub key: String,
    /// The raw value, stripped, comments removed, never interpolated.
    pub value: String,
    /// Where the value was defined (the line of the `key =` part).
    pub location: Location,
}

/// A section: its options in first-definition order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    name: String,
    location: Location,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl Section {
    /// An empty section called `name`, defined at `location`.
    pub fn new(name: &str, location: Location) -> Self {
        Section {
            name: name.to_owned(),
            location,
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The section name exactly as written between the brackets.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the section header first appeared.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// This section's own options (without DEFAULT ones), in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// This section's own option `key` (already lower-case), without DEFAULT fallback.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).map(|&i| &self.entries[i])
    }

    /// Number of own options.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the section has no own options.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets `key` (lower-cased like `optionxform`) to `value`; an existing key keeps its position.
    pub fn set(&mut self, key: &str, value: &str, location: Location) {
        self.insert(key.to_lowercase(), value.to_owned(), location);
    }

    /// Removes `key` (lower-cased), returning its entry.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let key = key.to_lowercase();
        let i = self.index.remove(&key)?;
        let entry = self.entries.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Some(entry)
    }

    fn insert(&mut self, key: String, value: String, location: Location) {
        match self.index.get(&key) {
            Some(&i) => {
                let e = &mut self.entries[i];
                e.value = value;
                e.location = location;
            }
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push(Entry {
                    key,
                    value,
                    location,
                });
            }
        }
    }
}

/// A parsed configuration: the DEFAULT section plus the named sections in order.
///
/// Reading several files into one `Ini` behaves like calling `RawConfigParser.read` on each:
/// sections of later files merge into earlier ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ini {
    defaults: Section,
    sections: Vec<Section>,
    index: HashMap<String, usize>,
}

impl Default for Ini {
    fn default() -> Self {
        Self::new()
    }
}

/// A line that is neither a header, an option nor a comment (CPython's `ParsingError` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// The line's text (without the line terminator).
    pub text: String,
}

/// Why reading or writing INI failed. Every variant names the file, and the line when there is one.
#[derive(Debug, thiserror::Error)]
pub enum IniError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    #[error("{}: file is too large ({size} bytes; the limit is {limit} bytes)", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or a lower bound of it).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not valid UTF-8.
    #[error("{}:{line}: file is not valid UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line holding the first invalid byte.
        line: usize,
    },
    /// An option (or anything not a comment) before the first `[section]` header.
    #[error("{}:{line}: file contains no section headers before this line: {text:?}", path.display())]
    MissingSectionHeader {
        /// The file.
        path: PathBuf,
        /// The offending line.
        line: usize,
        /// Its text.
        text: String,
    },
    /// Lines that are not `key = value`, a header or a comment (all of them are listed).
    #[error("{}:{}: not a [section] header, a `key = value` option or a comment: {:?}{}",
        path.display(), lines[0].line, lines[0].text,
        if lines.len() > 1 { format!(" (and {} more bad lines)", lines.len() - 1) } else { String::new() })]
    Parse {
        /// The file.
        path: PathBuf,
        /// Every bad line, in order (never empty).
        lines: Vec<BadLine>,
    },
    /// [`Ini::write_string`] was asked to write something that would not read back the same.
    #[error("cannot write [{section}] {key}: {reason}")]
    Unrepresentable {
        /// Section name.
        section: String,
        /// Option key (empty when the section name is the problem).
        key: String,
        /// What cannot be represented.
        reason: String,
    },
}

impl IniError {
    /// The file and line the error points at, when it points at a line.
    pub fn location(&self) -> Option<(&Path, usize)> {
        match self {
            IniError::NotUtf8 { path, line } => Some((path, *line)),
            IniError::MissingSectionHeader { path, line, .. } => Some((path, *line)),
            IniError::Parse { path, lines } => Some((path, lines[0].line)),
            _ => None,
        }
    }
}

impl Ini {
    /// An empty configuration.
    pub fn new() -> Self {
        Ini {
            defaults: Section::new(DEFAULT_SECTION, Location::programmatic()),
            sections: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Parses `text`; `source` names it in locations and errors.
    pub fn parse_str(text: &str, source: &Path) -> Result<Self, IniError> {
        let mut ini = Ini::new();
        ini.read_str(text, source)?;
        Ok(ini)
    }

    /// Reads and parses one file.
    pub fn load(path: &Path) -> Result<Self, IniError> {
        let mut ini = Ini::new();
        ini.read_file(path)?;
        Ok(ini)
    }

    /// Reads `path` into this configuration (merging sections, like `RawConfigParser.read`).
    /// Refuses files over [`MAX_FILE_SIZE`] and non-UTF-8 content.
    pub fn read_file(&mut self, path: &Path) -> Result<(), IniError> {
        use std::io::Read;
        let io = |source| IniError::Io {
            path: path.to_owned(),
            source,
        };
        // Only regular files: opening a FIFO would block forever and a device could be endless.
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(io(std::io::Error::other("not a regular file")));
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let too_large = |size| IniError::TooLarge {
            path: path.to_owned(),
            size,
            limit: MAX_FILE_SIZE,
        };
        if meta.len() > MAX_FILE_SIZE {
            return Err(too_large(meta.len()));
        }
        // The size can change (or lie, for special files): never read more than the limit + 1.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_FILE_SIZE {
            return Err(too_large(bytes.len() as u64));
        }
        self.read_bytes(&bytes, path)
    }

    /// Parses UTF-8 `bytes` into this configuration; `source` names them in errors.
    pub fn read_bytes(&mut self, bytes: &[u8], source: &Path) -> Result<(), IniError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.read_str(text, source),
            Err(e) => {
                let before = &bytes[..e.valid_up_to()];
                let line = 1 + parse::count_line_breaks(before);
                Err(IniError::NotUtf8 {
                    path: source.to_owned(),
                    line,
                })
            }
        }
    }

    /// Parses `text` into this configuration (merging sections); `source` names it in errors.
    /// On error this configuration may hold part of the text, as CPython's parser does.
    pub fn read_str(&mut self, text: &str, source: &Path) -> Result<(), IniError> {
        parse::read(self, text, source)
    }

    /// The named sections (not DEFAULT), in order of first appearance.
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter()
    }

    /// The names of the sections (not DEFAULT), in order.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().map(|s| s.name.as_str())
    }

    /// A named section (not DEFAULT).
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.index.get(name).map(|&i| &self.sections[i])
    }

    /// A named section for changes.
    pub fn section_mut(&mut self, name: &str) -> Option<&mut Section> {
        self.index.get(name).map(|&i| &mut self.sections[i])
    }

    /// Whether the named section exists (DEFAULT never counts, as in `has_section`).
    pub fn has_section(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The DEFAULT section.
    pub fn defaults(&self) -> &Section {
        &self.defaults
    }

    /// The DEFAULT section, for changes.
    pub fn defaults_mut(&mut self) -> &mut Section {
        &mut self.defaults
    }

    /// `get(section, key)`: the section's own option, else the DEFAULT one. `None` when the
    /// section does not exist or neither has it. `key` is lower-cased first.
    pub fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        let s = self.section(section)?;
        let key = key.to_lowercase();
        s.get(&key).or_else(|| self.defaults.get(&key))
    }

    /// `items(section)`: DEFAULT options then the section's own, own values overriding, in
    /// CPython's order. `None` when the section does not exist.
    pub fn items(&self, section: &str) -> Option<Vec<&Entry>> {
        let s = self.section(section)?;
        let mut out: Vec<&Entry> = Vec::with_capacity(self.defaults.len() + s.len());
        for d in &self.defaults.entries {
            out.push(s.get(&d.key).unwrap_or(d));
        }
        out.extend(
            s.entries
                .iter()
                .filter(|e| self.defaults.get(&e.key).is_none()),
        );
        Some(out)
    }

    /// The section `name`, created empty at the end if missing (`DEFAULT` gives the defaults).
    pub fn section_or_insert(&mut self, name: &str, location: Location) -> &mut Section {
        if name == DEFAULT_SECTION {
            return &mut self.defaults;
        }
        let i = match self.index.get(name) {
            Some(&i) => i,
            None => {
                self.index.insert(name.to_owned(), self.sections.len());
                self.sections.push(Section::new(name, location));
                self.sections.len() - 1
            }
        };
        &mut self.sections[i]
    }

    /// Sets `key` in `section` (created if missing) to `value`.
    pub fn set(&mut self, section: &str, key: &str, value: &str) {
        self.section_or_insert(section, Location::programmatic())
            .set(key, value, Location::programmatic());
    }

    /// Removes a named section, returning it.
    pub fn remove_section(&mut self, name: &str) -> Option<Section> {
        let i = self.index.remove(name)?;
        let s = self.sections.remove(i);
        for v in self.index.values_mut() {
            if *v > i {
                *v -= 1;
            }
        }
        Some(s)
    }

    /// Serializes to INI text that this parser (and CPython's) reads back identically:
    /// DEFAULT first when not empty, then each section, options in order, multi-line values
    /// continued with a tab. Fails when a name or value cannot be written faithfully
    /// (e.g. a key containing `=`, a value with ` ;`).
    pub fn write_string(&self) -> Result<String, IniError> {
        write::write_string(self)
    }
}

#[cfg(test)]
mod tests;
