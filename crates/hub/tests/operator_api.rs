//! The operator JSON API: authentication, products, identities, specs, values, content.

mod common;

use common::{TestHub, OP_TOKEN};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_token_is_required() {
    let hub = TestHub::start().await;
    let r = hub.get("/api/v1/products", &[]).await;
    assert_eq!(r.status_line, "HTTP/1.1 401 Unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = hub
        .get("/api/v1/products", &[("Authorization", "Bearer wrong")])
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 403 Forbidden");
    let r = hub
        .get("/api/v1/products", &[("Authorization", OP_TOKEN)])
        .await;
    assert_eq!(r.status, 401);
    // A device CIK is not an operator token.
    let cik = hub.device("d").await;
    let r = hub
        .get(
            "/api/v1/products",
            &[("Authorization", &format!("Bearer {cik}"))],
        )
        .await;
    assert_eq!(r.status, 403);
    let r = hub
        .request(
            "POST",
            "/api/v1/products",
            &[("Content-Type", "application/json")],
            br#"{"product_id":"x"}"#,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        hub.op("GET", "/api/v1/products", None)
            .await
            .json()
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_create_list_and_conflicts() {
    let hub = TestHub::start().await;
    let r = hub
        .op(
            "POST",
            "/api/v1/products",
            Some(r#"{"product_id":"abc123"}"#),
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 201 Created");
    assert_eq!(r.json()["product_id"], "abc123");
    let r = hub
        .op(
            "POST",
            "/api/v1/products",
            Some(r#"{"product_id":"abc123"}"#),
        )
        .await;
    assert_eq!(r.status, 409);
    for bad in [
        r#"{"product_id":""}"#,
        r#"{"product_id":"a.b"}"#,
        r#"{"nope":1}"#,
        "not json",
    ] {
        let r = hub.op("POST", "/api/v1/products", Some(bad)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
    let r = hub.op("GET", "/api/v1/products", None).await;
    let ids: Vec<String> = r
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["product_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(ids, ["abc123", "default"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_add_list_enable_and_last_seen() {
    let hub = TestHub::start().await;
    let r = hub
        .op(
            "POST",
            "/api/v1/products/nope/devices",
            Some(r#"{"sn":"x"}"#),
        )
        .await;
    assert_eq!(r.status, 404);
    let cik = hub.device("gw-1").await;
    let r = hub
        .op(
            "POST",
            "/api/v1/products/default/devices",
            Some(r#"{"sn":"gw-1"}"#),
        )
        .await;
    assert_eq!(r.status, 409);
    hub.op(
        "POST",
        "/api/v1/products/default/devices",
        Some(r#"{"sn":"gw-2"}"#),
    )
    .await;
    hub.post_form("/onep:v1/stack/alias", &cik, "a=1").await;
    let r = hub
        .op("GET", "/api/v1/products/default/devices", None)
        .await;
    let list = r.json();
    assert_eq!(list[0]["sn"], "gw-1");
    assert_eq!(list[0]["activated"], true);
    assert_eq!(list[0]["enabled"], false);
    assert!(list[0]["last_seen"].as_i64().is_some(), "{list}");
    assert_eq!(list[1]["sn"], "gw-2");
    assert_eq!(list[1]["enabled"], true);
    assert_eq!(list[1]["last_seen"], serde_json::Value::Null);

    // Re-enabling revokes the token and allows a new activation.
    let r = hub
        .op("POST", "/api/v1/products/default/devices/gw-1/enable", None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["enabled"], true);
    assert_eq!(hub.read(&cik, "a").await.status, 401);
    let r = hub
        .request("POST", "/provision/activate", &[], b"id=gw-1")
        .await;
    assert_eq!(r.status, 200);
    let new_cik = r.text();
    assert_ne!(new_cik, cik);
    assert_eq!(hub.read(&new_cik, "a").await.text(), "a=1");
    let r = hub
        .op("POST", "/api/v1/products/default/devices/none/enable", None)
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_apply_defines_resources_for_existing_and_new_devices() {
    let hub = TestHub::start().await;
    hub.device("old").await;
    let spec = "resources:\n  - alias: engine_fetch\n    format: string\n  - alias: temp\n    format: number\n";
    let r = hub
        .op("PUT", "/api/v1/products/default/resources", Some(spec))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"applied": 2}));
    hub.device("new").await;
    for sn in ["old", "new"] {
        let r = hub
            .op(
                "GET",
                &format!("/api/v1/products/default/devices/{sn}/aliases"),
                None,
            )
            .await;
        assert_eq!(
            r.json(),
            json!([{"alias":"engine_fetch","format":"string","latest":null},
                   {"alias":"temp","format":"number","latest":null}])
        );
    }
    for bad in [
        "resources: 5",
        "resources:\n  - format: string\n",
        "resources:\n  - alias: \"\"\n",
        "[unclosed",
    ] {
        let r = hub
            .op("PUT", "/api/v1/products/default/resources", Some(bad))
            .await;
        assert_eq!(r.status, 400, "{bad}");
    }
    let r = hub
        .op("PUT", "/api/v1/products/nope/resources", Some(spec))
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_and_read_values_with_history() {
    let hub = TestHub::start().await;
    let cik = hub.device("gw").await;
    hub.post_form("/onep:v1/stack/record", &cik, "alias=h&100=a&200=b&300=c")
        .await;
    let r = hub
        .op(
            "POST",
            "/api/v1/products/default/devices/gw/aliases/cmd",
            Some(r#"{"value":"fetch now"}"#),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["alias"], "cmd");
    assert_eq!(hub.read(&cik, "cmd").await.text(), "cmd=fetch+now");
    let r = hub
        .op(
            "GET",
            "/api/v1/products/default/devices/gw/aliases/h?limit=2",
            None,
        )
        .await;
    assert_eq!(
        r.json(),
        json!({"alias":"h","points":[{"ts":300,"value":"c"},{"ts":200,"value":"b"}]})
    );
    let r = hub
        .op("GET", "/api/v1/products/default/devices/gw/aliases/h", None)
        .await;
    assert_eq!(r.json()["points"].as_array().map(Vec::len), Some(1));
    let r = hub
        .op(
            "GET",
            "/api/v1/products/default/devices/gw/aliases/none",
            None,
        )
        .await;
    assert_eq!(r.json(), json!({"alias":"none","points":[]}));
    let r = hub
        .op(
            "GET",
            "/api/v1/products/default/devices/ghost/aliases/h",
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let r = hub
        .op(
            "POST",
            "/api/v1/products/default/devices/gw/aliases/cmd",
            Some(r#"{"value":5}"#),
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_upload_replace_list_delete() {
    let hub = TestHub::start().await;
    let cik = hub.device("gw").await;
    let auth = format!("Bearer {OP_TOKEN}");
    let put = |body: &'static [u8], ct: &'static str| {
        let hub = &hub;
        let auth = auth.clone();
        async move {
            hub.request(
                "PUT",
                "/api/v1/products/default/content/app.tgz?meta=build%2042",
                &[("Authorization", &auth), ("Content-Type", ct)],
                body,
            )
            .await
        }
    };
    let r = put(b"version one", "application/gzip").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["size"], 11);
    let r = put(b"v2", "application/x-tar").await;
    assert_eq!(r.status, 201);
    // Exactly one blob file remains (the replaced one is removed).
    let blobs = std::fs::read_dir(hub.dir.path().join("data/content"))
        .expect("dir")
        .filter(|e| {
            e.as_ref()
                .map(|e| e.path().extension().is_some_and(|x| x == "blob"))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(blobs, 1);
    let r = hub
        .op("GET", "/api/v1/products/default/content", None)
        .await;
    let list = r.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], "app.tgz");
    assert_eq!(list[0]["content_type"], "application/x-tar");
    assert_eq!(list[0]["meta"], "build 42");
    let r = hub
        .get("/provision/download?id=app.tgz", &[("X-Exosite-CIK", &cik)])
        .await;
    assert_eq!(r.body, b"v2");
    let r = hub
        .op("DELETE", "/api/v1/products/default/content/app.tgz", None)
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 204 No Content");
    let r = hub
        .op("DELETE", "/api/v1/products/default/content/app.tgz", None)
        .await;
    assert_eq!(r.status, 404);
    let r = hub
        .get("/provision/download?id=app.tgz", &[("X-Exosite-CIK", &cik)])
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        hub.get("/provision/download", &[("X-Exosite-CIK", &cik)])
            .await
            .status,
        204
    );
    let r = hub
        .request(
            "PUT",
            "/api/v1/products/nope/content/x",
            &[("Authorization", &auth)],
            b"x",
        )
        .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_413_and_leaves_nothing() {
    let hub = TestHub::start_with(|c| c.max_content_bytes = 1000).await;
    let auth = format!("Bearer {OP_TOKEN}");
    let big = vec![b'x'; 5000];
    let r = hub
        .request(
            "PUT",
            "/api/v1/products/default/content/big",
            &[("Authorization", &auth)],
            &big,
        )
        .await;
    assert_eq!(r.status_line, "HTTP/1.1 413 Payload Too Large");
    // Chunked body without a length: cut off while streaming.
    let mut req = format!("PUT /api/v1/products/default/content/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..5 {
        req.extend_from_slice(b"3e8\r\n");
        req.extend_from_slice(&[b'y'; 1000]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let r = hub.raw(&req).await;
    assert_eq!(r.status, 413);
    let r = hub
        .op("GET", "/api/v1/products/default/content", None)
        .await;
    assert_eq!(r.json(), json!([]));
    let leftovers = std::fs::read_dir(hub.dir.path().join("data/content/tmp"))
        .expect("tmp")
        .count()
        + std::fs::read_dir(hub.dir.path().join("data/content"))
            .expect("dir")
            .filter(|e| e.as_ref().map(|e| e.path().is_file()).unwrap_or(false))
            .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_waiting_polls() {
    let hub = TestHub::start().await;
    let r = hub.op("GET", "/api/v1/stats", None).await;
    assert_eq!(r.json()["long_polls"], 0);
}

#[test]
fn openapi_documents_every_operator_route() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let doc: serde_json::Value = serde_norway::from_str(&text).expect("valid YAML");
    assert_eq!(doc["openapi"], "3.0.3");
    let mut paths: Vec<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/products",
            "/products/{product}/content",
            "/products/{product}/content/{id}",
            "/products/{product}/devices",
            "/products/{product}/devices/{sn}/aliases",
            "/products/{product}/devices/{sn}/aliases/{alias}",
            "/products/{product}/devices/{sn}/enable",
            "/products/{product}/resources",
            "/stats",
        ]
    );
}
