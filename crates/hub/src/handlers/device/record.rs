//! Historical writes: `POST /onep:v1/stack/record` and the legacy
//! `POST /onep:v1/stack/alias/<alias>`. Both answer 204, or 409 naming the conflicting
//! `alias=timestamp` pairs (two points of one alias under one second apart); a conflicting
//! call stores nothing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gwe_device_api::record::format_conflicts;
use gwe_device_api::RecordBody;

use crate::auth::DeviceAuth;
use crate::error::{HubError, HubResult};
use crate::handlers::{read_body, require_form};
use crate::state::AppState;
use crate::store::DeviceRef;

/// `POST /onep:v1/stack/record`.
pub async fn record(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Response> {
    require_form(&headers)?;
    let body = read_body(&headers, body, state.config.max_body_bytes).await?;
    store(&state, &device, RecordBody::parse(&body)?).await
}

/// `POST /onep:v1/stack/alias/<alias>` (One Platform's per-alias record).
pub async fn record_legacy(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    Path(alias): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Response> {
    require_form(&headers)?;
    let body = read_body(&headers, body, state.config.max_body_bytes).await?;
    store(&state, &device, RecordBody::parse_legacy(&alias, &body)?).await
}

async fn store(state: &AppState, device: &DeviceRef, body: RecordBody) -> HubResult<Response> {
    let conflicts = body.conflicts();
    if !conflicts.is_empty() {
        return Err(HubError::RecordConflict(format_conflicts(&conflicts)));
    }
    let points: Vec<(String, i64, String)> = body
        .series
        .into_iter()
        .flat_map(|s| {
            let alias = s.alias;
            s.points
                .into_iter()
                .map(move |(ts, v)| (alias.clone(), ts, v))
        })
        .collect();
    if !points.is_empty() {
        let stored = state
            .store
            .record(device.id, points, state.config.create_aliases)
            .await?;
        for s in &stored {
            state.notifier.notify(device.id, &s.alias);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
