//! OTA end to end against the project's own hub (in process, 127.0.0.1:0): the operator uploads
//! tarballs (and detached signatures) to the content area, the installer fetches them with the
//! device client into its cache, verifies digest and signature, installs, and reports per item.

mod common;

use std::path::Path;

use common::hub::*;
use common::*;
use gwe_ota::{FailureKind, ItemResult};

fn cache_is_empty(root: &Path) -> bool {
    std::fs::read_dir(root.join("ota/cache")).map_or(true, |mut d| d.next().is_none())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ota_from_the_content_area() {
    let t = tempfile::tempdir().unwrap();
    let (dir, root, keys, signer) = (
        t.path().join("pkgs"),
        t.path().join("gw"),
        t.path().join("trusted"),
        t.path().join("signer"),
    );
    for d in [&dir, &keys, &signer] {
        std::fs::create_dir_all(d).unwrap();
    }
    let hub = start_hub(&t.path().join("hub")).await;
    let client = device(&hub, hub.addr, "gw-ota", 3).await;
    let key = gwe_package::generate_keypair(&signer, "release").unwrap();
    std::fs::copy(&key.public_key, keys.join("release.pub")).unwrap();
    let sup = tokio::task::block_in_place(|| Supervisord::start(&root));
    let mut cfg = config(&root, Some(&sup));
    cfg.trusted_keys_dir = Some(keys.clone());
    let inst = gwe_ota::Installer::new(cfg);

    // v1, signed, its digest in the meta.
    let v1 = sleeper_app(&dir, "app", "1", 1001);
    gwe_package::sign_tarball(&v1, &key.private_key).unwrap();
    let v1_sha = gwe_package::sha256_file(&v1).unwrap();
    upload(&hub, &v1, &format!("sha256={v1_sha}")).await;
    upload(&hub, &gwe_package::signature_path(&v1), "").await;
    let s = inst
        .run_command(r#"{"install": [{"name": "app.v1.tar.gz"}]}"#, Some(&client))
        .await;
    assert!(s.ok, "{s:#?}");
    assert_eq!(s.items[0].result, ItemResult::Installed);
    assert_eq!(s.items[0].exit_code, Some(0));
    assert_eq!(s.items[0].stdout, "installing app 1\n");
    let install = s.items[0].install.as_ref().unwrap();
    assert_eq!(install.sha256.as_deref(), Some(v1_sha.as_str()));
    assert!(install
        .signature
        .as_deref()
        .unwrap()
        .starts_with("verified"));
    assert_eq!(registry_entry(&root, "app")["source"], "engine_fetch");
    assert!(
        cache_is_empty(&root),
        "the download is removed after the install"
    );
    let pid = sup.program("app").unwrap().1;
    // The JSON for fetch_status.
    let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(json["items"][0]["result"], "installed");
    assert_eq!(json["items"][0]["install"]["steps"][0], "started");

    // Taken again: already installed, not downloaded, not restarted.
    let s = inst
        .run_command(r#"{"install": [{"name": "app.v1.tar.gz"}]}"#, Some(&client))
        .await;
    assert_eq!(s.items[0].result, ItemResult::AlreadyInstalled, "{s:#?}");
    assert!(s.items[0].message.contains("already installed"));
    assert_eq!(sup.program("app").unwrap().1, pid);

    // v2 without a signature: refused; v1 untouched.
    let v2 = sleeper_app(&dir, "app", "2", 1002);
    upload(&hub, &v2, "").await;
    let s = inst
        .run_command(r#"{"install": [{"name": "app.v2.tar.gz"}]}"#, Some(&client))
        .await;
    assert_eq!(s.items[0].result, ItemResult::Failed);
    let e = s.items[0].error.as_ref().unwrap();
    assert_eq!(e.kind, FailureKind::Signature, "{e:?}");
    assert!(e.message.contains("unsigned"));
    assert_eq!(sup.program("app").unwrap().1, pid);
    assert!(cache_is_empty(&root));

    // Signed now, but the command names another digest: refused before anything runs.
    gwe_package::sign_tarball(&v2, &key.private_key).unwrap();
    upload(&hub, &gwe_package::signature_path(&v2), "").await;
    let wrong = "1".repeat(64);
    let s = inst
        .run_command(
            &format!(r#"{{"install": [{{"name": "app.v2.tar.gz", "sha256": "{wrong}"}}]}}"#),
            Some(&client),
        )
        .await;
    assert_eq!(
        s.items[0].error.as_ref().unwrap().kind,
        FailureKind::Digest,
        "{s:#?}"
    );
    assert_eq!(registry_version(&root, "app").as_deref(), Some("1"));

    // A missing item fails alone; the next one installs. A partial download in the cache is
    // resumed.
    let v2_bytes = std::fs::read(&v2).unwrap();
    std::fs::create_dir_all(root.join("ota/cache")).unwrap();
    std::fs::write(
        root.join("ota/cache/app.v2.tar.gz.part"),
        &v2_bytes[..v2_bytes.len() / 2],
    )
    .unwrap();
    let v2_sha = gwe_package::sha256_file(&v2).unwrap();
    let s = inst
        .run_command(
            &format!(
                r#"{{"install": [{{"name": "ghost.v1.tar.gz"}}, {{"name": "app.v2.tar.gz", "sha256": "{v2_sha}"}}]}}"#
            ),
            Some(&client),
        )
        .await;
    assert!(!s.ok);
    assert_eq!(s.items[0].error.as_ref().unwrap().kind, FailureKind::Fetch);
    assert!(
        s.items[0].message.contains("ghost.v1.tar.gz"),
        "{}",
        s.items[0].message
    );
    assert_eq!(s.items[1].result, ItemResult::Installed, "{s:#?}");
    assert_eq!(registry_version(&root, "app").as_deref(), Some("2"));
    assert!(sup.cmdline("app").unwrap().contains("sleep 1002"));

    // A corrupt partial download is caught by the digest, and the next try starts clean.
    let v3 = sleeper_app(&dir, "app", "3", 1003);
    gwe_package::sign_tarball(&v3, &key.private_key).unwrap();
    let v3_sha = gwe_package::sha256_file(&v3).unwrap();
    upload(&hub, &v3, &format!("sha256:{v3_sha}")).await;
    upload(&hub, &gwe_package::signature_path(&v3), "").await;
    std::fs::write(root.join("ota/cache/app.v3.tar.gz.part"), b"garbage prefix").unwrap();
    let cmd = r#"{"install": [{"name": "app.v3.tar.gz"}]}"#;
    let s = inst.run_command(cmd, Some(&client)).await;
    assert_eq!(s.items[0].result, ItemResult::Failed, "{s:#?}");
    assert!(cache_is_empty(&root));
    assert_eq!(registry_version(&root, "app").as_deref(), Some("2"));
    let s = inst.run_command(cmd, Some(&client)).await;
    assert_eq!(s.items[0].result, ItemResult::Installed, "{s:#?}");
    assert_eq!(registry_version(&root, "app").as_deref(), Some("3"));
}
