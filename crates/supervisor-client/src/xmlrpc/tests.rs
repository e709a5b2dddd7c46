use super::*;

fn roundtrip(v: Value) {
    let mut out = String::new();
    encode_response(&mut out, &v);
    assert_eq!(parse_response(out.as_bytes()), Ok(Ok(v)), "doc: {out}");
}

#[test]
fn scalars_round_trip() {
    for v in [
        Value::Int(0),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Bool(true),
        Value::Bool(false),
        Value::String(String::new()),
        Value::String("a<b>&c\r\n\"'\t ünï 🦀".into()),
        Value::String("  leading and trailing  ".into()),
        Value::String("]]> <![CDATA[ x".into()),
        Value::Double(1.5),
        Value::Double(-0.1),
        Value::Double(1e300),
        Value::Double(f64::INFINITY),
        Value::Base64(vec![]),
        Value::Base64((0..=255).collect()),
        Value::Nil,
    ] {
        roundtrip(v);
    }
}

#[test]
fn nested_round_trip() {
    let v = Value::Array(vec![
        Value::Struct(vec![
            ("a&b".into(), Value::Array(vec![])),
            ("n".into(), Value::Struct(vec![])),
            ("x".into(), Value::Array(vec![Value::Int(1), "two".into()])),
        ]),
        Value::Nil,
    ]);
    roundtrip(v);
}

#[test]
fn call_round_trip() {
    let params = vec![Value::from("foo:bar"), Value::Bool(true), Value::Int(-1600)];
    let doc = encode_call("supervisor.startProcess", &params);
    let call = parse_call(doc.as_bytes()).unwrap();
    assert_eq!(call.method, "supervisor.startProcess");
    assert_eq!(call.params, params);
    let empty = parse_call(encode_call("system.listMethods", &[]).as_bytes()).unwrap();
    assert!(empty.params.is_empty());
}

#[test]
fn fault_round_trip() {
    let mut out = String::new();
    encode_fault(&mut out, 10, "BAD_NAME: <x> & y");
    assert_eq!(
        parse_response(out.as_bytes()),
        Ok(Err(Fault {
            code: 10,
            message: "BAD_NAME: <x> & y".into()
        }))
    );
}

#[test]
fn lenient_input_like_python() {
    let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- comment -->
<methodResponse><params><param>
  <value>
    <array>  <data>
      <value>untyped &amp; &#65;&#x42;</value>
      <value><i4> 42 </i4></value>
      <value><i8>-9000000000</i8></value>
      <value><ex:nil xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"/></value>
      <value><string><![CDATA[<raw> & ]]>tail</string></value>
      <value><dateTime.iso8601>20240101T00:00:00</dateTime.iso8601></value>
      <value><base64>
        AAEC
        /w==
      </base64></value>
      <value/>
      <value><string/></value>
      <value><struct/></value>
      <value><double> 2 </double></value>
      <value>line1&#13;&#10;line2&#x0D;</value>
    </data></array>
  </value>
</param></params></methodResponse>
<?pi trailing?>
"#;
    let v = parse_response(doc.as_bytes()).unwrap().unwrap();
    assert_eq!(
        v,
        Value::Array(vec![
            "untyped & AB".into(),
            Value::Int(42),
            Value::Int(-9_000_000_000),
            Value::Nil,
            "<raw> & tail".into(),
            "20240101T00:00:00".into(),
            Value::Base64(vec![0, 1, 2, 255]),
            "".into(),
            "".into(),
            Value::Struct(vec![]),
            Value::Double(2.0),
            "line1\r\nline2\r".into(),
        ])
    );
}

#[test]
fn raw_cr_is_normalised_as_xml_requires() {
    let doc =
        "<methodResponse><params><param><value>a\r\nb\rc</value></param></params></methodResponse>";
    assert_eq!(parse_response(doc.as_bytes()), Ok(Ok("a\nb\nc".into())));
}

#[test]
fn method_name_and_no_params() {
    let call = parse_call(b"<methodCall><methodName>supervisor.getState</methodName></methodCall>")
        .unwrap();
    assert_eq!(call.method, "supervisor.getState");
    assert!(call.params.is_empty());
    let call = parse_call(b"<methodCall><methodName>a</methodName><params/></methodCall>").unwrap();
    assert!(call.params.is_empty());
}

fn err_of(doc: &[u8]) -> XmlRpcError {
    match parse_call(doc) {
        Err(e) => e,
        Ok(c) => panic!("accepted {:?}: {c:?}", String::from_utf8_lossy(doc)),
    }
}

#[test]
fn rejects_doctype_and_entities() {
    let bomb =
        br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>
<methodCall><methodName>&lol2;</methodName></methodCall>"#;
    assert!(matches!(err_of(bomb), XmlRpcError::Doctype(_)));
    let undeclared = b"<methodCall><methodName>&lol;</methodName></methodCall>";
    assert!(matches!(err_of(undeclared), XmlRpcError::Syntax { .. }));
    let bad_ref = b"<methodCall><methodName>&#0;</methodName></methodCall>";
    assert!(matches!(err_of(bad_ref), XmlRpcError::Syntax { .. }));
    let surrogate = b"<methodCall><methodName>&#xD800;</methodName></methodCall>";
    assert!(matches!(err_of(surrogate), XmlRpcError::Syntax { .. }));
    let bare_amp = b"<methodCall><methodName>a & b</methodName></methodCall>";
    assert!(matches!(err_of(bare_amp), XmlRpcError::Syntax { .. }));
}

#[test]
fn rejects_deep_nesting_without_overflowing_the_stack() {
    let n = 100_000;
    let mut doc = String::from("<methodCall><methodName>m</methodName><params><param>");
    for _ in 0..n {
        doc.push_str("<value><array><data>");
    }
    assert!(matches!(err_of(doc.as_bytes()), XmlRpcError::TooDeep(_)));
    // Exactly at the limit is fine.
    let mut doc = String::from("<methodCall><methodName>m</methodName><params><param>");
    for _ in 0..MAX_DEPTH - 1 {
        doc.push_str("<value><array><data>");
    }
    doc.push_str("<value>x</value>");
    for _ in 0..MAX_DEPTH - 1 {
        doc.push_str("</data></array></value>");
    }
    doc.push_str("</param></params></methodCall>");
    assert!(parse_call(doc.as_bytes()).is_ok());
}

#[test]
fn rejects_truncated_documents() {
    let full = encode_call("supervisor.startProcess", &["x".into(), Value::Bool(true)]);
    for cut in 0..full.len() - 1 {
        // Every strict prefix is an error (never a panic, never a success).
        assert!(
            parse_call(&full.as_bytes()[..cut]).is_err(),
            "prefix {cut} accepted"
        );
    }
}

#[test]
fn rejects_non_utf8_and_garbage() {
    assert_eq!(
        err_of(b"<methodCall><methodName>\xff</methodName></methodCall>"),
        XmlRpcError::NotUtf8(24)
    );
    for doc in [
        &b""[..],
        b"   ",
        b"hello",
        b"<methodCall>",
        b"<methodCall></methodResponse>",
        b"<methodCall><methodName>m</methodName></methodCall><x/>",
        b"<methodCall><methodName>m</methodName></methodCall>junk",
        b"<methodCall><methodName>m</methodName><params><param><value><int>1x</int></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><int>99999999999999999999</int></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><double>x</double></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><blob>x</blob></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><int>1</int><int>2</int></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value>x<int>1</int></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><base64>A</base64></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><struct><member><value>1</value></member></struct></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params><param><value><array></array></value></param></params></methodCall>",
        b"<methodCall><methodName>m</methodName><params>text<param/></params></methodCall>",
        b"<methodCall a='1><methodName>m</methodName></methodCall>",
        b"<methodCall><methodName>m</methodName><!-- unterminated",
        b"<methodCall><methodName>m</methodName><![CDATA[ unterminated",
        b"<methodCall><methodName><!ENTITY x 'y'></methodName></methodCall>",
        b"<methodCall><methodName>m</methodName></methodCall",
        b"< methodCall/>",
    ] {
        let _ = err_of(doc);
    }
}

#[test]
fn response_arity_and_fault_shape() {
    let two = b"<methodResponse><params><param><value>a</value></param><param><value>b</value></param></params></methodResponse>";
    assert_eq!(parse_response(two), Err(XmlRpcError::ResponseArity(2)));
    let bad_fault = b"<methodResponse><fault><value><struct><member><name>faultCode</name><value>x</value></member></struct></value></fault></methodResponse>";
    assert!(matches!(
        parse_response(bad_fault),
        Err(XmlRpcError::BadFault(_))
    ));
    assert!(parse_response(b"<methodCall><methodName>m</methodName></methodCall>").is_err());
}

#[test]
fn huge_string_value() {
    let big = "x&<".repeat(2_000_000);
    roundtrip(Value::String(big));
}

#[test]
fn exact_python_layout() {
    // What `xmlrpc.client.dumps(("3.0",), methodresponse=True)` prints.
    let mut out = String::new();
    encode_response(&mut out, &"3.0".into());
    assert_eq!(
        out,
        "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><string>3.0</string></value>\n</param>\n</params>\n</methodResponse>\n"
    );
}
