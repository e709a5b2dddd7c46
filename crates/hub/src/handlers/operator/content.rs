//! The content area: `GET /api/v1/products/{product}/content`,
//! `PUT|GET|DELETE /api/v1/products/{product}/content/{id}`.
//!
//! An upload streams the raw request body to a file (bounded by `max_content_bytes`); its
//! `Content-Type` becomes the blob's type and `?meta=` its meta string.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::check_name;
use crate::auth::Operator;
use crate::error::{HubError, HubResult};
use crate::state::AppState;
use crate::store::ContentInfo;

/// Query of an upload.
#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    /// Free-form meta string shown in the content info line.
    #[serde(default)]
    pub meta: String,
}

/// Lists the content of a product.
pub async fn list(
    _: Operator,
    State(state): State<AppState>,
    Path(product): Path<String>,
) -> HubResult<Json<Vec<ContentInfo>>> {
    Ok(Json(state.store.list_content(product).await?))
}

/// One item's metadata.
pub async fn info(
    _: Operator,
    State(state): State<AppState>,
    Path((product, id)): Path<(String, String)>,
) -> HubResult<Json<ContentInfo>> {
    state
        .store
        .content(product, id.clone())
        .await?
        .map(Json)
        .ok_or_else(|| HubError::NotFound(format!("content '{id}' not found")))
}

/// Uploads (or replaces) an item: 201 with its metadata.
pub async fn upload(
    _: Operator,
    State(state): State<AppState>,
    Path((product, id)): Path<(String, String)>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<(StatusCode, Json<ContentInfo>)> {
    check_name("content id", &id)?;
    if q.meta.len() > 4096 || q.meta.contains(['\r', '\n']) {
        return Err(HubError::BadRequest(
            "meta must be one line of at most 4096 bytes".into(),
        ));
    }
    if !state.is_product(&product) {
        return Err(HubError::NotFound(format!("product '{product}' not found")));
    }
    let max = state.config.max_content_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(HubError::PayloadTooLarge(max));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream")
        .to_string();
    let (file, size) = state.blobs.store(body.into_data_stream(), max).await?;
    let info = ContentInfo {
        id,
        content_type,
        size,
        updated: crate::clock::unix_now(),
        meta: q.meta,
        file: file.clone(),
    };
    match state.store.put_content(product, info.clone()).await {
        Ok(replaced) => {
            if let Some(old) = replaced {
                state.blobs.remove(&old).await;
            }
            Ok((StatusCode::CREATED, Json(info)))
        }
        Err(e) => {
            state.blobs.remove(&file).await;
            Err(e.into())
        }
    }
}

/// Deletes an item and its blob (204).
pub async fn delete(
    _: Operator,
    State(state): State<AppState>,
    Path((product, id)): Path<(String, String)>,
) -> HubResult<StatusCode> {
    let info = state.store.delete_content(product, id).await?;
    state.blobs.remove(&info.file).await;
    Ok(StatusCode::NO_CONTENT)
}
