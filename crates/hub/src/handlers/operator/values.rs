//! A device's aliases: `GET /api/v1/products/{product}/devices/{sn}/aliases`,
//! `GET|POST /api/v1/products/{product}/devices/{sn}/aliases/{alias}`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{check_name, device, json_body};
use crate::auth::Operator;
use crate::error::HubResult;
use crate::handlers::device::alias::write_values;
use crate::state::AppState;
use crate::store::{Point, ResourceState};

/// Body of an operator write.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteValue {
    /// The value to store (what the device will read).
    pub value: String,
}

/// Answer of an operator write.
#[derive(Debug, Serialize)]
pub struct Written {
    /// The alias written.
    pub alias: String,
    /// Server timestamp of the point, unix seconds.
    pub ts: i64,
}

/// Query of an alias read.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    /// Number of points to return, newest first (default 1: the latest).
    pub limit: Option<u32>,
}

/// An alias with points, newest first.
#[derive(Debug, Serialize)]
pub struct AliasHistory {
    /// The alias.
    pub alias: String,
    /// Points, newest first.
    pub points: Vec<Point>,
}

/// Lists a device's resources with their latest values.
pub async fn list(
    _: Operator,
    State(state): State<AppState>,
    Path((product, sn)): Path<(String, String)>,
) -> HubResult<Json<Vec<ResourceState>>> {
    let dev = device(&state, &product, &sn).await?;
    Ok(Json(state.store.resources(dev.id).await?))
}

/// Reads an alias (latest, or `?limit=N` newest points).
pub async fn read(
    _: Operator,
    State(state): State<AppState>,
    Path((product, sn, alias)): Path<(String, String, String)>,
    Query(q): Query<HistoryQuery>,
) -> HubResult<Json<AliasHistory>> {
    let dev = device(&state, &product, &sn).await?;
    let limit = q.limit.unwrap_or(1).clamp(1, 10_000);
    let points = state.store.history(dev.id, alias.clone(), limit).await?;
    Ok(Json(AliasHistory { alias, points }))
}

/// Writes a value to a device's alias (creating it), waking the device's long polls.
pub async fn write(
    _: Operator,
    State(state): State<AppState>,
    Path((product, sn, alias)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Json<Written>> {
    check_name("alias", &alias)?;
    let req: WriteValue = json_body(&state, &headers, body).await?;
    let dev = device(&state, &product, &sn).await?;
    let ts = write_values(&state, &dev, vec![(alias.clone(), req.value)], true).await?;
    Ok(Json(Written { alias, ts }))
}
