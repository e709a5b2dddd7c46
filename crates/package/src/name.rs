//! The tarball naming rule `<NAME>.v<VERSION>.tar.gz`.
//!
//! The engine reports the name and version of an installed app from the tarball's file name alone,
//! so the rule is strict and every refusal says which part of the rule was broken.

use std::fmt;
use std::path::Path;

/// Suffix every app tarball carries.
pub const TARBALL_SUFFIX: &str = ".tar.gz";
/// Separator between name and version; the LAST occurrence in the stem decides.
pub const VERSION_SEPARATOR: &str = ".v";
/// Longest file name accepted (common filesystem limit).
pub const MAX_FILE_NAME_LEN: usize = 255;

/// A parsed `<NAME>.v<VERSION>.tar.gz` file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct TarballName {
    /// App name: supervisor program name, log file name and version-tracking key.
    pub name: String,
    /// App version, opaque (compared only for equality).
    pub version: String,
}

/// Which naming rule a file name broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name was empty.
    #[error("empty file name: expected <NAME>.v<VERSION>.tar.gz")]
    Empty,
    /// Longer than [`MAX_FILE_NAME_LEN`] bytes.
    #[error("`{file}`: file name longer than {max} bytes")]
    TooLong {
        /// The offending file name.
        file: String,
        /// The limit.
        max: usize,
    },
    /// Contains `/` (or is not valid UTF-8 when given as a path).
    #[error("`{file}`: must be a bare file name without `/`")]
    NotAFileName {
        /// The offending file name.
        file: String,
    },
    /// Does not end with `.tar.gz`.
    #[error("`{file}`: must end with `.tar.gz` (<NAME>.v<VERSION>.tar.gz)")]
    MissingSuffix {
        /// The offending file name.
        file: String,
    },
    /// No `.v` between name and version.
    #[error("`{file}`: no `.v` separating name and version (<NAME>.v<VERSION>.tar.gz)")]
    MissingVersionSeparator {
        /// The offending file name.
        file: String,
    },
    /// Nothing before the last `.v`.
    #[error("`{file}`: empty app name before `.v`")]
    EmptyName {
        /// The offending file name.
        file: String,
    },
    /// Nothing between the last `.v` and `.tar.gz`.
    #[error("`{file}`: empty version after the last `.v`")]
    EmptyVersion {
        /// The offending file name.
        file: String,
    },
    /// A character outside `[A-Za-z0-9._-]` in the name.
    #[error("`{file}`: app name `{name}` has `{ch}`; allowed: letters, digits, `_`, `.`, `-`")]
    BadNameChar {
        /// The offending file name.
        file: String,
        /// The name part.
        name: String,
        /// The first bad character.
        ch: char,
    },
    /// The name starts with `.` or `-` (hidden file / option lookalike).
    #[error("`{file}`: app name `{name}` must start with a letter, digit or `_`")]
    BadNameStart {
        /// The offending file name.
        file: String,
        /// The name part.
        name: String,
    },
    /// The version holds `.v`, so the file name would split at the wrong place.
    #[error("`{file}`: version `{version}` contains `.v`: the name would split at the last `.v`")]
    AmbiguousVersion {
        /// The file name that would be built.
        file: String,
        /// The version.
        version: String,
    },
    /// A character outside `[A-Za-z0-9._-]` in the version.
    #[error("`{file}`: version `{version}` has `{ch}`; allowed: letters, digits, `.`, `_`, `-`")]
    BadVersionChar {
        /// The offending file name.
        file: String,
        /// The version part.
        version: String,
        /// The first bad character.
        ch: char,
    },
}

fn allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

impl TarballName {
    /// Parses a bare file name such as `gmq.v10_0ca92e7.tar.gz`.
    pub fn parse(file: &str) -> Result<Self, NameError> {
        let owned = || file.to_string();
        if file.is_empty() {
            return Err(NameError::Empty);
        }
        if file.len() > MAX_FILE_NAME_LEN {
            return Err(NameError::TooLong {
                file: owned(),
                max: MAX_FILE_NAME_LEN,
            });
        }
        if file.contains('/') || file.contains('\0') {
            return Err(NameError::NotAFileName { file: owned() });
        }
        let stem = file
            .strip_suffix(TARBALL_SUFFIX)
            .ok_or_else(|| NameError::MissingSuffix { file: owned() })?;
        let at = stem
            .rfind(VERSION_SEPARATOR)
            .ok_or_else(|| NameError::MissingVersionSeparator { file: owned() })?;
        let (name, version) = (&stem[..at], &stem[at + VERSION_SEPARATOR.len()..]);
        if name.is_empty() {
            return Err(NameError::EmptyName { file: owned() });
        }
        if version.is_empty() {
            return Err(NameError::EmptyVersion { file: owned() });
        }
        if let Some(ch) = name.chars().find(|c| !allowed_char(*c)) {
            return Err(NameError::BadNameChar {
                file: owned(),
                name: name.into(),
                ch,
            });
        }
        if name.starts_with(['.', '-']) {
            return Err(NameError::BadNameStart {
                file: owned(),
                name: name.into(),
            });
        }
        if let Some(ch) = version.chars().find(|c| !allowed_char(*c)) {
            return Err(NameError::BadVersionChar {
                file: owned(),
                version: version.into(),
                ch,
            });
        }
        Ok(Self {
            name: name.into(),
            version: version.into(),
        })
    }

    /// Parses the file-name part of a path (`/tmp/dl/app.v1.tar.gz`).
    pub fn from_path(path: &Path) -> Result<Self, NameError> {
        let file = path
            .file_name()
            .ok_or(NameError::Empty)?
            .to_str()
            .ok_or_else(|| NameError::NotAFileName {
                file: path.display().to_string(),
            })?;
        Self::parse(file)
    }

    /// Builds and validates the tarball name for `name` and `version` (as the buildfile does):
    /// the result must parse back to the same two parts, so a version containing `.v` is refused.
    pub fn new(name: &str, version: &str) -> Result<Self, NameError> {
        let file = format!("{name}{VERSION_SEPARATOR}{version}{TARBALL_SUFFIX}");
        let parsed = Self::parse(&file)?;
        if parsed.name != name || parsed.version != version {
            // Only possible when the version itself holds `.v`: the last `.v` would split elsewhere.
            return Err(NameError::AmbiguousVersion {
                file,
                version: version.into(),
            });
        }
        Ok(parsed)
    }

    /// The file name `<NAME>.v<VERSION>.tar.gz`.
    pub fn file_name(&self) -> String {
        format!(
            "{}{VERSION_SEPARATOR}{}{TARBALL_SUFFIX}",
            self.name, self.version
        )
    }
}

impl fmt::Display for TarballName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naming_rules_table() {
        // (file name, expected Ok((name, version)) or the error variant's name)
        let ok: &[(&str, &str, &str)] = &[
            ("test_app.v1.tar.gz", "test_app", "1"),
            ("gmq.v10_0ca92e7.tar.gz", "gmq", "10_0ca92e7"),
            (
                "elementtree.v126-20050316.tar.gz",
                "elementtree",
                "126-20050316",
            ),
            ("my.app.v2.tar.gz", "my.app", "2"),
            ("your_app.v1.2.3.tar.gz", "your_app", "1.2.3"),
            ("my-app.v1.0.tar.gz", "my-app", "1.0"),
            ("gwe.v1.2.345.tar.gz", "gwe", "1.2.345"),
            ("a.vb.v3.tar.gz", "a.vb", "3"),
            ("app.v1.v2.tar.gz", "app.v1", "2"),
            ("_x.vA.tar.gz", "_x", "A"),
        ];
        for (file, name, version) in ok {
            let parsed = TarballName::parse(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(
                (parsed.name.as_str(), parsed.version.as_str()),
                (*name, *version),
                "{file}"
            );
            assert_eq!(parsed.file_name(), *file);
        }
        type Expect = fn(&NameError) -> bool;
        let bad: &[(&str, Expect)] = &[
            ("", |e| matches!(e, NameError::Empty)),
            ("app.v1.tgz", |e| {
                matches!(e, NameError::MissingSuffix { .. })
            }),
            ("app.v1.tar", |e| {
                matches!(e, NameError::MissingSuffix { .. })
            }),
            ("app.v1.TAR.GZ", |e| {
                matches!(e, NameError::MissingSuffix { .. })
            }),
            ("app-1.tar.gz", |e| {
                matches!(e, NameError::MissingVersionSeparator { .. })
            }),
            ("app_v1.tar.gz", |e| {
                matches!(e, NameError::MissingVersionSeparator { .. })
            }),
            (".v1.tar.gz", |e| matches!(e, NameError::EmptyName { .. })),
            ("app.v.tar.gz", |e| {
                matches!(e, NameError::EmptyVersion { .. })
            }),
            ("dir/app.v1.tar.gz", |e| {
                matches!(e, NameError::NotAFileName { .. })
            }),
            ("my app.v1.tar.gz", |e| {
                matches!(e, NameError::BadNameChar { ch: ' ', .. })
            }),
            ("app$.v1.tar.gz", |e| {
                matches!(e, NameError::BadNameChar { ch: '$', .. })
            }),
            ("-app.v1.tar.gz", |e| {
                matches!(e, NameError::BadNameStart { .. })
            }),
            ("..v1.tar.gz", |e| {
                matches!(e, NameError::BadNameStart { .. })
            }),
            ("app.v1+2.tar.gz", |e| {
                matches!(e, NameError::BadVersionChar { ch: '+', .. })
            }),
            ("app.v1 2.tar.gz", |e| {
                matches!(e, NameError::BadVersionChar { ch: ' ', .. })
            }),
            ("app.vé.tar.gz", |e| {
                matches!(e, NameError::BadVersionChar { ch: 'é', .. })
            }),
        ];
        for (file, is_expected) in bad {
            match TarballName::parse(file) {
                Ok(p) => panic!("{file:?} accepted as {p:?}"),
                Err(e) => assert!(is_expected(&e), "{file:?}: unexpected error {e:?}"),
            }
        }
        let long = format!("{}.v1.tar.gz", "a".repeat(300));
        assert!(matches!(
            TarballName::parse(&long),
            Err(NameError::TooLong { .. })
        ));
    }

    #[test]
    fn new_refuses_versions_that_would_split_elsewhere() {
        assert_eq!(
            TarballName::new("my_app", "1").map(|n| n.file_name()),
            Ok("my_app.v1.tar.gz".to_string())
        );
        assert!(matches!(
            TarballName::new("my_app", "1.v2"),
            Err(NameError::AmbiguousVersion { .. })
        ));
        assert!(TarballName::new("my app", "1").is_err());
        assert!(TarballName::new("my_app", "").is_err());
    }

    #[test]
    fn from_path_uses_the_file_name() {
        let n = TarballName::from_path(Path::new("/tmp/dl/gmq.v10_0ca92e7.tar.gz")).unwrap();
        assert_eq!(n.name, "gmq");
        assert!(TarballName::from_path(Path::new("/")).is_err());
    }
}
