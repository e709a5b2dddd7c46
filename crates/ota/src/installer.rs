//! The install pipeline (see [`crate::journal`] for the state machine).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use gwe_package::{
    check_extracted, extract_reader, extract_reader_prehashed, signature_path, verify_digest,
    AppKind, SignatureError, Status, TarballName, TrustedKeys, INSTALL_SCRIPT, SETUP_PY,
    SUPERVISOR_CONF,
};
use serde::Serialize;

use crate::config::OtaConfig;
use crate::error::{io_at, Failure, FailureKind, OtaError};
use crate::fsutil::{self, FileLock};
use crate::journal::{recovery_action, Journal, Previous, Recovery, Step};
use crate::pipe::StreamIn;
use crate::program::program_conf;
use crate::registry::{AppRecord, Attempt, Registry};
use crate::report::{InstallReport, InstallResult, RollbackInfo};
use crate::script::{self, ScriptRun};
use crate::supervisor;

/// Where an install came from (recorded in the registry).
pub mod source {
    /// `gwe -I TARBALL`.
    pub const CLI: &str = "cli";
    /// An OTA command from `engine_fetch`.
    pub const ENGINE_FETCH: &str = "engine_fetch";
    /// The release package's `apps_to_install/`.
    pub const APPS_TO_INSTALL: &str = "apps_to_install";
    /// Finished by recovery after a restart.
    pub const RECOVERY: &str = "recovery";
}

/// Points of the pipeline, reported to the observer right after they happened (for progress
/// output, and for the crash tests that kill the installer at each of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Checkpoint {
    /// The journal now says `Step`.
    Journal(Step),
    /// The `current` link points at the new version.
    LinkSwapped,
    /// The program config of the new version is in the include directory.
    ConfWritten,
    /// The supervisor applied the include directory.
    SupervisorUpdated,
    /// The registry records the new version.
    RegistryWritten,
    /// Rollback: the `current` link points at the previous version again.
    LinkRestored,
    /// Rollback: the previous program config is back.
    ConfRestored,
}

/// Called at each [`Checkpoint`].
pub type Observer = Arc<dyn Fn(Checkpoint) + Send + Sync>;

/// Options of one install.
#[derive(Debug, Clone)]
pub struct InstallRequest {
    /// Where it came from (see [`source`]).
    pub source: String,
    /// SHA-256 the tarball must have (lowercase or uppercase hex).
    pub expected_sha256: Option<String>,
    /// The tarball is the installer's (a download): remove it (and its `.sig`) when done.
    pub owns_tarball: bool,
}

impl InstallRequest {
    /// A request from `source` with no digest given.
    pub fn from_source(source: &str) -> Self {
        Self {
            source: source.into(),
            expected_sha256: None,
            owns_tarball: false,
        }
    }
}

/// The installer: cheap to clone, safe to share; one install runs at a time (a file lock in
/// the state directory also keeps `gwe -I` and the engine from overlapping).
#[derive(Clone)]
pub struct Installer {
    pub(crate) cfg: Arc<OtaConfig>,
    observer: Option<Observer>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn new_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{}", std::process::id())
}

fn kind_name(k: AppKind) -> &'static str {
    match k {
        AppKind::LongRunning => "long_running",
        AppKind::OneOff => "one_off",
        AppKind::PythonLibrary => "python_library",
    }
}

/// A reader that starts the writeback of the staging directory every few MiB it reads (see
/// [`fsutil::EarlyWriteback`]).
struct WritingBack<'a, R> {
    inner: R,
    staging: &'a Path,
    since: u64,
    wb: fsutil::EarlyWriteback,
}

/// Stream bytes between two writeback passes.
const WRITEBACK_EVERY: u64 = 8 << 20;

impl<'a, R> WritingBack<'a, R> {
    fn new(inner: R, staging: &'a Path) -> Self {
        Self {
            inner,
            staging,
            since: 0,
            wb: fsutil::EarlyWriteback::default(),
        }
    }
}

impl<R: std::io::Read> std::io::Read for WritingBack<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since += n as u64;
        if self.since >= WRITEBACK_EVERY {
            self.since = 0;
            self.wb.kick(self.staging);
        }
        Ok(n)
    }
}

/// Mutable state of one run of the pipeline.
struct Run {
    journal: Journal,
    report: InstallReport,
    started: Instant,
    autostart: bool,
}

impl Installer {
    /// An installer with `config`.
    pub fn new(config: OtaConfig) -> Self {
        Self {
            cfg: Arc::new(config),
            observer: None,
        }
    }

    /// Adds an observer called at every [`Checkpoint`].
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &OtaConfig {
        &self.cfg
    }

    fn observe(&self, c: Checkpoint) {
        if let Some(o) = &self.observer {
            o(c);
        }
    }

    fn advance(&self, run: &mut Run, step: Step) -> Result<(), Failure> {
        run.journal
            .advance(step, &self.cfg.journal_path())
            .map_err(Failure::from)?;
        run.report.steps.push(step);
        self.observe(Checkpoint::Journal(step));
        Ok(())
    }

    fn prepare_dirs(&self) -> Result<(), Failure> {
        for d in [
            &self.cfg.state_dir,
            &self.cfg.saved_dir(),
            &self.cfg.cache_dir(),
            &self.cfg.apps_root,
            &self.cfg.include_dir,
            &self.cfg.log_dir,
        ] {
            fs::create_dir_all(d).map_err(io_at("create directory", d))?;
        }
        Ok(())
    }

    fn lock(&self) -> Result<FileLock, Failure> {
        fs::create_dir_all(&self.cfg.state_dir)
            .map_err(io_at("create directory", &self.cfg.state_dir))?;
        let p = self.cfg.lock_path();
        FileLock::acquire(&p).map_err(io_at("lock", &p))
    }

    /// The version registry as it is now.
    pub fn registry(&self) -> Result<Registry, OtaError> {
        Registry::load(&self.cfg.registry)
    }

    /// Installs the tarball at `path` (its file name gives app name and version).
    pub fn install_file(&self, path: &Path, source: &str) -> InstallReport {
        self.install(path, &InstallRequest::from_source(source))
    }

    /// Installs the tarball at `path` with the options of `req`. Never panics on bad input; the
    /// report says what happened. An interrupted earlier install is finished first.
    pub fn install(&self, path: &Path, req: &InstallRequest) -> InstallReport {
        self.install_from(path, req, None)
    }

    /// [`Installer::install`], the tarball's bytes coming from `stream` (a download in progress,
    /// teed into its cache file) instead of the file `path` (which then only names it, and
    /// where its signature is: `path` + `.sig`).
    pub(crate) fn install_streamed(
        &self,
        path: &Path,
        req: &InstallRequest,
        stream: StreamIn,
    ) -> InstallReport {
        self.install_from(path, req, Some(stream))
    }

    fn install_from(
        &self,
        path: &Path,
        req: &InstallRequest,
        stream: Option<StreamIn>,
    ) -> InstallReport {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let started = Instant::now();
        let mut report = InstallReport::new(&file, &req.source);
        let _lock = match self.lock() {
            Ok(l) => l,
            Err(e) => {
                report.error = Some(e);
                return report;
            }
        };
        if let Some(r) = self.recover_locked() {
            tracing::warn!(summary = %r.summary(), "finished an interrupted install first");
        }
        let mut report = self.install_locked(path, req, report, stream);
        report.duration_ms = started.elapsed().as_millis() as u64;
        if req.owns_tarball && report.steps.is_empty() {
            // Refused before the journal took it over: the download is ours to remove.
            let _ = fs::remove_file(path);
            let _ = fs::remove_file(signature_path(path));
        }
        report
    }

    fn install_locked(
        &self,
        path: &Path,
        req: &InstallRequest,
        mut report: InstallReport,
        stream: Option<StreamIn>,
    ) -> InstallReport {
        let name = match TarballName::parse(&report.file) {
            Ok(n) => n,
            Err(e) => {
                report.error = Some(Failure::new(
                    FailureKind::BadName,
                    format!("`{}`: {e}", report.file),
                ));
                return report;
            }
        };
        report.app = Some(name.name.clone());
        report.version = Some(name.version.clone());
        let registry = match self.registry() {
            Ok(r) => r,
            Err(e) => {
                report.error = Some(e.into());
                return report;
            }
        };
        let prev_rec = registry.get(&name.name).cloned().unwrap_or_default();
        report.previous_version = prev_rec.version.clone();
        if stream.is_none() && !path.is_file() {
            report.error = Some(Failure::new(
                FailureKind::Fetch,
                format!("`{}`: no such file", path.display()),
            ));
            return report;
        }
        let current = fs::read_link(self.cfg.current_link(&name.name)).ok();
        // Same version and digest in place: nothing to do (the digest is only computed then).
        if prev_rec.version.as_deref() == Some(name.version.as_str()) && current.is_some() {
            let sha = match &req.expected_sha256 {
                Some(s) => Some(s.to_ascii_lowercase()),
                // A stream is only given when this cannot happen (see `fetch_and_install`).
                None if stream.is_some() => None,
                None => gwe_package::sha256_file(path).ok(),
            };
            if sha.is_some() && sha == prev_rec.sha256 {
                report.result = InstallResult::AlreadyInstalled;
                report.sha256 = sha;
                if req.owns_tarball {
                    let _ = fs::remove_file(path);
                    let _ = fs::remove_file(signature_path(path));
                }
                return report;
            }
        }
        if let Err(e) = self.prepare_dirs() {
            report.error = Some(e);
            return report;
        }
        let conf = self.cfg.conf_path(&name.name);
        let had_conf = conf.exists();
        let saved = self.cfg.saved_conf_path(&name.name);
        let save = if had_conf {
            fs::read(&conf).map_err(io_at("read", &conf)).and_then(|b| {
                fsutil::write_atomic(&saved, &b, 0o644).map_err(io_at("save", &saved))
            })
        } else {
            fsutil::remove_file_durable(&saved).map_err(io_at("remove", &saved))
        };
        if let Err(e) = save {
            report.error = Some(e);
            return report;
        }
        let id = new_id();
        let journal = Journal {
            id: id.clone(),
            app: name.name.clone(),
            version: name.version.clone(),
            file: report.file.clone(),
            source: req.source.clone(),
            tarball: path.to_path_buf(),
            owns_tarball: req.owns_tarball,
            expected_sha256: req.expected_sha256.as_ref().map(|s| s.to_ascii_lowercase()),
            sha256: None,
            staging: self.cfg.app_root(&name.name).join(format!(".staging-{id}")),
            app_dir: None,
            long_running: false,
            program_conf: None,
            previous: Previous {
                version: prev_rec.version.clone(),
                sha256: prev_rec.sha256.clone(),
                current,
                had_conf,
            },
            step: Step::Started,
            started_at: now_unix(),
            failure: None,
        };
        if let Err(e) = fs::create_dir_all(self.cfg.app_root(&name.name))
            .map_err(io_at("create directory", &self.cfg.app_root(&name.name)))
            .and_then(|()| {
                journal
                    .save(&self.cfg.journal_path())
                    .map_err(Failure::from)
            })
        {
            report.error = Some(e);
            return report;
        }
        report.steps.push(Step::Started);
        self.observe(Checkpoint::Journal(Step::Started));
        let mut run = Run {
            journal,
            report,
            started: Instant::now(),
            autostart: true,
        };
        match self.prepare(&mut run, &name, stream) {
            Ok(()) => {}
            Err(f) => return self.abort(run, f),
        }
        if let Err(f) = self.run_script(&mut run, &name) {
            return self.abort(run, f);
        }
        if let Err(f) = self.advance(&mut run, Step::Installed) {
            return self.abort(run, f);
        }
        self.apply_and_watch(run)
    }

    /// Fetched -> Extracted -> Verified: nothing of the running version is touched.
    ///
    /// With a `stream`, the download is extracted while it arrives (journal still at
    /// `Started`, whose recovery removes the staging directory); `Fetched` is recorded when it
    /// is complete. A cut download is a `Fetch` failure and its cache file is kept for a resume.
    fn prepare(
        &self,
        run: &mut Run,
        name: &TarballName,
        stream: Option<StreamIn>,
    ) -> Result<(), Failure> {
        let staging = run.journal.staging.clone();
        let archive_err =
            |file: &str, e| Failure::new(FailureKind::Archive, format!("{file}: {e}"));
        let (extracted, part) = match stream {
            None => {
                self.advance(run, Step::Fetched)?;
                let tarball = &run.journal.tarball;
                let f = fs::File::open(tarball).map_err(io_at("open tarball", tarball))?;
                let r = extract_reader(WritingBack::new(f, &staging), &staging, &self.cfg.limits);
                (r.map_err(|e| archive_err(&run.journal.file, e))?, None)
            }
            Some(stream) => {
                // hashed by the download side, on the other core
                let digest = stream.digest();
                let mut reader = WritingBack::new(stream, &staging);
                let r = extract_reader_prehashed(&mut reader, &staging, &self.cfg.limits, || {
                    digest.get()
                });
                let stream = reader.inner;
                match (r, stream.download_failure()) {
                    (Ok(x), _) => (x, Some(stream.part.clone())),
                    (Err(_), Some(why)) => {
                        // Keep what arrived: the next try resumes it with `Range`.
                        run.journal.owns_tarball = false;
                        return Err(Failure::new(
                            FailureKind::Fetch,
                            format!("`{}`: download failed: {why}", run.journal.file),
                        ));
                    }
                    (Err(e), None) => return Err(archive_err(&run.journal.file, e)),
                }
            }
        };
        if part.is_some() {
            self.advance(run, Step::Fetched)?;
        }
        run.journal.sha256 = Some(extracted.sha256.clone());
        run.report.sha256 = Some(extracted.sha256.clone());
        self.advance(run, Step::Extracted)?;
        // Digest.
        if let Some(want) = &run.journal.expected_sha256 {
            if *want != extracted.sha256 {
                return Err(Failure::new(
                    FailureKind::Digest,
                    format!(
                        "{}: SHA-256 is {}, expected {want}",
                        run.journal.file, extracted.sha256
                    ),
                ));
            }
        }
        // Signature.
        run.report.signature = Some(self.check_signature(&run.journal, &extracted.sha256)?);
        // Content.
        let checks = check_extracted(&extracted, Some(name));
        if !checks.passed {
            let problems: Vec<String> = checks
                .checks
                .0
                .iter()
                .filter(|l| l.status == Status::Fail)
                .map(|l| format!("{}: {}", l.check, l.message))
                .collect();
            return Err(Failure::new(
                FailureKind::Content,
                format!("{}: {}", run.journal.file, problems.join("; ")),
            ));
        }
        let kind = checks.kind.unwrap_or(AppKind::OneOff);
        run.report.kind = Some(kind_name(kind).into());
        if kind == AppKind::PythonLibrary && script::find_program(&self.cfg.python).is_none() {
            return Err(Failure::new(
                FailureKind::NoPython,
                format!(
                    "{}: a Python library (setup.py, no install.sh) needs a Python interpreter, and none was found (looked for {})",
                    run.journal.file,
                    self.cfg.python.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let conf_file = staging.join(SUPERVISOR_CONF);
        if conf_file.is_file() {
            let text = fs::read(&conf_file).map_err(io_at("read", &conf_file))?;
            let pc = program_conf(&name.name, &text, &self.cfg.log_dir)?;
            run.journal.long_running = true;
            run.journal.program_conf = Some(pc.text);
            run.autostart = pc.autostart;
        }
        // The staging directory becomes the versioned app directory.
        let sha12 = &extracted.sha256[..12];
        let mut dir_name = format!("{}-{sha12}", name.version);
        if run.journal.previous.current.as_deref() == Some(Path::new(&dir_name)) {
            dir_name = format!("{dir_name}-{}", run.journal.id);
        }
        let dest = self.cfg.app_root(&name.name).join(&dir_name);
        fsutil::remove_dir_all_quiet(&dest).map_err(io_at("remove stale", &dest))?;
        fsutil::rename_durable(&staging, &dest).map_err(io_at("move into place", &dest))?;
        run.journal.app_dir = Some(dir_name);
        self.advance(run, Step::Verified)?;
        if run.journal.owns_tarball {
            // Not needed any more (recovery never re-reads it); removed before the flush of the
            // new files so its dirty pages are dropped rather than written.
            let _ = fs::remove_file(&run.journal.tarball);
            let _ = fs::remove_file(signature_path(&run.journal.tarball));
            if let Some(part) = &part {
                let _ = fs::remove_file(part);
            }
        }
        Ok(())
    }

    fn check_signature(&self, j: &Journal, sha256: &str) -> Result<String, Failure> {
        let sig_fail = |e: SignatureError| {
            Failure::new(
                FailureKind::Signature,
                format!("{}: signature refused: {e}", j.file),
            )
        };
        let Some(dir) = &self.cfg.trusted_keys_dir else {
            return Ok("not checked: no trusted keys configured (unsigned packages accepted, as in the original)".into());
        };
        let keys = match TrustedKeys::load_dir(dir) {
            Ok(k) => k,
            Err(SignatureError::NoTrustedKeys(_)) => {
                return Ok(format!(
                    "not checked: no trusted keys (*.pub) in {} (unsigned packages accepted, as in the original)",
                    dir.display()
                ))
            }
            Err(e) if matches!(&e, SignatureError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound) => {
                return Ok(format!(
                    "not checked: trusted keys directory {} does not exist (unsigned packages accepted, as in the original)",
                    dir.display()
                ))
            }
            Err(e) => return Err(sig_fail(e)),
        };
        let sig = signature_path(&j.tarball);
        let text = match fsutil::read_small(&sig, 64 * 1024) {
            Ok(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(None) => {
                return Err(sig_fail(SignatureError::Unsigned {
                    tarball: PathBuf::from(&j.file),
                    signature: PathBuf::from(format!("{}.sig", j.file)),
                }))
            }
            Err(e) => return Err(Failure::io("read signature", &sig, e)),
        };
        let v = verify_digest(&j.file, sha256, &text, &keys).map_err(sig_fail)?;
        Ok(format!("verified: signed by trusted key {}", v.key_id))
    }

    fn script_env(&self, j: &Journal, app_dir: &Path) -> Vec<(String, String)> {
        let c = &self.cfg;
        let mut env = vec![
            ("APP_NAME".to_string(), j.app.clone()),
            ("APP_VERSION".to_string(), j.version.clone()),
            ("GWE_APP_DIR".to_string(), app_dir.display().to_string()),
            (
                "GWE_APPS_ROOT".to_string(),
                c.apps_root.display().to_string(),
            ),
            (
                "GWE_SUPERVISOR_INCLUDE_DIR".to_string(),
                c.include_dir.display().to_string(),
            ),
            ("GWE_LOG_DIR".to_string(), c.log_dir.display().to_string()),
            (
                "GWE_OTA_STATE_DIR".to_string(),
                c.state_dir.display().to_string(),
            ),
            (
                "GWE_VERSION_REGISTRY".to_string(),
                c.registry.display().to_string(),
            ),
        ];
        env.extend(c.extra_env.iter().cloned());
        env
    }

    /// Runs install.sh (or `python setup.py install`) in the new versioned directory.
    fn run_script(&self, run: &mut Run, name: &TarballName) -> Result<(), Failure> {
        let dir_name = run.journal.app_dir.clone().unwrap_or_default();
        let dir = self.cfg.app_root(&name.name).join(dir_name);
        let (program, args) = if dir.join(INSTALL_SCRIPT).is_file() {
            (dir.join(INSTALL_SCRIPT), vec![])
        } else if dir.join(SETUP_PY).is_file() {
            let py = script::find_program(&self.cfg.python).ok_or_else(|| {
                Failure::new(FailureKind::NoPython, "no Python interpreter for setup.py")
            })?;
            (py, vec!["setup.py".to_string(), "install".to_string()])
        } else {
            return Err(Failure::new(
                FailureKind::Content,
                format!("{}: neither install.sh nor setup.py", run.journal.file),
            ));
        };
        let outcome = script::run(ScriptRun {
            program,
            args,
            dir: &dir,
            env: self.script_env(&run.journal, &dir),
            timeout: self.cfg.script_timeout,
            cap: self.cfg.output_cap,
        });
        let ok = outcome.success();
        let failure = if outcome.timed_out {
            Some(Failure::new(
                FailureKind::ScriptTimeout,
                format!(
                    "{}: `{}` ran longer than {} s and was killed with its process group",
                    run.journal.file,
                    outcome.command,
                    self.cfg.script_timeout.as_secs_f32()
                ),
            ))
        } else if !ok {
            Some(Failure::new(
                FailureKind::Script,
                match (outcome.exit_code, outcome.signal) {
                    (Some(c), _) => format!(
                        "{}: `{}` exited with code {c}",
                        run.journal.file, outcome.command
                    ),
                    (None, Some(s)) => format!(
                        "{}: `{}` was killed by signal {s}",
                        run.journal.file, outcome.command
                    ),
                    (None, None) => format!("{}: {}", run.journal.file, outcome.stderr.trim()),
                },
            ))
        } else {
            None
        };
        run.report.script = Some(outcome);
        match failure {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// Installed -> Applied -> Healthy -> Committed, or a rollback. Idempotent from
    /// `Installed` or `Applied` (recovery rolls forward with it).
    fn apply_and_watch(&self, mut run: Run) -> InstallReport {
        if let Err(f) = self.apply(&mut run) {
            return self.rollback(run, f, Vec::new());
        }
        if run.journal.step == Step::Installed {
            if let Err(f) = self.advance(&mut run, Step::Applied) {
                return self.rollback(run, f, Vec::new());
            }
        }
        if run.journal.long_running && run.autostart {
            if let Some(url) = &self.cfg.supervisor_url {
                let watched = supervisor::connect(url).map(|mut c| {
                    supervisor::watch(&mut c, &run.journal.app, self.cfg.health_window)
                });
                match watched {
                    Ok(Ok(programs)) => run.report.programs = programs,
                    Ok(Err((f, programs))) => return self.rollback(run, f, programs),
                    Err(f) => return self.rollback(run, f, Vec::new()),
                }
            }
        }
        if let Err(f) = self.advance(&mut run, Step::Healthy) {
            return self.rollback(run, f, Vec::new());
        }
        self.commit(run)
    }

    fn apply(&self, run: &mut Run) -> Result<(), Failure> {
        let j = &run.journal;
        let dir_name = j
            .app_dir
            .clone()
            .ok_or_else(|| Failure::new(FailureKind::Io, "journal has no app directory"))?;
        let link = self.cfg.current_link(&j.app);
        let app_dir = self.cfg.app_root(&j.app).join(&dir_name);
        fsutil::sync_tree(&app_dir).map_err(io_at("sync", &app_dir))?;
        fsutil::swap_symlink(&link, Path::new(&dir_name)).map_err(io_at("point", &link))?;
        self.observe(Checkpoint::LinkSwapped);
        let conf = self.cfg.conf_path(&j.app);
        match &j.program_conf {
            Some(text) => fsutil::write_atomic(&conf, text.as_bytes(), 0o644)
                .map_err(io_at("write program config", &conf))?,
            None => fsutil::remove_file_durable(&conf).map_err(io_at("remove", &conf))?,
        }
        self.observe(Checkpoint::ConfWritten);
        match &self.cfg.supervisor_url {
            Some(url) => {
                let mut c = supervisor::connect(url)?;
                match supervisor::update(&mut c) {
                    Ok(s) => run.report.supervisor = Some(s),
                    Err(f) if j.long_running => return Err(f),
                    Err(f) => {
                        run.report.supervisor_note = Some(format!(
                            "{}; the app has no program, so nothing needed it",
                            f.message
                        ))
                    }
                }
                self.observe(Checkpoint::SupervisorUpdated);
            }
            None => {
                run.report.supervisor_note = Some(
                    "no supervisor configured: the program config takes effect when the supervisor (re)starts".into(),
                )
            }
        }
        Ok(())
    }

    fn commit(&self, mut run: Run) -> InstallReport {
        let j = &run.journal;
        let result = (|| -> Result<(), Failure> {
            let mut reg = self.registry()?;
            reg.apps.insert(
                j.app.clone(),
                AppRecord {
                    version: Some(j.version.clone()),
                    sha256: j.sha256.clone(),
                    source: Some(j.source.clone()),
                    installed_at: Some(now_unix()),
                    result: Some("installed".into()),
                    previous_version: j.previous.version.clone(),
                    dir: j.app_dir.clone(),
                    kind: run.report.kind.clone().or_else(|| {
                        Some(
                            if j.long_running {
                                "long_running"
                            } else {
                                "one_off"
                            }
                            .into(),
                        )
                    }),
                    last_attempt: None,
                },
            );
            reg.save()?;
            Ok(())
        })();
        if let Err(f) = result {
            return self.rollback(run, f, Vec::new());
        }
        self.observe(Checkpoint::RegistryWritten);
        if let Err(f) = self.advance(&mut run, Step::Committed) {
            tracing::error!(error = %f, "cannot record the commit; recovery will finish it");
        }
        run.report.result = InstallResult::Installed;
        self.cleanup(&run.journal, true);
        run.report.duration_ms = run.started.elapsed().as_millis() as u64;
        run.report
    }

    /// Removes what a finished install leaves: other version directories (all but the live and
    /// the previous one), staging directories, the saved config, an owned tarball, the journal.
    fn cleanup(&self, j: &Journal, committed: bool) {
        let root = self.cfg.app_root(&j.app);
        let live = fs::read_link(self.cfg.current_link(&j.app)).ok();
        let keep_prev = if committed {
            j.previous.current.clone()
        } else {
            None
        };
        if let Ok(entries) = fs::read_dir(&root) {
            for e in entries.flatten() {
                let name = PathBuf::from(e.file_name());
                if name == Path::new("current")
                    || Some(&name) == live.as_ref()
                    || Some(&name) == keep_prev.as_ref()
                {
                    continue;
                }
                let p = e.path();
                if p.is_dir() && !p.is_symlink() {
                    if let Err(err) = fs::remove_dir_all(&p) {
                        tracing::warn!(dir = %p.display(), error = %err, "cannot remove an old app directory");
                    }
                } else {
                    let _ = fs::remove_file(&p);
                }
            }
        }
        let _ = fsutil::remove_file_durable(&self.cfg.saved_conf_path(&j.app));
        if j.owns_tarball {
            let _ = fs::remove_file(&j.tarball);
            let _ = fs::remove_file(signature_path(&j.tarball));
        }
        if let Err(e) = fsutil::remove_file_durable(&self.cfg.journal_path()) {
            tracing::error!(error = %e, "cannot remove the install journal");
        }
    }

    fn record_attempt(&self, j: &Journal, result: &str, reason: &str) {
        let r = (|| -> Result<(), OtaError> {
            let mut reg = self.registry()?;
            let rec = reg.apps.entry(j.app.clone()).or_default();
            rec.last_attempt = Some(Attempt {
                version: j.version.clone(),
                sha256: j.sha256.clone(),
                at: now_unix(),
                result: result.into(),
                reason: Some(reason.into()),
            });
            reg.save()
        })();
        if let Err(e) = r {
            tracing::error!(error = %e, "cannot record the failed attempt in the registry");
        }
    }

    /// A failure before anything was swapped: remove the new files, keep the old version.
    fn abort(&self, mut run: Run, failure: Failure) -> InstallReport {
        tracing::warn!(app = %run.journal.app, error = %failure, "install refused");
        run.journal.failure = Some(failure.clone());
        if let Err(e) = self.advance(&mut run, Step::Aborted) {
            tracing::error!(error = %e, "cannot record the abort");
        }
        let _ = fsutil::remove_dir_all_quiet(&run.journal.staging);
        if let Some(d) = &run.journal.app_dir {
            if run.journal.previous.current.as_deref() != Some(Path::new(d)) {
                let _ = fsutil::remove_dir_all_quiet(&self.cfg.app_root(&run.journal.app).join(d));
            }
        }
        self.record_attempt(&run.journal, "failed", &failure.message);
        self.cleanup(&run.journal, false);
        run.report.result = InstallResult::Failed;
        run.report.error = Some(failure);
        run.report.duration_ms = run.started.elapsed().as_millis() as u64;
        run.report
    }

    /// Restores the previous version (idempotent; recovery repeats it after a crash).
    fn rollback(
        &self,
        mut run: Run,
        failure: Failure,
        failed_programs: Vec<crate::supervisor::ProgramHealth>,
    ) -> InstallReport {
        tracing::warn!(app = %run.journal.app, error = %failure, "rolling back");
        if run.journal.failure.is_none() {
            run.journal.failure = Some(failure.clone());
        }
        if run.journal.step != Step::RollingBack {
            if let Err(e) = self.advance(&mut run, Step::RollingBack) {
                tracing::error!(error = %e, "cannot record the rollback");
            }
        }
        let j = run.journal.clone();
        let mut notes = Vec::new();
        let link = self.cfg.current_link(&j.app);
        let restored = match &j.previous.current {
            Some(prev) => fsutil::swap_symlink(&link, prev),
            None => fsutil::remove_file_durable(&link),
        };
        if let Err(e) = restored {
            notes.push(format!("restore `{}`: {e}", link.display()));
        }
        self.observe(Checkpoint::LinkRestored);
        let conf = self.cfg.conf_path(&j.app);
        let saved = self.cfg.saved_conf_path(&j.app);
        let conf_back = if j.previous.had_conf {
            fs::read(&saved).and_then(|b| fsutil::write_atomic(&conf, &b, 0o644))
        } else {
            fsutil::remove_file_durable(&conf)
        };
        if let Err(e) = conf_back {
            notes.push(format!("restore `{}`: {e}", conf.display()));
        }
        self.observe(Checkpoint::ConfRestored);
        let mut programs = Vec::new();
        if let Some(url) = &self.cfg.supervisor_url {
            match supervisor::connect(url).and_then(|mut c| {
                supervisor::update(&mut c)?;
                if j.previous.had_conf {
                    programs = supervisor::wait_running(&mut c, &j.app, self.cfg.health_window);
                }
                Ok(())
            }) {
                Ok(()) => self.observe(Checkpoint::SupervisorUpdated),
                Err(f) => notes.push(f.message),
            }
        }
        if let Some(d) = &j.app_dir {
            if j.previous.current.as_deref() != Some(Path::new(d)) {
                let _ = fsutil::remove_dir_all_quiet(&self.cfg.app_root(&j.app).join(d));
            }
        }
        let _ = fsutil::remove_dir_all_quiet(&j.staging);
        if j.previous.current.is_none() {
            // Nothing to go back to: the app's root only held the failed version.
            let _ = fs::remove_dir(self.cfg.app_root(&j.app));
        }
        let mut reason = failure.message.clone();
        if !notes.is_empty() {
            reason.push_str(&format!(" (rollback problems: {})", notes.join("; ")));
        }
        self.record_attempt(&j, "rolled_back", &reason);
        if let Err(e) = self.advance(&mut run, Step::RolledBack) {
            tracing::error!(error = %e, "cannot record the end of the rollback");
        }
        self.cleanup(&run.journal, false);
        run.report.result = InstallResult::RolledBack;
        run.report.error = Some(Failure::new(failure.kind, reason.clone()));
        run.report.rollback = Some(RollbackInfo {
            reason,
            restored_version: j.previous.version.clone(),
            programs,
            failed_programs,
        });
        run.report.duration_ms = run.started.elapsed().as_millis() as u64;
        run.report
    }

    /// Finishes or rolls back an install interrupted by a crash (call at start). `None` when
    /// there was none.
    pub fn recover(&self) -> Option<InstallReport> {
        let _lock = match self.lock() {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "cannot lock the installer state for recovery");
                return None;
            }
        };
        self.recover_locked()
    }

    fn recover_locked(&self) -> Option<InstallReport> {
        let path = self.cfg.journal_path();
        let journal = match Journal::load(&path) {
            Ok(Some(j)) => j,
            Ok(None) => return None,
            Err(e) => {
                // Unreadable journal: a torn write cannot happen (atomic rename), so this is
                // foreign content; move it aside rather than act on it.
                tracing::error!(error = %e, "install journal unreadable; moved aside");
                let _ = fs::rename(&path, path.with_extension("json.bad"));
                return None;
            }
        };
        tracing::warn!(app = %journal.app, version = %journal.version, step = ?journal.step, "recovering an interrupted install");
        let mut report = InstallReport::new(&journal.file, source::RECOVERY);
        report.app = Some(journal.app.clone());
        report.version = Some(journal.version.clone());
        report.sha256 = journal.sha256.clone();
        report.previous_version = journal.previous.version.clone();
        report.steps.push(journal.step);
        let step = journal.step;
        let autostart = journal
            .program_conf
            .as_deref()
            .map(|t| {
                !t.lines().any(|l| {
                    let l = l.replace(' ', "").to_ascii_lowercase();
                    matches!(
                        l.as_str(),
                        "autostart=false" | "autostart=no" | "autostart=off" | "autostart=0"
                    )
                })
            })
            .unwrap_or(true);
        let run = Run {
            journal,
            report,
            started: Instant::now(),
            autostart,
        };
        let interrupted = |what: &str| {
            Failure::new(
                FailureKind::Interrupted,
                format!("the engine stopped during the install (at step {step:?}); {what}"),
            )
        };
        Some(match recovery_action(step) {
            Recovery::Abort => self.abort(
                run,
                interrupted("the new version was removed; the previous one was never touched"),
            ),
            Recovery::RollForward => self.apply_and_watch(run),
            Recovery::Commit => self.commit(run),
            Recovery::RollBack => {
                let f = run
                    .journal
                    .failure
                    .clone()
                    .unwrap_or_else(|| interrupted("rolled back"));
                self.rollback(run, f, Vec::new())
            }
            Recovery::Finish => {
                let mut run = run;
                run.report.result = match step {
                    Step::Committed => InstallResult::Installed,
                    Step::RolledBack => InstallResult::RolledBack,
                    _ => InstallResult::Failed,
                };
                run.report.error = run.journal.failure.clone();
                self.cleanup(&run.journal, step == Step::Committed);
                run.report
            }
        })
    }
}
