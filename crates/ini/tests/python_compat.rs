//! Compares gwe-ini with CPython's `RawConfigParser(inline_comment_prefixes=(';', '#'),
//! strict=False)` (what supervisord reads configs with) on a generated corpus plus hand-written
//! tricky cases: same sections, same items in the same order, or both refusing (same error
//! class and line). python3 is required: CI installs it, and a missing one fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gwe_ini::{Ini, IniError};
use serde_json::{json, Value};

/// Reads every file named on stdin (one per line) and prints one JSON result per line.
const PY_DUMP: &str = r#"
import configparser, json, sys
for path in sys.stdin.read().split('\n'):
    if not path:
        continue
    p = configparser.RawConfigParser(inline_comment_prefixes=(';', '#'), strict=False)
    try:
        p.read(path, encoding='utf-8')
        out = {'ok': {
            'defaults': [[k, v] for k, v in p.defaults().items()],
            'sections': [[s, [[k, v] for k, v in p.items(s)]] for s in p.sections()],
        }}
    except configparser.MissingSectionHeaderError as e:
        out = {'err': 'MissingSectionHeaderError', 'line': e.lineno}
    except configparser.ParsingError as e:
        out = {'err': 'ParsingError', 'line': e.errors[0][0]}
    except UnicodeDecodeError as e:
        out = {'err': 'UnicodeDecodeError', 'line': None}
    print(json.dumps(out))
"#;

fn ours(path: &Path) -> Value {
    match Ini::load(path) {
        Ok(ini) => {
            let defaults: Vec<Value> = ini
                .defaults()
                .entries()
                .iter()
                .map(|e| json!([e.key, e.value]))
                .collect();
            let sections: Vec<Value> = ini
                .sections()
                .map(|s| {
                    let items: Vec<Value> = ini
                        .items(s.name())
                        .unwrap_or_default()
                        .iter()
                        .map(|e| json!([e.key, e.value]))
                        .collect();
                    json!([s.name(), items])
                })
                .collect();
            json!({"ok": {"defaults": defaults, "sections": sections}})
        }
        Err(IniError::MissingSectionHeader { line, .. }) => {
            json!({"err": "MissingSectionHeaderError", "line": line})
        }
        Err(IniError::Parse { lines, .. }) => json!({"err": "ParsingError", "line": lines[0].line}),
        Err(IniError::NotUtf8 { .. }) => json!({"err": "UnicodeDecodeError", "line": null}),
        Err(other) => json!({"err": format!("unexpected: {other}")}),
    }
}

/// Runs CPython over the files; one result per file.
fn python(paths: &[PathBuf]) -> Vec<Value> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PY_DUMP)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is required for the CPython compatibility test (CI installs it): {e}")
        });
    let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin
            .write_all(list.as_bytes())
            .expect("write file list to python");
    });
    let out = child.wait_with_output().expect("python3 output");
    writer.join().expect("writer thread");
    assert!(out.status.success(), "python3 failed: {:?}", out.status);
    let text = String::from_utf8(out.stdout).expect("python output is UTF-8");
    let results: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("python JSON line"))
        .collect();
    assert_eq!(results.len(), paths.len(), "one python result per file");
    results
}

/// Deterministic xorshift64*, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const SECTIONS: &[&str] = &[
    "supervisord",
    "program:app",
    "program:web",
    "group:g",
    "DEFAULT",
    "include",
    "unix_http_server",
    " spaced ",
    "a]b",
    "Ünïcode",
    "program:x;y",
    "program:%(h)s",
];
const KEYS: &[&str] = &[
    "command",
    "Command",
    "priority",
    "autostart",
    "environment",
    "x",
    "KEY",
    "ΣΑΣ",
    "naïve",
    "stdout_logfile",
    "with space",
    "a#b",
    "a;b",
    "%(here)s",
    "k\t",
];
const WORDS: &[&str] = &[
    "/usr/bin/python3",
    "-m",
    "http.server",
    "%(program_name)s",
    "%%",
    "%(ENV_HOME)s",
    "100%",
    "true",
    "é",
    "日本語",
    "\"quoted ; not\"",
    "a=b",
    "x:y",
    "url#frag",
    "v;w",
    "\u{a0}",
    "\u{1c}",
    "[notheader]",
    "\u{2028}",
    "tab\there",
];
const COMMENTS: &[&str] = &["; a comment", "# hash comment", ";", "#", ";;x", "#=:"];
const SPACES: &[&str] = &["", " ", "  ", "\t", " \t", "\u{a0}", "\u{1f}", "\u{3000}"];
const EOLS: &[&str] = &["\n", "\n", "\n", "\r\n", "\r"];

fn gen_value(r: &mut Rng) -> String {
    let mut v = String::new();
    for i in 0..r.below(5) {
        if i > 0 {
            v.push_str(r.pick(&[" ", "", "  ", "\t"]));
        }
        v.push_str(r.pick(WORDS));
    }
    if r.chance(25) {
        v.push_str(r.pick(&[" ", "", "\t"]));
        v.push_str(r.pick(COMMENTS));
    }
    v
}

fn gen_config(r: &mut Rng) -> String {
    let mut s = String::new();
    let eol = r.pick(EOLS);
    if r.chance(10) {
        // something before the first header: a comment, blank line, or an error
        s.push_str(r.pick(&["# lead\n", "\n", "  \n", "k = v\n", "  ; c\n"]));
    }
    for _ in 0..1 + r.below(5) {
        s.push_str(r.pick(SPACES));
        s.push('[');
        s.push_str(r.pick(SECTIONS));
        s.push(']');
        if r.chance(20) {
            s.push_str(r.pick(&[" ; c", " # c", "trailing", ";c"]));
        }
        s.push_str(eol);
        for _ in 0..r.below(7) {
            match r.below(20) {
                0 => s.push_str(r.pick(COMMENTS)),
                1 => s.push_str(r.pick(SPACES)),
                2 => s.push_str(r.pick(&["novalue", "= empty key", "  : x"])),
                3 => {
                    s.push_str(r.pick(SPACES));
                    s.push_str(r.pick(COMMENTS));
                }
                _ => {
                    s.push_str(r.pick(SPACES));
                    s.push_str(r.pick(KEYS));
                    s.push_str(r.pick(&["", " ", "\t"]));
                    s.push_str(r.pick(&["=", ":", " = ", ": ", "=:", ":="]));
                    s.push_str(r.pick(SPACES));
                    s.push_str(&gen_value(r));
                    // continuation lines, blank lines and comments inside the value
                    for _ in 0..(if r.chance(30) { 1 + r.below(4) } else { 0 }) {
                        s.push_str(eol);
                        match r.below(6) {
                            0 => {}
                            1 => s.push_str(r.pick(SPACES)),
                            2 => {
                                s.push_str("  ");
                                s.push_str(r.pick(COMMENTS));
                            }
                            _ => {
                                s.push_str(r.pick(&["  ", "\t", "    ", " ", "\u{a0}"]));
                                s.push_str(&gen_value(r));
                            }
                        }
                    }
                }
            }
            s.push_str(eol);
        }
    }
    if r.chance(50) {
        s.push_str(r.pick(&["", "\n\n", "  \n", "last = line without eol"]));
    }
    s
}

/// Hand-written cases for the rules most likely to differ.
const TRICKY: &[&str] = &[
    "[a]\nk = x#y #z ;w\n",
    "[a]\nk = a ;b #c\n",
    "[a]\nk = #start\n",
    "[a]\nk=;x\n",
    "[a]\n;k = 1\n  # k = 2\nk = 3\n",
    "[a]\nk = v\n\n\n  cont after blanks\n",
    "[a]\nk = v\n  \n  # comment inside\n  more\n\n\n",
    "[a]\n  k = indented\n  j = same indent\n    deeper\n",
    "[a]\n\tk = tab\n        spaces\n",
    "[a]\nk = 1\n[b]\n  cont = x\n    y\n",
    "[a]\n[]\n",
    "[a]\n[] = v\n",
    "[]\n",
    "[[x]]\n",
    "[a] ; c\nk=v\n",
    "[a]trailing]\nk=v\n",
    "[a]\nk\n",
    "[a]\n= v\n",
    "[a]\n  = v\n",
    "[a]\nK = 1\nk = 2\n",
    "[a]\nk = 1\n[a]\nk = 2\nj = 3\n",
    "[DEFAULT]\nd = 1\n[a]\nd = 2\n[DEFAULT]\ne = 3\n",
    "[DEFAULT]\n[a]\n",
    "[default]\nk = v\n",
    "k = v\n[a]\n",
    "  \n# c\n; d\n[a]\n",
    "\u{feff}[a]\nk = v\n",
    "[a]\nk = 100%\nj = %(here)s/%%\n",
    "[a]\r\nk = v\r\n  w\r\n",
    "[a]\rk = v\r  w\r",
    "[a]\nk = v\u{2028}w\n",
    "[a]\nk = v\u{0b}w\u{0c}\n",
    "[a]\nk = v \u{1c}; c\n",
    "[a]\nk = v\u{a0};c\n",
    "[a]\nk = é;c #d\n",
    "[a]\nk:=v\nj=:v\n",
    "[a]\nk : v = w\n",
    "",
    "\n\n",
    "[a]",
    "[a]\nk =",
    "[a]\nk = v\n v2\n\tv3\n",
    "[a]\nx = 1\n  ;\n  2\n",
    "[a]\nx = 1\n;\n 2\n",
    "[program:x]\ncommand = /bin/sh -c \"echo a; echo b\"\n",
    "[program:x]\ncommand = /bin/sh -c 'echo a ; echo b'\n",
    "[a]\nΣΑΣ = v\nİ = w\n",
];

#[test]
fn matches_cpython_configparser_on_generated_and_tricky_corpus() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for (i, t) in TRICKY.iter().enumerate() {
        files.push((
            dir.path().join(format!("tricky-{i}.conf")),
            t.as_bytes().to_vec(),
        ));
    }
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for i in 0..800 {
        files.push((
            dir.path().join(format!("gen-{i}.conf")),
            gen_config(&mut rng).into_bytes(),
        ));
    }
    // Non-UTF-8 content must fail on both sides.
    files.push((
        dir.path().join("latin1.conf"),
        b"[a]\nk = caf\xe9\n".to_vec(),
    ));
    for (p, bytes) in &files {
        std::fs::write(p, bytes).expect("write corpus file");
    }
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let theirs = python(&paths);
    let mut mismatches = Vec::new();
    let (mut ok, mut failed) = (0, 0);
    for ((path, bytes), py) in files.iter().zip(&theirs) {
        let us = ours(path);
        if us != *py {
            mismatches.push(format!(
                "{}\n  input: {:?}\n  python: {py}\n  ours:   {us}",
                path.display(),
                String::from_utf8_lossy(bytes)
            ));
        }
        if py.get("ok").is_some() {
            ok += 1;
        } else {
            failed += 1;
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The corpus must exercise both outcomes substantially, or it proves little.
    assert!(
        ok > 200 && failed > 50,
        "corpus balance: {ok} parsed, {failed} refused"
    );
}

#[test]
fn written_ini_reads_back_identically_in_cpython() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(0x0dd_ba11_5eed_0001);
    let mut originals = Vec::new();
    let mut written = Vec::new();
    let mut refused = 0;
    for i in 0..400 {
        let text = gen_config(&mut rng);
        let Ok(ini) = Ini::parse_str(&text, Path::new("gen")) else {
            continue;
        };
        match ini.write_string() {
            Ok(out) => {
                let o = dir.path().join(format!("orig-{i}.conf"));
                let w = dir.path().join(format!("written-{i}.conf"));
                std::fs::write(&o, &text).expect("write original");
                std::fs::write(&w, &out).expect("write output");
                // our own reader agrees with itself
                let back = Ini::parse_str(&out, Path::new("w")).expect("written text parses");
                assert_eq!(ours_from(&back), ours_from(&ini), "{text:?}");
                originals.push(o);
                written.push(w);
            }
            Err(IniError::Unrepresentable { .. }) => refused += 1,
            Err(other) => panic!("unexpected writer error {other}"),
        }
    }
    let a = python(&originals);
    let b = python(&written);
    for ((o, x), y) in originals.iter().zip(&a).zip(&b) {
        assert_eq!(
            x,
            y,
            "CPython reads our output of {} differently",
            o.display()
        );
    }
    assert!(
        originals.len() > 100,
        "only {} configs were written ({refused} refused)",
        originals.len()
    );
}

fn ours_from(ini: &Ini) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = vec![(
        "DEFAULT".to_owned(),
        ini.defaults()
            .entries()
            .iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect(),
    )];
    for s in ini.sections() {
        out.push((
            s.name().to_owned(),
            s.entries()
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect(),
        ));
    }
    out
}
