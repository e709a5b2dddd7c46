//! Every route of the hub, in one place.

use axum::routing::{get, post};
use axum::Router;
use gwe_device_api::paths;

use crate::handlers::{device, operator};
use crate::state::AppState;

/// The hub's router: the Device API at its documented paths, the operator API under `/api/v1`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/stats", get(operator::stats::get))
        .route(
            "/products",
            get(operator::products::list).post(operator::products::create),
        )
        .route(
            "/products/{product}/devices",
            get(operator::devices::list).post(operator::devices::add),
        )
        .route(
            "/products/{product}/devices/{sn}/enable",
            post(operator::devices::enable),
        )
        .route(
            "/products/{product}/devices/{sn}/aliases",
            get(operator::values::list),
        )
        .route(
            "/products/{product}/devices/{sn}/aliases/{alias}",
            get(operator::values::read).post(operator::values::write),
        )
        .route(
            "/products/{product}/resources",
            axum::routing::put(operator::resources::apply),
        )
        .route("/products/{product}/content", get(operator::content::list))
        .route(
            "/products/{product}/content/{id}",
            get(operator::content::info)
                .put(operator::content::upload)
                .delete(operator::content::delete),
        );
    Router::new()
        .route(
            paths::STACK_ALIAS,
            get(device::alias::read).post(device::alias::write),
        )
        .route(
            "/onep:v1/stack/alias/{alias}",
            post(device::record::record_legacy),
        )
        .route(paths::STACK_RECORD, post(device::record::record))
        .route(paths::ACTIVATE, post(device::activate::activate))
        .route(paths::DOWNLOAD, get(device::download::download))
        .route(paths::TIMESTAMP, get(device::timestamp::get))
        .nest("/api/v1", api)
        .with_state(state)
}
