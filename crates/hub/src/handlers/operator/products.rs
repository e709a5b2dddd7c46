//! `GET/POST /api/v1/products`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::{check_name, json_body};
use crate::auth::Operator;
use crate::error::{HubError, HubResult};
use crate::state::AppState;
use crate::store::Product;

/// Body of a product creation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// The new product id.
    pub product_id: String,
}

/// Lists products.
pub async fn list(_: Operator, State(state): State<AppState>) -> HubResult<Json<Vec<Product>>> {
    Ok(Json(state.store.list_products().await?))
}

/// Creates a product (201), 409 if it exists.
pub async fn create(
    _: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<(StatusCode, Json<Product>)> {
    let req: CreateProduct = json_body(&state, &headers, body).await?;
    check_name("product_id", &req.product_id)?;
    // A product id is the first label of a host name.
    if !req
        .product_id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(HubError::BadRequest(
            "product_id may hold only letters, digits, '-' and '_'".into(),
        ));
    }
    let product = state.store.create_product(req.product_id).await?;
    state.add_product(&product.product_id);
    Ok((StatusCode::CREATED, Json(product)))
}
