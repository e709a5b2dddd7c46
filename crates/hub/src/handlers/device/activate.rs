//! `POST /provision/activate`: `vendor=<v>&model=<m>&sn=<sn>` or Murano's `id=<sn>`.
//!
//! The product is, in order: the model or vendor when one names a known product; the first
//! label of the `Host` when it is a known product (`<product-id>.m2.exosite.io`); the default
//! product when the call names none. Vendor/model naming an unknown product is a 404.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use gwe_device_api::ActivateRequest;

use crate::error::{HubError, HubResult};
use crate::handlers::{host, read_body, require_form, text_response};
use crate::state::AppState;
use crate::store::Activation;

/// Activates an identity and answers its new 40-character token.
pub async fn activate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Response> {
    require_form(&headers)?;
    let body = read_body(&headers, body, state.config.max_body_bytes).await?;
    let req = ActivateRequest::parse(&body)?;
    let product = resolve_product(&state, &headers, &req)?;
    let token = gwe_device_api::token::generate();
    match state
        .store
        .activate(product.clone(), req.sn.clone(), token)
        .await?
    {
        Activation::Activated(token) => {
            state.forget_device_tokens(&product, &req.sn);
            tracing::info!(product = %product, sn = %req.sn, "device activated");
            Ok(text_response(token))
        }
        Activation::UnknownIdentity => Err(HubError::NotFound(format!(
            "identity '{}' is not known to product '{product}'",
            req.sn
        ))),
        Activation::NotEnabled => Err(HubError::Conflict(format!(
            "identity '{}' is not enabled for activation",
            req.sn
        ))),
    }
}

fn resolve_product(
    state: &AppState,
    headers: &HeaderMap,
    req: &ActivateRequest,
) -> HubResult<String> {
    let named: Vec<&str> = [req.model.as_deref(), req.vendor.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if let Some(p) = named.iter().find(|p| state.is_product(p)) {
        return Ok(p.to_string());
    }
    if let Some(p) = named.first() {
        return Err(HubError::NotFound(format!("product '{p}' not found")));
    }
    Ok(state
        .product_from_host(host(headers))
        .unwrap_or_else(|| state.config.default_product.clone()))
}
