//! The demo's gateway: a config dir, state, include dir and logs in the temp root, and
//! `gwe supervisord` (this binary) running the engine as program `gwe`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use gwe_engine::config::ConfigDir;

/// A running demo gateway; dropping it stops the supervisor (and with it the engine and apps).
pub struct Gateway {
    root: PathBuf,
    supervisor: Child,
}

impl Gateway {
    /// Lays out the temp root and starts `gwe supervisord -n`, waiting until it answers.
    pub fn start(
        root: &Path,
        server_url: &str,
        sn: &str,
        product: &str,
        timeout: Duration,
    ) -> anyhow::Result<Gateway> {
        for sub in ["etc", "state", "conf.d", "log", "sv", "build"] {
            let d = root.join(sub);
            std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        }
        let exe = std::env::current_exe().context("locating the gwe binary")?;
        let d = root.display();
        write(
            &root.join("etc/Gateway.cfg"),
            &format!(
                "[device]\ncik = ''\nmodel = {product}\nvendor = {product}\nuuid = {sn}\niface = ''\n"
            ),
        )?;
        write(
            &root.join("etc/Engine.config"),
            &format!(
                "[engine]\nserver_url = {server_url}\nupdate_interval = 1\nactivation_retry_interval = 1\n\
                 supervisor_url = unix://{d}/sv/supervisor.sock\nstate_dir = {d}/state\n\
                 supervisor_include_dir = {d}/conf.d\napp_log_dir = {d}/log\nota_health_window = 1\n\
                 audit_db = {d}/state/ifaces.db\n"
            ),
        )?;
        write(
            &root.join("sv/supervisord.conf"),
            &format!(
                "[unix_http_server]\nfile = {d}/sv/supervisor.sock\n\n\
                 [supervisord]\nlogfile = {d}/sv/supervisord.log\npidfile = {d}/sv/supervisord.pid\n\
                 childlogdir = {d}/log\n\n\
                 [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n\
                 [program:gwe]\ncommand = {exe} --config-dir {d}/etc\nautorestart = true\n\
                 redirect_stderr = true\nstdout_logfile = {d}/log/gwe.log\n\
                 environment = GWE_CONFIG_DIR=\"{d}/etc\"\n\n\
                 [include]\nfiles = {d}/conf.d/*.conf\n",
                exe = exe.display()
            ),
        )?;
        let supervisor = Command::new(&exe)
            .args(["supervisord", "-n", "-c"])
            .arg(root.join("sv/supervisord.conf"))
            .env("GWE_CONFIG_DIR", root.join("etc"))
            .env_remove("GWE_STATE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {} supervisord", exe.display()))?;
        let mut gw = Gateway {
            root: root.to_path_buf(),
            supervisor,
        };
        let log = root.join("sv/supervisord.log");
        let mut client = gw.client()?;
        let child = &mut gw.supervisor;
        super::wait_for("gwe supervisord to answer", timeout, || {
            if let Ok(Some(status)) = child.try_wait() {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                anyhow::bail!("gwe supervisord exited ({status}); its log:\n{tail}");
            }
            Ok(client.get_state().ok().map(drop))
        })?;
        Ok(gw)
    }

    /// The supervisor's control URL.
    pub fn supervisor_url(&self) -> String {
        format!("unix://{}/sv/supervisor.sock", self.root.display())
    }

    /// The supervisor's pid.
    pub fn supervisor_pid(&self) -> u32 {
        self.supervisor.id()
    }

    fn client(&self) -> anyhow::Result<gwe_supervisor_client::Client> {
        gwe_supervisor_client::Client::new(&self.supervisor_url()).context("supervisor client")
    }

    /// State name and pid of a program, when the supervisor knows it.
    pub fn program_state(&self, group: &str) -> Option<(String, i64)> {
        self.client()
            .ok()?
            .get_all_process_info()
            .ok()?
            .into_iter()
            .find(|p| p.group == group)
            .map(|p| (p.statename, p.pid))
    }

    /// The CIK in Gateway.cfg (`None` while it cannot be read).
    pub fn cik(&self) -> Option<String> {
        ConfigDir::locate(Some(self.root.join("etc")))
            .load_gateway()
            .ok()
            .map(|g| g.cik)
    }

    /// Builds the sample app (install.sh + supervisor.conf running a shell loop) with
    /// gwe-package, in `build/`.
    pub fn build_sample_app(
        &self,
        app: &str,
        version: &str,
    ) -> anyhow::Result<gwe_package::BuildOutcome> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.root.join("build").join(app);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let install = dir.join("install.sh");
        write(
            &install,
            &format!("#!/bin/sh\necho \"installing {app} {version} from $(pwd)\"\n"),
        )?;
        std::fs::set_permissions(&install, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("chmod {}", install.display()))?;
        write(
            &dir.join("supervisor.conf"),
            &format!(
                "[supervisord]\ncommand = /bin/sh -c 'while true; do echo \"{app} {version} alive\"; sleep 5; done'\n"
            ),
        )?;
        let buildfile = dir.join("gwe-buildfile.json");
        let spec = serde_json::json!({
            "name": app, "version": version,
            "includes": ["install.sh", "supervisor.conf"], "excludes": [],
            "pre_build_cmds": [], "post_build_cmds": []
        });
        write(&buildfile, &spec.to_string())?;
        let outcome =
            gwe_package::build_app_tarball(&buildfile, &gwe_package::BuildOptions::default())
                .with_context(|| format!("building {}", buildfile.display()))?;
        if !outcome.report.passed {
            anyhow::bail!(
                "the sample app fails its checks:\n{}",
                outcome.report.render()
            );
        }
        Ok(outcome)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // SIGTERM: the supervisor stops the engine and the apps, then exits.
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.supervisor.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.supervisor.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.supervisor.kill();
        let _ = self.supervisor.wait();
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
