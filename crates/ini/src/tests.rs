//! Unit tests of the parser's CPython rules; the generated corpus compared with CPython itself
//! lives in tests/python_compat.rs.

use std::path::Path;

use super::*;

fn parse(text: &str) -> Ini {
    match Ini::parse_str(text, Path::new("t.conf")) {
        Ok(ini) => ini,
        Err(e) => panic!("parse failed: {e}"),
    }
}

fn val<'a>(ini: &'a Ini, s: &str, k: &str) -> &'a str {
    &ini.get(s, k).unwrap_or_else(|| panic!("no {s}.{k}")).value
}

#[test]
fn options_with_both_delimiters_and_lowercased_keys() {
    let ini = parse("[a]\nKey = v1\nother: v2\nx=y:z\ny:z=w\n");
    assert_eq!(val(&ini, "a", "key"), "v1");
    assert_eq!(val(&ini, "a", "other"), "v2");
    assert_eq!(val(&ini, "a", "x"), "y:z");
    assert_eq!(val(&ini, "a", "y"), "z=w");
    assert_eq!(ini.get("a", "x").map(|e| e.location.line), Some(4));
}

#[test]
fn inline_comments_need_whitespace_before() {
    let ini = parse("[a]\nk = v ; c\nu = http://x/#frag\nw = a;b\nz = x#y #z ;w\n");
    assert_eq!(val(&ini, "a", "k"), "v");
    assert_eq!(val(&ini, "a", "u"), "http://x/#frag");
    assert_eq!(val(&ini, "a", "w"), "a;b");
    // CPython's round-based search: the first `;` (valid) wins over the second `#`.
    assert_eq!(val(&ini, "a", "z"), "x#y #z");
}

#[test]
fn multiline_values_blank_lines_and_comments() {
    let ini = parse("[a]\nk = one\n  two\n\n  three\n  # not a piece\n\n\nnext = 1\n");
    assert_eq!(val(&ini, "a", "k"), "one\ntwo\n\nthree");
    assert_eq!(val(&ini, "a", "next"), "1");
}

#[test]
fn duplicates_merge_and_last_wins_in_first_position() {
    let ini = parse("[a]\nx = 1\ny = 2\n[b]\n[a]\nx = 3\n");
    let names: Vec<_> = ini.section_names().collect();
    assert_eq!(names, ["a", "b"]);
    let keys: Vec<_> = ini
        .section("a")
        .unwrap()
        .entries()
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str(), e.location.line))
        .collect();
    assert_eq!(keys, [("x", "3", 6), ("y", "2", 3)]);
}

#[test]
fn defaults_are_visible_and_ordered_like_cpython() {
    let ini = parse("[DEFAULT]\nd = 1\ne = 2\n[s]\nf = 3\ne = 4\n");
    let items: Vec<_> = ini
        .items("s")
        .unwrap()
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(items, [("d", "1"), ("e", "4"), ("f", "3")]);
    assert!(!ini.has_section("DEFAULT"));
    assert_eq!(ini.items("missing"), None);
}

#[test]
fn header_rules() {
    let ini = parse("[ spaced ] trailing\n[a]b] ;c\n");
    let names: Vec<_> = ini.section_names().collect();
    assert_eq!(names, [" spaced ", "a]b"]);
}

#[test]
fn errors_carry_file_and_line() {
    let e = Ini::parse_str("# c\n\nk = v\n", Path::new("f.conf")).unwrap_err();
    assert!(
        matches!(e, IniError::MissingSectionHeader { line: 3, .. }),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("f.conf:3: "), "{e}");

    let e = Ini::parse_str("[a]\nok = 1\nnovalue\n= x\n", Path::new("f.conf")).unwrap_err();
    match &e {
        IniError::Parse { lines, .. } => {
            assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), [3, 4])
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().starts_with("f.conf:3: "), "{e}");
    assert_eq!(e.location().map(|(_, l)| l), Some(3));
}

#[test]
fn crlf_and_cr_line_endings_count_like_python() {
    let ini = parse("[a]\r\nk = 1\r\rj = 2\rm = x\r\n  y");
    assert_eq!(ini.get("a", "j").unwrap().location.line, 4);
    assert_eq!(val(&ini, "a", "m"), "x\ny");
}

#[test]
fn non_utf8_and_oversized_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bin.conf");
    std::fs::write(&p, b"[a]\nk = 1\nv = \xff\xfe\n").unwrap();
    let e = Ini::load(&p).unwrap_err();
    assert!(matches!(e, IniError::NotUtf8 { line: 3, .. }), "{e:?}");

    let big = dir.path().join("big.conf");
    let mut text = String::from("[a]\n");
    while text.len() as u64 <= MAX_FILE_SIZE {
        text.push_str("key = some value that fills the file up\n");
    }
    std::fs::write(&big, &text).unwrap();
    let e = Ini::load(&big).unwrap_err();
    assert!(matches!(e, IniError::TooLarge { .. }), "{e:?}");

    let e = Ini::load(&dir.path().join("missing.conf")).unwrap_err();
    assert!(matches!(e, IniError::Io { .. }), "{e:?}");
    let e = Ini::load(dir.path()).unwrap_err();
    assert!(matches!(e, IniError::Io { .. }), "{e:?}");

    // A FIFO would block a reader forever: refused without opening it.
    let fifo = dir.path().join("fifo.conf");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) is needed by this test");
    assert!(status.success());
    let e = Ini::load(&fifo).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let alphabet: Vec<char> = "[]=:;# \t\n\r\u{1c}\u{a0}aZ%é\u{2028}".chars().collect();
    for _ in 0..2000 {
        let mut s = String::new();
        for _ in 0..(seed % 80) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let _ = Ini::parse_str(&s, Path::new("g"));
    }
}

#[test]
fn writer_round_trips_and_refuses_what_it_cannot_write() {
    let mut ini =
        parse("[DEFAULT]\nd = x\n[a]\nk = one\n  two\n\n  three\nempty =\n[b]\nz = %(here)s/y\n");
    ini.set("c", "New", "v");
    let text = ini.write_string().unwrap();
    assert_eq!(
        text,
        "[DEFAULT]\nd = x\n\n[a]\nk = one\n\ttwo\n\t\n\tthree\nempty =\n\n[b]\nz = %(here)s/y\n\n[c]\nnew = v\n\n"
    );
    let back = parse(&text);
    let kv = |i: &Ini, s: &str| -> Vec<(String, String)> {
        i.items(s)
            .unwrap()
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    };
    assert_eq!(kv(&back, "a"), kv(&ini, "a"));
    for bad in [" lead", "a ;comment", "x\n#c", "trail\n"] {
        let mut i = Ini::new();
        i.set("s", "k", bad);
        assert!(
            matches!(i.write_string(), Err(IniError::Unrepresentable { .. })),
            "{bad:?}"
        );
    }
    let mut i = Ini::new();
    i.set("s", "a=b", "v");
    assert!(i.write_string().is_err());
    let mut i = Ini::new();
    i.set("s\nt", "a", "v");
    assert!(i.write_string().is_err());
}
