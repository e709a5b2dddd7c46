//! Conformance of every Device API procedure over raw HTTP: exact status lines, headers and
//! bodies as the spec (Murano's and One Platform's pages) gives them.

mod common;

use common::TestHub;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_then_read_returns_latest_values_form_encoded() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let w = hub
        .post_form(
            "/onep:v1/stack/alias",
            &cik,
            "temp=21.5&msg=a+b%26c%3Dd%0A%7B%7D",
        )
        .await;
    assert_eq!(w.status_line, "HTTP/1.1 204 No Content");
    assert!(w.body.is_empty());

    let r = hub.read(&cik, "msg&temp&unknown").await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some(FORM));
    assert_eq!(r.text(), "msg=a+b%26c%3Dd%0A%7B%7D&temp=21.5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_accepts_form_type_without_charset_and_without_content_type() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let w = hub
        .request(
            "POST",
            "/onep:v1/stack/alias",
            &[
                ("X-Exosite-CIK", &cik),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            b"a=1",
        )
        .await;
    assert_eq!(w.status_line, "HTTP/1.1 204 No Content");
    let w = hub
        .request(
            "POST",
            "/onep:v1/stack/alias",
            &[("X-Exosite-CIK", &cik)],
            b"b=2",
        )
        .await;
    assert_eq!(w.status, 204);
    assert_eq!(hub.read(&cik, "a&b").await.text(), "a=1&b=2");
    // Another media type is refused and stores nothing.
    let w = hub
        .request(
            "POST",
            "/onep:v1/stack/alias",
            &[
                ("X-Exosite-CIK", &cik),
                ("Content-Type", "application/json"),
            ],
            b"c=3",
        )
        .await;
    assert_eq!(w.status, 415);
    assert_eq!(hub.read(&cik, "c").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_answers_204_for_unknown_or_empty_aliases() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = hub.read(&cik, "nothing&here").await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    assert!(r.body.is_empty());
    hub.post_form("/onep:v1/stack/alias", &cik, "empty=").await;
    assert_eq!(hub.read(&cik, "empty&nothing").await.status, 204);
    // An unknown alias next to one with data is not an error: it is left out.
    hub.post_form("/onep:v1/stack/alias", &cik, "full=x").await;
    let r = hub.read(&cik, "nothing&full").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "full=x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_write_read_writes_before_reading() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    hub.post_form("/onep:v1/stack/alias", &cik, "cfg=old").await;
    let r = hub
        .post_form("/onep:v1/stack/alias?cfg&status", &cik, "status=up&cfg=new")
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some(FORM));
    assert_eq!(r.text(), "cfg=new&status=up");
    let r = hub
        .post_form("/onep:v1/stack/alias?missing", &cik, "x=1")
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    assert_eq!(hub.read(&cik, "x").await.text(), "x=1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_aliases_of_one_write_share_the_server_timestamp() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    hub.post_form("/onep:v1/stack/alias", &cik, "a=1&b=2&c=3")
        .await;
    let mut ts = Vec::new();
    for alias in ["a", "b", "c"] {
        let r = hub
            .op(
                "GET",
                &format!("/api/v1/products/default/devices/sn-1/aliases/{alias}"),
                None,
            )
            .await;
        ts.push(r.json()["points"][0]["ts"].as_i64().expect("ts"));
    }
    assert!(ts.iter().all(|t| *t == ts[0]), "{ts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_invalid_cik_is_401_on_every_data_procedure() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let wrong = "A".repeat(40);
    for headers in [
        vec![],
        vec![("X-Exosite-CIK", wrong.as_str())],
        vec![("X-Exosite-CIK", "short")],
        vec![("X-Exosite-CIK", "")],
    ] {
        for (method, path) in [
            ("GET", "/onep:v1/stack/alias?a"),
            ("POST", "/onep:v1/stack/alias"),
            ("POST", "/onep:v1/stack/record"),
            ("POST", "/onep:v1/stack/alias/a"),
            ("GET", "/provision/download"),
            ("GET", "/provision/download?id=x&info=true"),
            ("GET", "/provision/download?id=x"),
        ] {
            let r = hub.request(method, path, &headers, b"a=1").await;
            assert_eq!(
                r.status_line, "HTTP/1.1 401 Unauthorized",
                "{method} {path} {headers:?}"
            );
        }
    }
    // The valid one still works and nothing was written by the refused calls.
    assert_eq!(hub.read(&cik, "a").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_stores_historical_points() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = hub
        .post_form(
            "/onep:v1/stack/record",
            &cik,
            "alias=t&1500000000=1&1500000010=2&alias=h&1500000005=x+y",
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    let r = hub
        .op(
            "GET",
            "/api/v1/products/default/devices/sn-1/aliases/t?limit=10",
            None,
        )
        .await;
    assert_eq!(
        r.json()["points"],
        serde_json::json!([{"ts":1500000010,"value":"2"},{"ts":1500000000,"value":"1"}])
    );
    assert_eq!(hub.read(&cik, "t&h").await.text(), "t=2&h=x+y");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_conflict_is_409_naming_pairs_and_stores_nothing() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = hub
        .post_form(
            "/onep:v1/stack/record",
            &cik,
            "alias=a1&100=1&100=2&alias=a2&300=x&alias=a3&500=p&500=q",
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 409 Conflict");
    assert_eq!(r.text(), "a1=100&a3=500");
    assert_eq!(hub.read(&cik, "a1&a2&a3").await.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_record_form_stores_and_conflicts() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = hub
        .post_form(
            "/onep:v1/stack/alias/gps",
            &cik,
            "1600000000=a&1600000001=b",
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    assert_eq!(hub.read(&cik, "gps").await.text(), "gps=b");
    let r = hub
        .post_form(
            "/onep:v1/stack/alias/gps",
            &cik,
            "1600000005=a&1600000005=b",
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.text(), "gps=1600000005");
    // Percent-encoded alias in the path.
    let r = hub
        .post_form("/onep:v1/stack/alias/my%20alias", &cik, "1600000000=z")
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(hub.read(&cik, "my+alias").await.text(), "my+alias=z");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_rejects_malformed_bodies_with_400() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    for body in [
        "100=1",
        "alias=a&notatime=1",
        "alias=&100=1",
        "alias=a&100=%ZZ",
        "alias=a&1.5=x",
    ] {
        let r = hub.post_form("/onep:v1/stack/record", &cik, body).await;
        assert_eq!(r.status_line, "HTTP/1.1 400 Bad Request", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_both_forms_and_errors() {
    let hub = TestHub::start().await;
    for sn in ["a1", "a2", "a3"] {
        let r = hub
            .op(
                "POST",
                "/api/v1/products/default/devices",
                Some(&format!("{{\"sn\":\"{sn}\"}}")),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let activate = |body: &'static str, host: &'static str| {
        let hub = &hub;
        async move {
            hub.raw(
                format!(
                    "POST /provision/activate HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
                     Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n\
                     Content-Length: {}\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
            .await
        }
    };
    // One Platform form.
    let r = activate("vendor=default&model=default&sn=a1", "127.0.0.1").await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let cik = r.text();
    assert_eq!(cik.len(), 40);
    assert!(cik.bytes().all(|b| b.is_ascii_alphanumeric()));
    // Murano form, product from the host name.
    let r = activate("id=a2", "default.m2.exosite.io").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text().len(), 40);
    // Neither: the default product.
    let r = activate("id=a3", "127.0.0.1:9").await;
    assert_eq!(r.status, 200);
    // Already activated.
    let r = activate("id=a1", "127.0.0.1").await;
    assert_eq!(r.status_line, "HTTP/1.1 409 Conflict");
    // Unknown identity; unknown product.
    let r = activate("id=nobody", "127.0.0.1").await;
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    let r = activate("vendor=nope&model=nope&sn=a1", "127.0.0.1").await;
    assert_eq!(r.status, 404);
    // Malformed: no serial, bad escape.
    assert_eq!(
        activate("vendor=default&model=default", "x").await.status,
        400
    );
    assert_eq!(activate("id=%G1", "x").await.status, 400);
    // The first token works for data calls.
    let w = hub.post_form("/onep:v1/stack/alias", &cik, "k=v").await;
    assert_eq!(w.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_from_host_name_and_other_products() {
    let hub = TestHub::start().await;
    let r = hub
        .op("POST", "/api/v1/products", Some(r#"{"product_id":"p2"}"#))
        .await;
    assert_eq!(r.status, 201);
    hub.op("POST", "/api/v1/products/p2/devices", Some(r#"{"sn":"x"}"#))
        .await;
    // Not in the default product.
    let r = hub
        .request("POST", "/provision/activate", &[], b"id=x")
        .await;
    assert_eq!(r.status, 404);
    // Host names the product (.com style too).
    let r = hub
        .raw(b"POST /provision/activate HTTP/1.1\r\nHost: p2.m2.exosite.com\r\nConnection: close\r\nContent-Length: 4\r\n\r\nid=x")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cik = r.text();
    // Content list with the wrong vendor/model is 403, info 400.
    let r = hub
        .get(
            "/provision/download?vendor=default&model=default",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 403 Forbidden");
    let r = hub
        .get(
            "/provision/download?vendor=default&model=default&id=a&info=true",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 400 Bad Request");
    let r = hub
        .get(
            "/provision/download?vendor=p2&model=p2",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_list_info_and_download() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    let r = hub
        .get("/provision/download", &[("X-Exosite-CIK", &cik)])
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    let auth = format!("Bearer {}", common::OP_TOKEN);
    for (id, data) in [("b.tar.gz", &b"hello world"[..]), ("a.txt", b"x")] {
        let r = hub
            .request(
                "PUT",
                &format!("/api/v1/products/default/content/{id}?meta=v1%2Cbeta"),
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/gzip"),
                ],
                data,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = hub
        .get(
            "/provision/download?vendor=default&model=default",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(r.text(), "a.txt\r\nb.tar.gz");

    let r = hub
        .get(
            "/provision/download?id=b.tar.gz&info=true",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = r.text();
    let parts: Vec<&str> = text.splitn(4, ',').collect();
    assert_eq!(parts[0], "application/gzip");
    assert_eq!(parts[1], "11");
    assert!(parts[2].parse::<i64>().expect("timestamp") > 1_600_000_000);
    assert_eq!(parts[3], "v1,beta");

    let r = hub
        .get(
            "/provision/download?id=b.tar.gz",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.header("content-type"), Some("application/gzip"));
    assert_eq!(r.body, b"hello world");

    let r = hub
        .get("/provision/download?id=missing", &[("X-Exosite-CIK", &cik)])
        .await;
    assert_eq!(r.status, 404);
    let r = hub
        .get(
            "/provision/download?id=missing&info=true",
            &[("X-Exosite-CIK", &cik)],
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamp_is_plain_unix_seconds_without_cik() {
    let hub = TestHub::start().await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let r = hub.get("/timestamp", &[]).await;
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let t: u64 = r.text().parse().expect("integer");
    assert!(t >= before && t <= before + 5, "{t} vs {before}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_aliases_drop_unknown_writes_without_error() {
    let hub = TestHub::start_with(|c| c.create_aliases = false).await;
    let cik = hub.device("sn-1").await;
    let r = hub
        .op(
            "PUT",
            "/api/v1/products/default/resources",
            Some("resources:\n  - alias: known\n    format: string\n"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let w = hub
        .post_form("/onep:v1/stack/alias", &cik, "known=1&unknown=2")
        .await;
    assert_eq!(w.status_line, "HTTP/1.1 204 No Content");
    assert_eq!(hub.read(&cik, "known&unknown").await.text(), "known=1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_survive_a_restart() {
    let hub = TestHub::start().await;
    let cik = hub.device("sn-1").await;
    hub.post_form("/onep:v1/stack/alias", &cik, "keep=me").await;
    let dir = hub.stop().await;
    let hub = TestHub::start_in(dir, |_| {}).await;
    assert_eq!(hub.read(&cik, "keep").await.text(), "keep=me");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_is_bounded_per_alias() {
    let hub = TestHub::start_with(|c| c.history_limit = 5).await;
    let cik = hub.device("sn-1").await;
    let body: String = (0..60)
        .map(|i| format!("{}={i}", 1_000_000 + i))
        .collect::<Vec<_>>()
        .join("&");
    let r = hub.post_form("/onep:v1/stack/alias/h", &cik, &body).await;
    assert_eq!(r.status, 204);
    let r = hub
        .op(
            "GET",
            "/api/v1/products/default/devices/sn-1/aliases/h?limit=1000",
            None,
        )
        .await;
    let points = r.json()["points"].as_array().expect("points").clone();
    // At most the bound plus the trimming slack, and the newest are kept.
    assert!(
        points.len() >= 5 && points.len() <= 5 + 16,
        "{}",
        points.len()
    );
    assert_eq!(points[0]["value"], "59");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_entry_point_runs_and_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = gwe_hub::HubConfig::new(dir.path().join("d"));
    config.default_product = "prod-x".into();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(gwe_hub::serve(listener, config, async {
        let _ = rx.await;
    }));
    let r = common::raw(
        addr,
        b"GET /timestamp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 200);
    // First start: database, blob directory and a 0600 operator token file.
    let data = dir.path().join("d");
    assert!(data.join("hub.db").is_file());
    assert!(data.join("content").is_dir());
    let meta = std::fs::metadata(data.join("operator-token")).expect("token file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let _ = tx.send(());
    tokio::time::timeout(std::time::Duration::from_secs(20), task)
        .await
        .expect("stops")
        .expect("task")
        .expect("serve result");
}
