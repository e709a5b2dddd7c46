//! `GET /provision/download`: list content (no `id`), content info (`id` + `info=true`) or
//! download (`id`, optional single `Range`). Blobs are streamed from their files.
//!
//! Vendor/model, when given, must name the device's own product (else 403 for list and
//! download, 400 for info, as documented); so must the host name when it names a product.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gwe_device_api::content::format_list;
use gwe_device_api::header::content_type;
use gwe_device_api::{ByteRangeSpec, DownloadQuery, WireError};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::auth::DeviceAuth;
use crate::error::{HubError, HubResult};
use crate::handlers::host;
use crate::state::AppState;
use crate::store::{ContentInfo, DeviceRef};

/// Read size when streaming a blob. Each read of a tokio file is a hand-off to the blocking
/// pool, so 16 KiB pieces cost more CPU than the copy itself (~0.35 s per 100 MB); 256 KiB
/// makes that 16x rarer, and only a download in progress holds the buffer.
const STREAM_CHUNK: usize = 256 * 1024;

/// Dispatches list / info / download.
pub async fn download(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> HubResult<Response> {
    let q = DownloadQuery::parse(query.as_deref().unwrap_or(""))?;
    let product_ok = names_own_product(&state, &device, &q, &headers);
    match (&q.id, q.info) {
        (None, _) => {
            if !product_ok {
                return Err(HubError::Forbidden("vendor/model do not match".into()));
            }
            list(&state, &device).await
        }
        (Some(id), true) => {
            if !product_ok {
                return Err(HubError::BadRequest("vendor/model do not match".into()));
            }
            let c = find(&state, &device, id).await?;
            let line = gwe_device_api::ContentInfo {
                content_type: c.content_type,
                size: c.size,
                updated: c.updated,
                meta: c.meta,
            }
            .format();
            Ok(csv(line))
        }
        (Some(id), false) => {
            if !product_ok {
                return Err(HubError::Forbidden("vendor/model do not match".into()));
            }
            let c = find(&state, &device, id).await?;
            blob(&state, c, &headers).await
        }
    }
}

fn names_own_product(
    state: &AppState,
    device: &DeviceRef,
    q: &DownloadQuery,
    headers: &HeaderMap,
) -> bool {
    let own = device.product_id.as_str();
    let vm_ok = [q.vendor.as_deref(), q.model.as_deref()]
        .into_iter()
        .flatten()
        .all(|p| p == own);
    let host_ok = state
        .product_from_host(host(headers))
        .is_none_or(|p| p == own);
    vm_ok && host_ok
}

async fn list(state: &AppState, device: &DeviceRef) -> HubResult<Response> {
    let items = state.store.list_content(device.product_id.clone()).await?;
    if items.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let ids: Vec<&str> = items.iter().map(|c| c.id.as_str()).collect();
    Ok(csv(format_list(&ids)))
}

async fn find(state: &AppState, device: &DeviceRef, id: &str) -> HubResult<ContentInfo> {
    state
        .store
        .content(device.product_id.clone(), id.to_string())
        .await?
        .ok_or_else(|| HubError::NotFound(format!("content '{id}' not found")))
}

fn csv(body: String) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type::TEXT_CSV),
        )],
        body,
    )
        .into_response()
}

async fn blob(state: &AppState, c: ContentInfo, headers: &HeaderMap) -> HubResult<Response> {
    let path = state.blobs.path(&c.file);
    let io = |source| HubError::Blob {
        path: path.clone(),
        source,
    };
    let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
    // The file is open: a concurrent delete or replace cannot change what we send.
    let total = file.metadata().await.map_err(io)?.len();
    let range = match headers.get(header::RANGE).map(|v| v.to_str()) {
        None => None,
        Some(Err(_)) => None,
        Some(Ok(v)) => match ByteRangeSpec::parse(v) {
            Ok(spec) => Some(spec.resolve(total)?),
            // Invalid or multi-range: ignored, the whole blob is sent (RFC 9110).
            Err(WireError::BadRange(_) | WireError::MultipleRanges) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let (status, first, len) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.first, r.len()),
        None => (StatusCode::OK, 0, total),
    };
    if first > 0 {
        file.seek(std::io::SeekFrom::Start(first))
            .await
            .map_err(io)?;
    }
    let stream = ReaderStream::with_capacity(file.take(len), STREAM_CHUNK);
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let ct = HeaderValue::from_str(&c.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, ct);
    if let Some(r) = range {
        if let Ok(v) = HeaderValue::from_str(&r.content_range().format()) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    Ok(resp)
}
