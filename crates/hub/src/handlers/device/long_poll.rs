//! Long poll: a read of exactly one alias with `Request-Timeout` (at most 300000 ms) and an
//! optional `If-Modified-Since` (unix seconds or HTTP-date).
//!
//! - With `If-Modified-Since: T` the answer is the oldest stored point with a timestamp after
//!   T (immediately if one exists), so a client passing back each `Last-Modified` walks every
//!   point (one-second resolution: two points in one second cannot be told apart).
//! - Without it ("now") the answer is the first point written after the poll arrived, even
//!   within the same second: the poll remembers the newest point id when it starts.
//!
//! The poll subscribes to the in-memory [`crate::notify::Notifier`] before its last store
//! check, so a write committed after that check always wakes it; no timer is involved.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gwe_device_api::header::REQUEST_TIMEOUT;
use gwe_device_api::time::{format_http_date, parse_http_time};
use gwe_device_api::{Form, RequestTimeout};
use tokio::time::Instant;

use crate::error::{HubError, HubResult};
use crate::handlers::form_response;
use crate::state::AppState;
use crate::store::{DeviceRef, Point};

/// Where a poll starts from.
#[derive(Debug, Clone, Copy)]
enum Since {
    /// Points with a timestamp strictly after these unix seconds.
    Time(i64),
    /// Points written after the point with this id (0: any point).
    Id(i64),
}

/// Answers a long poll (200 with `Last-Modified`, or 304 at the timeout).
pub async fn poll(
    state: &AppState,
    device: &DeviceRef,
    aliases: Vec<String>,
    headers: HeaderMap,
) -> HubResult<Response> {
    let [alias]: [String; 1] = aliases.try_into().map_err(|a: Vec<String>| {
        HubError::BadRequest(format!(
            "a long poll reads exactly one alias ({} given)",
            a.len()
        ))
    })?;
    let timeout = header_str(&headers, REQUEST_TIMEOUT)?
        .map(RequestTimeout::parse)
        .transpose()?
        .unwrap_or(RequestTimeout::clamped(0));
    let since = header_str(&headers, header::IF_MODIFIED_SINCE.as_str())?
        .map(parse_http_time)
        .transpose()?
        .map(|t| i64::try_from(t).unwrap_or(i64::MAX));
    let deadline = Instant::now() + timeout.as_duration();
    // Nothing else is needed from the request: free it before waiting.
    drop(headers);

    // "Now" is the newest point id at arrival. Subscribing after taking it and checking the
    // store once more before waiting means no write after it can go unnoticed.
    let since = match since {
        Some(t) => Since::Time(t),
        None => Since::Id(state.store.last_point_id(device.id, alias.clone()).await?),
    };
    let mut sub = state.notifier.subscribe(device.id, &alias);
    loop {
        if let Some(point) = newer(state, device, &alias, since).await? {
            return Ok(modified(&alias, point));
        }
        tokio::select! {
            woke = sub.changed() => {
                if !woke {
                    return Ok(not_modified());
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Ok(not_modified()),
            _ = state.shutdown.cancelled() => return Ok(not_modified()),
        }
    }
}

async fn newer(
    state: &AppState,
    device: &DeviceRef,
    alias: &str,
    since: Since,
) -> HubResult<Option<Point>> {
    let alias = alias.to_string();
    Ok(match since {
        Since::Time(t) => state.store.first_after_ts(device.id, alias, t).await?,
        Since::Id(id) => state.store.first_after_id(device.id, alias, id).await?,
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> HubResult<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| HubError::BadRequest(format!("header {name} is not ASCII")))
        })
        .transpose()
}

fn modified(alias: &str, point: Point) -> Response {
    let mut form = Form::new();
    form.push(alias, point.value);
    let mut resp = form_response(form.encode());
    let date = format_http_date(u64::try_from(point.ts).unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&date) {
        resp.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    resp
}

fn not_modified() -> Response {
    StatusCode::NOT_MODIFIED.into_response()
}
