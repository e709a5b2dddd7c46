//! Ready-made bodies of the four `gwe` build-tool flags, so the engine CLI wires each in a few
//! lines: they print what the original printed and return whether everything passed (map `false`
//! to exit status 1).

use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use crate::build::{build_app_tarball, check_buildfile, BuildError, BuildOptions};
use crate::buildfile::{
    create_buildfile, creation_summary, prompt_buildfile_answers, Buildfile, BuildfileAnswers,
    BuildfileError,
};
use crate::check::check_tarball;
use crate::limits::Limits;

/// `gwe -x/--create-buildfile [-n NAME] [-s VERSION]`: asks the three questions when
/// `interactive` (stdin is a terminal), otherwise takes `-n`/`-s` and the defaults; writes the
/// buildfile into `dir` and prints the summary (or the buildfile as JSON with `json`).
pub fn create_buildfile_command(
    dir: &Path,
    name: Option<&str>,
    version: Option<&str>,
    interactive: bool,
    json: bool,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<PathBuf, BuildfileError> {
    let io = |source| BuildfileError::Io {
        action: "prompt for",
        path: dir.join("<buildfile>"),
        source,
    };
    let answers = if interactive {
        prompt_buildfile_answers(input, out, name, version).map_err(io)?
    } else {
        BuildfileAnswers::from_flags(name, version)
    };
    let path = create_buildfile(dir, &answers)?;
    let buildfile = Buildfile::load(&path)?;
    let text = if json {
        buildfile.to_json()
    } else {
        creation_summary(&path, &buildfile)
    };
    out.write_all(text.as_bytes()).map_err(io)?;
    Ok(path)
}

/// `gwe -w/--check-buildfile FILE [--json]`: prints the check lines (or the JSON report).
pub fn check_buildfile_command(
    buildfile: &Path,
    json: bool,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let report = check_buildfile(buildfile);
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out.write_all(report.render().as_bytes())?;
    }
    Ok(report.passed)
}

/// `gwe -y/--build-app-tarball [FILE] [--json]`: builds, prints the tarball's absolute path on
/// `out` (or the JSON outcome), and the tarball check lines on `err` when `verbose` or when a
/// check failed (the original showed them at debug level).
pub fn build_app_command(
    buildfile: &Path,
    opts: &BuildOptions,
    json: bool,
    verbose: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<bool, BuildError> {
    let outcome = build_app_tarball(buildfile, opts)?;
    let io = |source| BuildError::Io {
        action: "print",
        path: outcome.tarball.clone(),
        source,
    };
    if json {
        let text = serde_json::to_string_pretty(&outcome).map_err(|e| io(e.into()))?;
        writeln!(out, "{text}").map_err(io)?;
    } else {
        writeln!(out, "{}", outcome.tarball.display()).map_err(io)?;
    }
    if verbose || !outcome.report.passed {
        err.write_all(outcome.report.render().as_bytes())
            .map_err(io)?;
    }
    Ok(outcome.report.passed)
}

/// `gwe -z/--check-tarball TARBALL [--json]`: prints the check lines (or the JSON report).
pub fn check_tarball_command(
    tarball: &Path,
    limits: &Limits,
    json: bool,
    out: &mut dyn Write,
) -> io::Result<bool> {
    let report = check_tarball(tarball, limits);
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        out.write_all(report.render().as_bytes())?;
    }
    Ok(report.passed)
}
