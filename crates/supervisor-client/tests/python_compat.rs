//! The codec against the reference implementation: Python's `xmlrpc.client`
//! (what supervisord and supervisorctl use). Needs `python3` on PATH.

use gwe_supervisor_client::xmlrpc::{
    encode_call, encode_fault, encode_response, parse_call, parse_response, Fault, Value,
};
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs a Python snippet with `stdin` as its standard input; returns stdout.
fn python(script: &str, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 must be installed for these tests");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(stdin)
        .expect("write to python");
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A Python expression and the `Value` it must decode to.
fn cases() -> Vec<(&'static str, Value)> {
    vec![
        ("'3.0'", "3.0".into()),
        ("''", "".into()),
        ("'a<b>&c \"q\" \\'s\\' \\t tab'", "a<b>&c \"q\" 's' \t tab".into()),
        ("'ünïcødé 🦀 中文'", "ünïcødé 🦀 中文".into()),
        ("'line1\\nline2\\r\\nline3'", "line1\nline2\r\nline3".into()),
        ("2**31 - 1", Value::Int(2_147_483_647)),
        ("-2**31", Value::Int(-2_147_483_648)),
        ("True", Value::Bool(true)),
        ("False", Value::Bool(false)),
        ("1.5", Value::Double(1.5)),
        ("-1e300", Value::Double(-1e300)),
        ("0.1", Value::Double(0.1)),
        ("None", Value::Nil),
        ("xmlrpc.client.Binary(bytes(range(256)) * 3)", Value::Base64((0..=255).cycle().take(768).collect())),
        ("[]", Value::Array(vec![])),
        ("{}", Value::Struct(vec![])),
        (
            "[{'name': 'cat', 'group': 'cats', 'pid': 12, 'ok': True, 'sub': [1, ['x', {'k&': 'v<'}]]}]",
            Value::Array(vec![Value::Struct(vec![
                ("name".into(), "cat".into()),
                ("group".into(), "cats".into()),
                ("pid".into(), Value::Int(12)),
                ("ok".into(), Value::Bool(true)),
                (
                    "sub".into(),
                    Value::Array(vec![
                        Value::Int(1),
                        Value::Array(vec![
                            "x".into(),
                            Value::Struct(vec![("k&".into(), "v<".into())]),
                        ]),
                    ]),
                ),
            ])]),
        ),
    ]
}

#[test]
fn python_responses_decode_and_ours_are_byte_identical() {
    for (expr, expected) in cases() {
        let script = format!(
            "import sys, xmlrpc.client\nsys.stdout.write(xmlrpc.client.dumps(({expr},), methodresponse=True, allow_none=True))"
        );
        let py = python(&script, b"");
        // A raw "\r" that Python writes is normalised to "\n" by any XML
        // reader (expat too); we write it as "&#13;" so it survives.
        let decoded_expected = match &expected {
            Value::String(s) => Value::String(s.replace("\r\n", "\n")),
            other => other.clone(),
        };
        assert_eq!(
            parse_response(&py),
            Ok(Ok(decoded_expected)),
            "decoding Python's {expr}"
        );
        let mut ours = String::new();
        encode_response(&mut ours, &expected);
        // Floats are written by repr in Python and by Rust's shortest form:
        // the layout matters, the spelling of exponents does not.
        if !matches!(expected, Value::Double(_)) && !expr.contains("\\r") {
            assert_eq!(ours, String::from_utf8_lossy(&py), "encoding of {expr}");
        }
    }
}

#[test]
fn python_decodes_our_responses_and_calls() {
    for (expr, v) in cases() {
        let mut ours = String::new();
        encode_response(&mut ours, &v);
        let script = format!(
            "import sys, xmlrpc.client\n(got,), m = xmlrpc.client.loads(sys.stdin.buffer.read(), use_builtin_types=False)\nexp = {expr}\nok = (got.data == exp.data) if isinstance(exp, xmlrpc.client.Binary) else (got == exp and type(got) == type(exp))\nprint('OK' if ok else 'MISMATCH %r != %r' % (got, exp))"
        );
        assert_eq!(
            String::from_utf8_lossy(&python(&script, ours.as_bytes())).trim(),
            "OK",
            "Python reading our {expr}: {ours}"
        );
        let call = encode_call("supervisor.someMethod", &[v.clone(), "second".into()]);
        let script = format!(
            "import sys, xmlrpc.client\nparams, m = xmlrpc.client.loads(sys.stdin.buffer.read())\nexp = {expr}\nif isinstance(exp, xmlrpc.client.Binary): exp = exp.data\nprint('OK' if (m == 'supervisor.someMethod' and params == (exp, 'second')) else 'MISMATCH %r %r' % (m, params))"
        );
        assert_eq!(
            String::from_utf8_lossy(&python(&script, call.as_bytes())).trim(),
            "OK",
            "Python reading our call with {expr}"
        );
    }
}

#[test]
fn python_calls_decode() {
    let py = python(
        "import sys, xmlrpc.client\nsys.stdout.write(xmlrpc.client.dumps(('foo:bar', True, -1600, {'a': [1, 2]}), 'supervisor.startProcess'))",
        b"",
    );
    let call = parse_call(&py).unwrap();
    assert_eq!(call.method, "supervisor.startProcess");
    assert_eq!(
        call.params,
        vec![
            "foo:bar".into(),
            Value::Bool(true),
            Value::Int(-1600),
            Value::Struct(vec![(
                "a".into(),
                Value::Array(vec![Value::Int(1), Value::Int(2)])
            )]),
        ]
    );
    // And our encoding of the same call is byte-identical to Python's.
    assert_eq!(
        encode_call("supervisor.startProcess", &call.params),
        String::from_utf8_lossy(&py)
    );
}

#[test]
fn faults_both_ways() {
    let py = python(
        "import sys, xmlrpc.client\nsys.stdout.write(xmlrpc.client.dumps(xmlrpc.client.Fault(10, 'BAD_NAME: a<b>&c'), methodresponse=True))",
        b"",
    );
    assert_eq!(
        parse_response(&py),
        Ok(Err(Fault {
            code: 10,
            message: "BAD_NAME: a<b>&c".into()
        }))
    );
    let mut ours = String::new();
    encode_fault(&mut ours, 10, "BAD_NAME: a<b>&c");
    assert_eq!(ours, String::from_utf8_lossy(&py));
    let script = "import sys, xmlrpc.client\ntry:\n    xmlrpc.client.loads(sys.stdin.buffer.read())\nexcept xmlrpc.client.Fault as f:\n    print(f.faultCode, f.faultString)";
    assert_eq!(
        String::from_utf8_lossy(&python(script, ours.as_bytes())).trim(),
        "10 BAD_NAME: a<b>&c"
    );
}

#[test]
fn big_ints_beyond_32_bits_reach_python_intact() {
    let mut ours = String::new();
    encode_response(
        &mut ours,
        &Value::Array(vec![Value::Int(i64::MAX), Value::Int(i64::MIN)]),
    );
    let out = python(
        "import sys, xmlrpc.client\n(v,), _ = xmlrpc.client.loads(sys.stdin.buffer.read())\nprint(v == [2**63-1, -2**63])",
        ours.as_bytes(),
    );
    assert_eq!(String::from_utf8_lossy(&out).trim(), "True");
}
