//! `PUT /api/v1/products/{product}/resources`: apply a resource spec
//! (`resources: [{alias, format}]`, YAML or JSON) to every device of a product.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::check_name;
use crate::auth::Operator;
use crate::error::{HubError, HubResult};
use crate::handlers::read_body;
use crate::state::AppState;
use crate::store::ResourceSpec;

/// A resource spec file.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct Spec {
    /// The resources to define.
    #[serde(default)]
    pub resources: Vec<ResourceSpec>,
}

/// What an apply did.
#[derive(Debug, Serialize)]
pub struct Applied {
    /// Number of resources defined or updated.
    pub applied: usize,
}

/// Parses a spec (YAML; JSON is valid YAML too) and checks its names.
pub fn parse_spec(text: &[u8]) -> HubResult<Spec> {
    let spec: Spec = serde_norway::from_slice(text)
        .map_err(|e| HubError::BadRequest(format!("resource spec: {e}")))?;
    for r in &spec.resources {
        check_name("alias", &r.alias)?;
        check_name("format", &r.format)?;
    }
    Ok(spec)
}

/// Applies a spec.
pub async fn apply(
    _: Operator,
    State(state): State<AppState>,
    Path(product): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> HubResult<Json<Applied>> {
    let text = read_body(&headers, body, state.config.max_body_bytes).await?;
    let spec = parse_spec(&text)?;
    let applied = state.store.apply_resources(product, spec.resources).await?;
    Ok(Json(Applied { applied }))
}
