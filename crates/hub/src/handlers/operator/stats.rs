//! `GET /api/v1/stats`: live counters of the running hub.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::auth::Operator;
use crate::state::AppState;

/// Live counters.
#[derive(Debug, Serialize)]
pub struct Stats {
    /// Long polls currently waiting.
    pub long_polls: usize,
    /// Distinct `(device, alias)` pairs being waited on.
    pub poll_channels: usize,
    /// Authenticated tokens held in memory.
    pub cached_tokens: usize,
}

/// Answers the counters.
pub async fn get(_: Operator, State(state): State<AppState>) -> Json<Stats> {
    Json(Stats {
        long_polls: state.notifier.waiters(),
        poll_channels: state.notifier.channels(),
        cached_tokens: state.tokens.read().map(|t| t.len()).unwrap_or(0),
    })
}
