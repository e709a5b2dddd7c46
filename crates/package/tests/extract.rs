//! Safe extraction: a good tarball lands intact; every hostile one is refused with its own typed
//! error, and the staging directory is gone afterwards.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use gwe_package::{
    extract_reader, extract_tarball, sha256_file, ExtractError, Limits, UnsafeEntry,
};
use tar::EntryType;

fn extract_bytes(
    tmp: &Path,
    bytes: &[u8],
    limits: &Limits,
) -> Result<gwe_package::Extracted, ExtractError> {
    let tarball = write(tmp, "app.v1.tar.gz", bytes);
    let staging = tmp.join("staging");
    let r = extract_tarball(&tarball, &staging, limits);
    if r.is_err() {
        assert!(
            !staging.exists(),
            "staging left behind: {:?}",
            tree(&staging)
        );
    }
    r
}

#[test]
fn good_tarball_extracts_with_modes_links_and_one_pass_sha256() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = targz(&[
        dir("./"),
        file("./install.sh", 0o700, INSTALL),
        file("supervisor.conf", 0o664, CONF),
        dir("lib"),
        file("lib/libx.so.1", 0o755, b"ELF"),
        symlink("lib/libx.so", "libx.so.1"),
        symlink("bin", "lib"),
        hardlink("copy.conf", "supervisor.conf"),
        file("deep/er/file.txt", 0o600, b"data"),
        // A later duplicate replaces the earlier file, as tar does.
        file("deep/er/file.txt", 0o644, b"data2"),
    ]);
    let out = extract_bytes(tmp.path(), &bytes, &Limits::default()).unwrap();
    let s = &out.staging;
    assert_eq!(
        out.sha256,
        sha256_file(&tmp.path().join("app.v1.tar.gz")).unwrap()
    );
    assert_eq!(out.compressed_bytes, bytes.len() as u64);
    assert_eq!(out.entries, 10);
    assert_eq!(fs::read(s.join("install.sh")).unwrap(), INSTALL);
    let mode = |p: &str| {
        fs::symlink_metadata(s.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("install.sh"), 0o755, "x bit kept, normalized");
    assert_eq!(mode("supervisor.conf"), 0o644, "group write dropped");
    assert_eq!(
        fs::read_link(s.join("lib/libx.so")).unwrap(),
        Path::new("libx.so.1")
    );
    assert_eq!(fs::read(s.join("bin/libx.so.1")).unwrap(), b"ELF");
    assert_eq!(fs::read(s.join("copy.conf")).unwrap(), CONF);
    assert_eq!(fs::read(s.join("deep/er/file.txt")).unwrap(), b"data2");
}

#[test]
fn extract_reader_streams_from_any_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = targz(&[file("install.sh", 0o755, INSTALL)]);
    let out = extract_reader(&bytes[..], &tmp.path().join("s"), &Limits::default()).unwrap();
    assert_eq!(
        out.sha256,
        gwe_package::sha256_reader(&bytes[..]).unwrap().0
    );
}

#[test]
fn staging_that_exists_is_refused_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let staging = tmp.path().join("staging");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("keep"), b"x").unwrap();
    let bytes = targz(&[file("install.sh", 0o755, INSTALL)]);
    let r = extract_reader(&bytes[..], &staging, &Limits::default());
    assert!(matches!(r, Err(ExtractError::StagingExists(_))), "{r:?}");
    assert!(
        staging.join("keep").exists(),
        "someone else's directory must not be removed"
    );
}

/// Each hostile archive, with a predicate on its error.
#[test]
fn hostile_tarballs_are_refused_each_with_its_own_error() {
    type Expect = fn(&ExtractError) -> bool;
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "absolute path",
            targz(&[
                file("install.sh", 0o755, INSTALL),
                file("/etc/evil", 0o644, b"x"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::AbsolutePath { entry }) if entry == "/etc/evil"),
        ),
        (
            "dot-dot",
            targz(&[
                file("install.sh", 0o755, INSTALL),
                file("../x", 0o644, b"x"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::ParentDir { entry }) if entry == "../x"),
        ),
        (
            "nested dot-dot",
            targz(&[file("a/b/../../../x", 0o644, b"x")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::ParentDir { .. })),
        ),
        (
            "symlink to /etc then a file through it",
            targz(&[
                symlink("etc", "/etc"),
                file("etc/cron.d/evil", 0o644, b"* * * * * root sh"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::SymlinkAbsolute { entry, target }) if entry == "etc" && target == "/etc"),
        ),
        (
            "relative symlink escaping",
            targz(&[symlink("up", "../../outside")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::SymlinkEscapes { entry, .. }) if entry == "up"),
        ),
        (
            "file written through an earlier (inside) symlink",
            targz(&[
                dir("real"),
                symlink("alias", "real"),
                file("alias/x", 0o644, b"x"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::ThroughSymlink { entry, symlink }) if entry == "alias/x" && symlink == "alias"),
        ),
        (
            "file replacing an earlier symlink",
            targz(&[
                file("t", 0o644, b"x"),
                symlink("l", "t"),
                file("l", 0o644, b"y"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::ThroughSymlink { entry, .. }) if entry == "l"),
        ),
        (
            "hardlink escape (absolute)",
            targz(&[hardlink("shadow", "/etc/shadow")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::HardlinkOutside { entry, target }) if entry == "shadow" && target == "/etc/shadow"),
        ),
        (
            "hardlink escape (dot-dot)",
            targz(&[hardlink("h", "../../etc/passwd")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::HardlinkOutside { .. })),
        ),
        (
            "hardlink to a file not in the archive",
            targz(&[hardlink("h", "install.sh")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::HardlinkOutside { .. })),
        ),
        (
            "character device",
            targz(&[special("null", EntryType::Char)]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::DeviceFile { entry, kind: "character" }) if entry == "null"),
        ),
        (
            "block device",
            targz(&[special("sda", EntryType::Block)]),
            |e| {
                matches!(
                    e,
                    ExtractError::Unsafe(UnsafeEntry::DeviceFile { kind: "block", .. })
                )
            },
        ),
        ("fifo", targz(&[special("pipe", EntryType::Fifo)]), |e| {
            matches!(e, ExtractError::Unsafe(UnsafeEntry::Fifo { .. }))
        }),
        (
            "setuid file",
            targz(&[file("install.sh", 0o755, INSTALL), file("su", 0o4755, b"x")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::SetuidSetgid { entry, mode: 0o4755 }) if entry == "su"),
        ),
        (
            "setgid directory",
            targz(&[
                dir("d"),
                Raw {
                    path: "g",
                    kind: EntryType::Directory,
                    mode: 0o2755,
                    link: None,
                    data: b"",
                },
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::SetuidSetgid { .. })),
        ),
        (
            "file over a directory",
            targz(&[dir("d"), file("d", 0o644, b"x")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::TypeConflict { entry }) if entry == "d"),
        ),
        (
            "directory replaced by a symlink after a file was put in it",
            targz(&[file("d/x", 0o644, b"x"), symlink("d", ".")]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::TypeConflict { entry }) if entry == "d"),
        ),
        (
            "symlink whose `..` follows another symlink (s -> ., t -> s/..)",
            targz(&[
                symlink("s", "."),
                symlink("t", "s/.."),
                file("t/escaped", 0o644, b"x"),
            ]),
            |e| matches!(e, ExtractError::Unsafe(UnsafeEntry::SymlinkEscapes { entry, .. }) if entry == "t"),
        ),
        (
            "truncated gzip",
            {
                let full = targz(&[
                    file("install.sh", 0o755, INSTALL),
                    file("big", 0o644, &[7u8; 100_000]),
                ]);
                full[..full.len() / 2].to_vec()
            },
            |e| matches!(e, ExtractError::Truncated),
        ),
        (
            "gzip with a corrupt CRC",
            {
                let mut full = targz(&[file("install.sh", 0o755, INSTALL)]);
                let n = full.len();
                full[n - 8] ^= 0xff;
                full
            },
            |e| matches!(e, ExtractError::Corrupt(_)),
        ),
        (
            "not gzip at all (plain tar)",
            tar_bytes(&[file("install.sh", 0o755, INSTALL)]),
            |e| matches!(e, ExtractError::NotGzip),
        ),
        ("not gzip at all (text)", b"hello, world\n".to_vec(), |e| {
            matches!(e, ExtractError::NotGzip)
        }),
        ("empty file", Vec::new(), |e| {
            matches!(e, ExtractError::NotGzip)
        }),
        ("gzip of garbage", gzip(&[0x55u8; 4096]), |e| {
            matches!(e, ExtractError::Corrupt(_))
        }),
    ];
    for (what, bytes, expect) in cases {
        let tmp = tempfile::tempdir().unwrap();
        match extract_bytes(tmp.path(), &bytes, &Limits::default()) {
            Ok(x) => panic!("{what}: accepted: {x:?}"),
            Err(e) => {
                assert!(expect(&e), "{what}: unexpected error {e:?}");
                // The message names the entry for per-entry refusals.
                if let ExtractError::Unsafe(u) = &e {
                    assert!(e.to_string().contains("entry `"), "{what}: {u}");
                }
            }
        }
        assert_eq!(tree(tmp.path()), vec!["app.v1.tar.gz"], "{what}: leftovers");
    }
}

#[test]
fn gzip_bomb_of_1_gib_zeros_is_stopped_by_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = zero_bomb(1 << 30);
    assert!(bomb.len() < 4 << 20, "bomb is {} bytes", bomb.len());
    let limits = Limits::default().with_max_uncompressed_bytes(8 << 20);
    let r = extract_bytes(tmp.path(), &bomb, &limits);
    assert!(
        matches!(r, Err(ExtractError::TooLarge { limit }) if limit == 8 << 20),
        "{r:?}"
    );
    assert_eq!(tree(tmp.path()), vec!["app.v1.tar.gz"]);
}

#[test]
fn bomb_with_a_lying_header_is_stopped_by_the_byte_counter() {
    // The header declares a small file, but the stream carries many MiB of zero blocks after the
    // archive's end: the decompressed-bytes counter stops it while draining.
    let tmp = tempfile::tempdir().unwrap();
    let mut raw = tar_bytes(&[file("install.sh", 0o755, INSTALL)]);
    raw.extend(vec![0u8; 16 << 20]);
    let limits = Limits::default().with_max_uncompressed_bytes(1 << 20);
    let r = extract_bytes(tmp.path(), &gzip(&raw), &limits);
    assert!(matches!(r, Err(ExtractError::TooLarge { .. })), "{r:?}");
}

#[test]
fn too_many_entries_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..50).map(|i| format!("f{i:03}")).collect();
    let entries: Vec<Raw<'_>> = names.iter().map(|n| file(n, 0o644, b"")).collect();
    let limits = Limits::default().with_max_entries(20);
    let r = extract_bytes(tmp.path(), &targz(&entries), &limits);
    assert!(
        matches!(r, Err(ExtractError::TooManyEntries { limit: 20 })),
        "{r:?}"
    );
    // The same archive passes with the default limit.
    let ok = extract_bytes(tmp.path(), &targz(&entries), &Limits::default()).unwrap();
    assert_eq!(ok.entries, 50);
}

#[test]
fn overlong_path_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = targz(&[file("a/b/c/install.sh", 0o755, INSTALL)]);
    let r = extract_bytes(tmp.path(), &bytes, &Limits::default().with_max_path_len(8));
    assert!(
        matches!(
            r,
            Err(ExtractError::Unsafe(UnsafeEntry::PathTooLong {
                max: 8,
                ..
            }))
        ),
        "{r:?}"
    );
}

#[test]
fn archives_made_by_system_tar_extract_including_long_names() {
    // Interop with GNU tar (pax and gnu formats, long names, `./` prefixes).
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let long = format!("{}/{}.txt", "d".repeat(90), "f".repeat(120));
    fs::create_dir_all(src.join(&long).parent().unwrap()).unwrap();
    fs::write(src.join(&long), b"long").unwrap();
    fs::write(src.join("install.sh"), INSTALL).unwrap();
    fs::set_permissions(src.join("install.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    for format in ["pax", "gnu"] {
        let tarball = tmp.path().join(format!("app.v{format}.tar.gz"));
        let status = std::process::Command::new("tar")
            .args(["--format", format, "-czf"])
            .arg(&tarball)
            .arg("-C")
            .arg(&src)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        let staging = tmp.path().join(format!("stage-{format}"));
        extract_tarball(&tarball, &staging, &Limits::default()).unwrap();
        assert_eq!(fs::read(staging.join(&long)).unwrap(), b"long", "{format}");
        assert_eq!(
            fs::metadata(staging.join("install.sh"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        let report = gwe_package::check_tarball(&tarball, &Limits::default());
        assert!(report.passed, "{format}: {}", report.render());
    }
}

#[test]
fn check_extracted_reads_only_the_staging_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let name = gwe_package::TarballName::parse("gmq.v10_0ca92e7.tar.gz").unwrap();
    let good = targz(&[
        file("install.sh", 0o755, INSTALL),
        file(
            "supervisor.conf",
            0o644,
            b"[program:gmq]\ncommand = /usr/bin/gmq\n",
        ),
    ]);
    let x = extract_reader(&good[..], &tmp.path().join("a"), &Limits::default()).unwrap();
    let r = gwe_package::check_extracted(&x, Some(&name));
    assert!(r.passed, "{}", r.render());
    assert_eq!(r.kind, Some(gwe_package::AppKind::LongRunning));
    assert_eq!(r.sha256.as_deref(), Some(x.sha256.as_str()));

    let bad = targz(&[
        file("install.sh", 0o644, b"echo\n"),
        file("supervisor.conf", 0o644, b"[x]\n"),
    ]);
    let x = extract_reader(&bad[..], &tmp.path().join("b"), &Limits::default()).unwrap();
    let r = gwe_package::check_extracted(&x, Some(&name));
    let text = r.render();
    for needle in [
        "not executable",
        "not a shebang",
        "no [supervisord] section",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }

    let lib = targz(&[file("setup.py", 0o644, b"")]);
    let x = extract_reader(&lib[..], &tmp.path().join("c"), &Limits::default()).unwrap();
    assert_eq!(
        gwe_package::check_extracted(&x, None).kind,
        Some(gwe_package::AppKind::PythonLibrary)
    );
    let empty = targz(&[file("readme", 0o644, b"")]);
    let x = extract_reader(&empty[..], &tmp.path().join("d"), &Limits::default()).unwrap();
    assert!(!gwe_package::check_extracted(&x, None).passed);
}

#[test]
fn mutated_and_truncated_archives_never_panic_or_leave_staging() {
    let good = targz(&[
        file("install.sh", 0o755, INSTALL),
        file("supervisor.conf", 0o644, CONF),
        symlink("link", "install.sh"),
        file("data/blob", 0o644, &[42u8; 3000]),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let staging = tmp.path().join("s");
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut variants: Vec<Vec<u8>> = (0..good.len())
        .step_by(17)
        .map(|n| good[..n].to_vec())
        .collect();
    for _ in 0..300 {
        let mut m = good.clone();
        for _ in 0..(next() % 3 + 1) {
            let i = (next() as usize) % m.len();
            m[i] ^= 1 << (next() % 8);
        }
        variants.push(m);
    }
    let (mut ok, mut refused) = (0, 0);
    for v in &variants {
        match extract_reader(&v[..], &staging, &Limits::default()) {
            Ok(_) => {
                ok += 1;
                fs::remove_dir_all(&staging).unwrap();
            }
            Err(_) => {
                refused += 1;
                assert!(!staging.exists());
            }
        }
        let report =
            gwe_package::check_tarball_reader(&v[..], "x", "app.v1.tar.gz", &Limits::default());
        assert_eq!(report.passed, report.checks.failures() == 0);
    }
    // gzip's CRC catches nearly every flip: most variants must be refused.
    assert!(refused > ok, "refused {refused}, accepted {ok}");
}
