//! The body of `gwe -I/--install-apps TARBALL...` and of the release package's
//! `apps_to_install/` step: install each tarball in order, print what happened.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::installer::Installer;
use crate::report::InstallReport;

/// Installs `tarballs` in order (one failing does not stop the others) and prints, per
/// tarball, a summary line and the installer script's output, or with `json` one JSON array of
/// the reports. Returns true when every install succeeded (or was already installed).
pub fn install_apps_command(
    installer: &Installer,
    tarballs: &[PathBuf],
    source: &str,
    json: bool,
    out: &mut dyn Write,
) -> std::io::Result<bool> {
    let reports: Vec<InstallReport> = tarballs
        .iter()
        .map(|t| {
            let r = installer.install_file(t, source);
            if !json {
                let _ = print_report(&r, out);
            }
            r
        })
        .collect();
    if json {
        print_json(&reports, out)?;
    }
    Ok(reports.iter().all(InstallReport::ok))
}

/// The reports as one JSON array (what `--json` prints).
pub fn print_json(reports: &[InstallReport], out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, reports)?;
    writeln!(out)?;
    out.flush()
}

/// One report for people: the summary line, the installer script's output, the signature and
/// supervisor notes.
pub fn print_report(r: &InstallReport, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "{}", r.summary())?;
    if let Some(s) = &r.script {
        for (label, text) in [("stdout", &s.stdout), ("stderr", &s.stderr)] {
            if !text.is_empty() {
                writeln!(out, "  {} {label}:", s.command)?;
                for line in text.lines() {
                    writeln!(out, "    {line}")?;
                }
            }
        }
    }
    if let Some(sig) = &r.signature {
        writeln!(out, "  signature: {sig}")?;
    }
    if let Some(note) = &r.supervisor_note {
        writeln!(out, "  supervisor: {note}")?;
    }
    out.flush()
}

/// The `*.tar.gz` files of `dir`, sorted by name (the order `apps_to_install/` is installed
/// in). A missing directory has none.
pub fn tarballs_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(d) => d
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with(".tar.gz"))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_tarballs_sorted_and_prints_failures() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.v1.tar.gz", "a.v1.tar.gz", "notes.txt"] {
            std::fs::write(d.path().join(n), b"x").unwrap();
        }
        let list = tarballs_in(d.path()).unwrap();
        let names: Vec<_> = list
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.v1.tar.gz", "b.v1.tar.gz"]);
        assert!(tarballs_in(&d.path().join("missing")).unwrap().is_empty());
        let inst = Installer::new(crate::OtaConfig::under(&d.path().join("gw")));
        let mut out = Vec::new();
        let ok = install_apps_command(&inst, &list, "cli", false, &mut out).unwrap();
        assert!(!ok);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("a 1: failed") && text.contains("b 1: failed"),
            "{text}"
        );
        assert!(text.contains("gzip"), "{text}");
        let mut out = Vec::new();
        install_apps_command(&inst, &list[..1], "cli", true, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v[0]["result"], "failed");
        assert_eq!(v[0]["error"]["kind"], "archive");
    }
}
