//! The engine against a real gwe-hub (in-process, 127.0.0.1:0) and, where apps matter, a real
//! python supervisord: activation, the three reports (schema-checked against docs/reports.md),
//! update_interval from the cloud, an operator command seen through the long poll, 401
//! recovery, activation retries and a hub outage.

mod common;

use common::schema;
use common::{wait_for, EngineDirs, Supervisord, TestHub};

const NO_SUPERVISOR: &str = "unix:///nonexistent/gwe-e2e-supervisord.sock";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("report is not JSON ({e}): {text}"))
}

/// Check-ins of the engine so far, from the request log.
fn gwe_check_ins(audit: &std::path::Path) -> u64 {
    gwe_device_client::audit::AuditDb::open(audit)
        .and_then(|db| db.usage_since(std::time::UNIX_EPOCH))
        .ok()
        .and_then(|u| {
            u.agents
                .get("gwe")
                .and_then(|a| a.procedures.get("write_read"))
                .map(|s| s.requests)
        })
        .unwrap_or(0)
}

fn assert_valid(name: &str, value: &serde_json::Value) {
    let errors = schema::validate(&schema::from_docs(name), value);
    assert!(
        errors.is_empty(),
        "{name} does not match docs/reports.md:\n{}\n{value:#}",
        errors.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activates_reports_and_applies_update_interval_from_the_cloud() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    let supervisord = Supervisord::start()
        .expect("python supervisord must be installed (pip install supervisor)");
    let sn = "E2E-REPORTS-1";
    hub.add_device(sn).await;
    // The operator asks for a 1 s period before the gateway ever checks in.
    hub.write(sn, "update_interval", "1").await;
    let dirs = EngineDirs::new(sn, &hub.url(), 3600, &supervisord.url());
    let engine = dirs.start();

    wait_for("activation stores a 40-character CIK", 20, || async {
        dirs.cik().len() == 40
    })
    .await;
    wait_for(
        "the supervisor's program shows RUNNING in engine_report",
        30,
        || async {
            hub.latest(sn, "engine_report").await.is_some_and(|r| {
                let r = json(&r);
                r["apps"]
                    .as_array()
                    .is_some_and(|apps| apps.iter().any(|a| a["sleeper"]["status"] == "RUNNING"))
            })
        },
    )
    .await;
    for name in ["device_info", "engine_report", "usage_report"] {
        let text = hub
            .latest(sn, name)
            .await
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_valid(name, &json(&text));
    }
    let report = json(&hub.latest(sn, "engine_report").await.unwrap());
    let sleeper = report["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|a| a.get("sleeper"))
        .unwrap()
        .clone();
    assert!(sleeper["pid"].as_i64().unwrap() > 0);
    assert!(
        sleeper["version"].is_null(),
        "no versions.json yet: {sleeper}"
    );
    assert_eq!(report["version"], gwe_engine::VERSION);
    assert_eq!(report["supervisor"]["state"], "RUNNING");
    let info = json(&hub.latest(sn, "device_info").await.unwrap());
    assert!(info["df"].as_str().unwrap().starts_with("Filesystem"));
    assert!(info["free"].as_str().unwrap().contains("Mem:"));
    assert!(info["ipaddrs"].as_str().unwrap().contains("127.0.0.1/8"));

    // update_interval was applied, persisted and cleared.
    wait_for("update_interval cleared on the hub", 20, || async {
        hub.latest(sn, "update_interval").await.as_deref() == Some("")
    })
    .await;
    assert_eq!(dirs.config.load_engine().unwrap().update_interval, 1);

    // A bad value is cleared, reported in fetch_status, and ignored.
    hub.write(sn, "update_interval", "soon").await;
    wait_for(
        "the bad update_interval reported in fetch_status",
        20,
        || async {
            hub.latest(sn, "fetch_status")
                .await
                .is_some_and(|s| s.contains("update_interval") && s.contains("soon"))
        },
    )
    .await;
    assert_eq!(hub.latest(sn, "update_interval").await.as_deref(), Some(""));
    assert_eq!(dirs.config.load_engine().unwrap().update_interval, 1);

    // Check-ins continue every second. Nothing changes on the gateway, and the engine's own
    // requests are no news: usage_report (like engine_report) was sent once, and not again.
    let audit = dirs.config.load_engine().unwrap().audit_db;
    let check_ins = || gwe_check_ins(&audit);
    let start = check_ins();
    wait_for("five more check-ins", 30, || async {
        check_ins() >= start + 5
    })
    .await;
    let usage = hub.history(sn, "usage_report", 100).await;
    assert_eq!(
        usage.len(),
        1,
        "an idle engine re-sent usage_report: {usage:?}"
    );
    let reports = hub.history(sn, "engine_report", 100).await;
    assert!(
        reports.len() < 5,
        "engine_report re-sent on every check-in ({})",
        reports.len()
    );

    // Another agent (an app using the device client and the same request log) makes a
    // request: the next check-in sends usage_report, with the engine's accumulated traffic.
    let app = gwe_device_client::DeviceClient::new(
        gwe_device_client::ClientConfig::new(hub.url())
            .with_cik(dirs.cik())
            .with_agent("e2e_app")
            .with_audit(gwe_device_client::audit::AuditConfig::at(&audit)),
    )
    .unwrap();
    app.write(&[("app_data", "42")]).await.unwrap();
    assert!(app.flush_audit(std::time::Duration::from_secs(10)));
    wait_for("usage_report sent for the app's request", 30, || async {
        hub.history(sn, "usage_report", 100).await.len() == 2
    })
    .await;
    let latest_usage = json(&hub.latest(sn, "usage_report").await.unwrap());
    assert_valid("usage_report", &latest_usage);
    let iface = latest_usage.as_object().unwrap().values().next().unwrap();
    assert_eq!(iface["e2e_app"]["write"]["num"], 1, "{latest_usage}");
    assert!(
        iface["gwe"]["write_read"]["num"].as_u64().unwrap() >= 5,
        "the engine's check-ins since the first report are counted: {latest_usage}"
    );
    assert_eq!(iface["top_consumer"], "gwe");
    // And then the gateway is idle again: no more usage reports.
    let start = check_ins();
    wait_for("five more check-ins", 30, || async {
        check_ins() >= start + 5
    })
    .await;
    assert_eq!(hub.history(sn, "usage_report", 100).await.len(), 2);

    assert!(engine.is_running());
    engine.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_command_arrives_through_the_long_poll_and_is_cleared() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    let sn = "E2E-FETCH-1";
    hub.add_device(sn).await;
    // One check-in, then an hour of waiting: only the long poll can see the command in time.
    let dirs = EngineDirs::new(sn, &hub.url(), 3600, NO_SUPERVISOR);
    let engine = dirs.start();
    wait_for("first check-in", 20, || async {
        hub.latest(sn, "device_info").await.is_some()
    })
    .await;
    let report = json(&hub.latest(sn, "engine_report").await.unwrap());
    assert_eq!(report["supervisor"]["reachable"], false, "{report}");
    assert_valid("engine_report", &report);
    wait_for("the engine's long poll on engine_fetch", 20, || async {
        hub.notifier.channels() >= 1
    })
    .await;

    let command = r#"{"install": [{"name": "my_app.v2.tar.gz"}]}"#;
    hub.write(sn, "engine_fetch", command).await;
    wait_for("the command answered in fetch_status", 20, || async {
        hub.latest(sn, "fetch_status")
            .await
            .is_some_and(|s| s.contains("my_app.v2.tar.gz") && s.contains("not yet supported"))
    })
    .await;
    // engine_fetch was cleared before the answer, and the command was taken once.
    let fetch = hub.history(sn, "engine_fetch", 10).await;
    assert_eq!(fetch.first().map(String::as_str), Some(""), "{fetch:?}");
    assert_eq!(fetch.iter().filter(|v| v.as_str() == command).count(), 1);
    let state_file = dirs
        .config
        .load_engine()
        .unwrap()
        .effective_state_dir()
        .join("engine_state.json");
    let state = json(&std::fs::read_to_string(&state_file).unwrap());
    assert_eq!(state["commands"].as_array().unwrap().len(), 1, "{state}");
    assert_eq!(state["commands"][0]["command"], command);

    // A second command is seen too.
    wait_for("the long poll again", 20, || async {
        hub.notifier.channels() >= 1
    })
    .await;
    hub.write(sn, "engine_fetch", "reboot now").await;
    wait_for("the garbage command answered", 20, || async {
        hub.latest(sn, "fetch_status")
            .await
            .is_some_and(|s| s.contains("ignored"))
    })
    .await;
    assert_eq!(hub.history(sn, "fetch_status", 10).await.len(), 2);
    engine.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_cik_leads_to_a_new_activation() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    let sn = "E2E-401-1";
    hub.add_device(sn).await;
    let dirs = EngineDirs::new(sn, &hub.url(), 1, NO_SUPERVISOR);
    let engine = dirs.start();
    wait_for("activation", 20, || async { dirs.cik().len() == 40 }).await;
    let first = dirs.cik();
    // The operator re-enables the device: its CIK stops working, a new activation is allowed.
    hub.enable_device(sn).await;
    wait_for("a new CIK after the 401", 30, || async {
        let c = dirs.cik();
        c.len() == 40 && c != first
    })
    .await;
    let before = hub.history(sn, "usage_report", 100).await.len();
    wait_for("check-ins with the new CIK", 30, || async {
        hub.history(sn, "usage_report", 100).await.len() > before
    })
    .await;
    assert!(engine.is_running());
    engine.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activation_is_retried_until_the_identity_exists() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    let sn = "E2E-404-1";
    let dirs = EngineDirs::new(sn, &hub.url(), 3600, NO_SUPERVISOR);
    let engine = dirs.start();
    // 404 (unknown identity): the engine waits and retries, never gives up.
    let audit = dirs.config.load_engine().unwrap().audit_db;
    wait_for(
        "a failed activation attempt in the request log",
        20,
        || async {
            gwe_device_client::audit::AuditDb::open(&audit)
                .and_then(|db| db.recent(10))
                .is_ok_and(|rows| {
                    rows.iter()
                        .any(|r| r.procedure == "activate" && r.status == Some(404))
                })
        },
    )
    .await;
    assert!(dirs.cik().is_empty());
    assert!(engine.is_running());
    hub.add_device(sn).await;
    wait_for("activation once the identity exists", 20, || async {
        dirs.cik().len() == 40
    })
    .await;
    wait_for("first check-in", 20, || async {
        hub.latest(sn, "device_info").await.is_some()
    })
    .await;
    engine.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_hub_outage_and_reports_it_when_the_link_returns() {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = TestHub::start(hub_dir.path(), "127.0.0.1:0").await;
    let addr = hub.addr.to_string();
    let sn = "E2E-OUTAGE-1";
    hub.add_device(sn).await;
    let dirs = EngineDirs::new(sn, &hub.url(), 1, NO_SUPERVISOR);
    let engine = dirs.start();
    wait_for("first check-in", 20, || async {
        hub.latest(sn, "device_info").await.is_some()
    })
    .await;
    let cik = dirs.cik();
    hub.stop().await;

    // While the hub is away the engine keeps trying (its failures land in the request log).
    let audit = dirs.config.load_engine().unwrap().audit_db;
    wait_for("failed check-ins while the hub is down", 20, || async {
        gwe_device_client::audit::AuditDb::open(&audit)
            .and_then(|db| db.recent(20))
            .is_ok_and(|rows| {
                rows.iter()
                    .filter(|r| r.procedure == "write_read" && r.status.is_none())
                    .count()
                    >= 2
            })
    })
    .await;
    assert!(
        engine.is_running(),
        "the engine must not exit while the link is down"
    );

    // The hub comes back on the same address with the same data.
    let hub = TestHub::start(hub_dir.path(), &addr).await;
    wait_for("engine_report telling about the outage", 30, || async {
        hub.latest(sn, "engine_report")
            .await
            .is_some_and(|r| !json(&r)["link"]["offline_since"].is_null())
    })
    .await;
    let report = json(&hub.latest(sn, "engine_report").await.unwrap());
    assert!(
        report["link"]["failed_attempts"].as_u64().unwrap() >= 2,
        "{report}"
    );
    assert_valid("engine_report", &report);
    // The failed requests made while offline are in the usage delivered afterwards.
    wait_for("usage_report counting the failed requests", 30, || async {
        hub.history(sn, "usage_report", 100).await.iter().any(|u| {
            let u = json(u);
            u.as_object()
                .and_then(|m| m.values().next())
                .is_some_and(|i| i["errors"].as_u64().unwrap_or(0) >= 2)
        })
    })
    .await;
    assert_eq!(dirs.cik(), cik, "an outage is not a reason to re-activate");
    engine.stop().await;
    hub.stop().await;
}
