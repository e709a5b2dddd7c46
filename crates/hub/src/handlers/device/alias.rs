//! Read, write and hybrid write/read on `/onep:v1/stack/alias`. A read with a
//! `Request-Timeout` header is a long poll ([`super::long_poll`]).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use gwe_device_api::header::REQUEST_TIMEOUT;
use gwe_device_api::{read_query, Form};

use crate::auth::DeviceAuth;
use crate::error::{HubError, HubResult};
use crate::handlers::{form_response, read_body, require_form};
use crate::state::AppState;
use crate::store::{DeviceRef, WriteRequest};

/// `GET /onep:v1/stack/alias?a1&a2`: latest values, or a long poll when `Request-Timeout` is set.
pub async fn read(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> HubResult<Response> {
    let aliases = read_query::parse(query.as_deref().unwrap_or(""))?;
    if headers.contains_key(REQUEST_TIMEOUT) {
        return super::long_poll::poll(&state, &device, aliases, headers).await;
    }
    read_aliases(&state, &device, aliases).await
}

/// `POST /onep:v1/stack/alias[?r1&r2]`: write the body's pairs, then read the query's aliases.
pub async fn write(
    State(state): State<AppState>,
    DeviceAuth(device): DeviceAuth,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Response> {
    require_form(&headers)?;
    let reads = read_query::parse(query.as_deref().unwrap_or(""))?;
    let body = read_body(&headers, body, state.config.max_body_bytes).await?;
    let values = Form::decode_bytes(&body)?.into_pairs();
    if values.iter().any(|(alias, _)| alias.is_empty()) {
        return Err(HubError::BadRequest("empty alias name in write".into()));
    }
    write_values(&state, &device, values, state.config.create_aliases).await?;
    if reads.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    read_aliases(&state, &device, reads).await
}

/// Stores `values` at the current second and wakes long polls on the written aliases.
pub async fn write_values(
    state: &AppState,
    device: &DeviceRef,
    values: Vec<(String, String)>,
    create_aliases: bool,
) -> HubResult<i64> {
    let ts = crate::clock::unix_now();
    if values.is_empty() {
        return Ok(ts);
    }
    let stored = state
        .store
        .write(WriteRequest {
            device: device.id,
            ts,
            values,
            create_aliases,
        })
        .await?;
    for s in &stored {
        state.notifier.notify(device.id, &s.alias);
    }
    Ok(ts)
}

/// 200 with `alias=value` for every alias that has data, or 204 if none has (or all are empty).
async fn read_aliases(
    state: &AppState,
    device: &DeviceRef,
    aliases: Vec<String>,
) -> HubResult<Response> {
    if aliases.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let points = state.store.latest(device.id, aliases.clone()).await?;
    let mut form = Form::new();
    let mut any_value = false;
    for (alias, point) in aliases.into_iter().zip(points) {
        if let Some(p) = point {
            any_value |= !p.value.is_empty();
            form.push(alias, p.value);
        }
    }
    if !any_value {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(form_response(form.encode()))
}
