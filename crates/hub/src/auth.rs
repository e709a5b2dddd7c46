//! Authentication extractors: [`DeviceAuth`] for the Device API (`X-Exosite-CIK`) and
//! [`Operator`] for the operator API (`Authorization: Bearer <token>`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use gwe_device_api::header::X_EXOSITE_CIK;

use crate::error::HubError;
use crate::state::AppState;
use crate::store::DeviceRef;

/// The device a valid CIK belongs to.
#[derive(Debug, Clone)]
pub struct DeviceAuth(pub DeviceRef);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HubError> {
        let cik = parts
            .headers
            .get(X_EXOSITE_CIK)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .ok_or(HubError::InvalidCik)?;
        if !gwe_device_api::token::is_valid(cik) {
            return Err(HubError::InvalidCik);
        }
        let device = match state.cached_token(cik) {
            Some(d) => d,
            None => {
                let d = state
                    .store
                    .device_by_token(cik.to_string())
                    .await?
                    .ok_or(HubError::InvalidCik)?;
                state.cache_token(cik, d.clone());
                d
            }
        };
        state.mark_seen(device.id);
        Ok(DeviceAuth(device))
    }
}

/// Proof that the request carries the operator token.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

/// Compares in time independent of where the first difference is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HubError> {
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or(HubError::Unauthorized)?;
        if same_secret(given.as_bytes(), state.operator_token.as_bytes()) {
            Ok(Operator)
        } else {
            Err(HubError::Forbidden("wrong operator token".into()))
        }
    }
}
