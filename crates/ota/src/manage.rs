//! Uninstall, start, stop, restart of installed apps.

use std::fs;

use crate::command::valid_app_name;
use crate::error::{io_at, Failure, FailureKind};
use crate::fsutil;
use crate::installer::Installer;
use crate::supervisor;

impl Installer {
    fn check_app(&self, app: &str) -> Result<(), Failure> {
        if !valid_app_name(app) {
            return Err(Failure::new(
                FailureKind::NotInstalled,
                format!("`{app}` is not a valid app name"),
            ));
        }
        Ok(())
    }

    fn is_installed(&self, app: &str) -> bool {
        self.cfg.app_root(app).exists()
            || self.cfg.conf_path(app).exists()
            || self
                .registry()
                .is_ok_and(|r| r.get(app).is_some_and(|a| a.version.is_some()))
    }

    /// Removes an app: its program (stopped and removed from the supervisor), its directories
    /// and its registry entry.
    pub fn uninstall(&self, app: &str) -> Result<String, Failure> {
        self.check_app(app)?;
        let _lock = crate::fsutil::FileLock::acquire(&self.cfg.lock_path())
            .map_err(io_at("lock", &self.cfg.lock_path()))?;
        if !self.is_installed(app) {
            return Err(Failure::new(
                FailureKind::NotInstalled,
                format!("`{app}` is not installed"),
            ));
        }
        let conf = self.cfg.conf_path(app);
        let had_program = conf.exists();
        fsutil::remove_file_durable(&conf).map_err(io_at("remove", &conf))?;
        let mut note = String::new();
        if had_program {
            if let Some(url) = &self.cfg.supervisor_url {
                let mut c = supervisor::connect(url)?;
                supervisor::update(&mut c)?;
            } else {
                note = " (no supervisor configured: the program goes at its next start)".into();
            }
        }
        let mut reg = self.registry()?;
        let version = reg.apps.remove(app).and_then(|r| r.version);
        reg.save()?;
        let root = self.cfg.app_root(app);
        fsutil::remove_dir_all_quiet(&root).map_err(io_at("remove", &root))?;
        let _ = fs::remove_file(self.cfg.saved_conf_path(app));
        Ok(format!(
            "{app}{}: uninstalled{note}",
            version.map(|v| format!(" {v}")).unwrap_or_default()
        ))
    }

    fn with_supervisor<T>(
        &self,
        app: &str,
        f: impl FnOnce(
            &mut gwe_supervisor_client::Client,
        ) -> Result<T, gwe_supervisor_client::ClientError>,
        what: &str,
    ) -> Result<T, Failure> {
        self.check_app(app)?;
        if !self.cfg.conf_path(app).exists() {
            return Err(Failure::new(
                FailureKind::NotInstalled,
                format!("`{app}` has no program (not installed, or not a long-running app)"),
            ));
        }
        let url = self
            .cfg
            .supervisor_url
            .as_ref()
            .ok_or_else(|| Failure::new(FailureKind::Supervisor, "no supervisor configured"))?;
        let mut c = supervisor::connect(url)?;
        f(&mut c).map_err(|e| Failure::new(FailureKind::Supervisor, format!("{what} {app}: {e}")))
    }

    /// Starts the app's programs (waits until RUNNING).
    pub fn start(&self, app: &str) -> Result<String, Failure> {
        self.with_supervisor(app, |c| c.start_process_group(app, true), "start")?;
        Ok(format!("{app}: started"))
    }

    /// Stops the app's programs.
    pub fn stop(&self, app: &str) -> Result<String, Failure> {
        self.with_supervisor(app, |c| c.stop_process_group(app, true), "stop")?;
        Ok(format!("{app}: stopped"))
    }

    /// Stops then starts the app's programs.
    pub fn restart(&self, app: &str) -> Result<String, Failure> {
        self.with_supervisor(
            app,
            |c| {
                // Stopping a group that is not running is not an error for a restart.
                let _ = c.stop_process_group(app, true);
                c.start_process_group(app, true)
            },
            "restart",
        )?;
        Ok(format!("{app}: restarted"))
    }
}
