//! The shared state of a running hub. Locking rule: every lock here guards one small map and
//! is held for one lookup or update, never across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;

use crate::blobs::Blobs;
use crate::config::HubConfig;
use crate::notify::Notifier;
use crate::store::{DeviceRef, Store};

/// Most tokens kept in the in-memory cache; it is cleared when full (cheap to refill).
const MAX_CACHED_TOKENS: usize = 200_000;

/// Handles shared by all handlers. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Long-poll wake-ups.
    pub notifier: Arc<Notifier>,
    /// Configuration.
    pub config: Arc<HubConfig>,
    /// Content blob files.
    pub blobs: Blobs,
    /// Token -> device cache, so a request costs no database read to authenticate.
    pub tokens: Arc<RwLock<HashMap<String, DeviceRef>>>,
    /// Known product ids (for host-name and vendor/model resolution).
    pub products: Arc<RwLock<HashSet<String>>>,
    /// Last-seen times not yet flushed to the store.
    pub seen: Arc<Mutex<HashMap<i64, i64>>>,
    /// The operator bearer token.
    pub operator_token: Arc<str>,
    /// Cancelled when the hub shuts down: long polls answer at once.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// The cached device for `token`.
    pub fn cached_token(&self, token: &str) -> Option<DeviceRef> {
        self.tokens.read().ok()?.get(token).cloned()
    }

    /// Caches a token lookup.
    pub fn cache_token(&self, token: &str, device: DeviceRef) {
        if let Ok(mut map) = self.tokens.write() {
            if map.len() >= MAX_CACHED_TOKENS {
                map.clear();
            }
            map.insert(token.to_string(), device);
        }
    }

    /// Forgets every cached token of `device` (after activation or re-enabling).
    pub fn forget_device_tokens(&self, product_id: &str, sn: &str) {
        if let Ok(mut map) = self.tokens.write() {
            map.retain(|_, d| !(d.product_id == product_id && d.sn == sn));
        }
    }

    /// Records that `device` was seen now.
    pub fn mark_seen(&self, device: i64) {
        let now = crate::clock::unix_now();
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(device, now);
        }
    }

    /// The not-yet-flushed last-seen time of a device.
    pub fn pending_seen(&self, device_id: i64) -> Option<i64> {
        self.seen.lock().ok()?.get(&device_id).copied()
    }

    /// Writes pending last-seen times to the store.
    pub async fn flush_seen(&self) {
        let batch: Vec<(i64, i64)> = match self.seen.lock() {
            Ok(mut seen) => seen.drain().collect(),
            Err(_) => return,
        };
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.store.set_last_seen(batch).await {
            tracing::warn!(error = %e, "cannot store last-seen times");
        }
    }

    /// Whether `product_id` exists.
    pub fn is_product(&self, product_id: &str) -> bool {
        self.products
            .read()
            .map(|p| p.contains(product_id))
            .unwrap_or(false)
    }

    /// Remembers a product created by the operator.
    pub fn add_product(&self, product_id: &str) {
        if let Ok(mut p) = self.products.write() {
            p.insert(product_id.to_string());
        }
    }

    /// The product a host name names: the first label of `<product-id>.m2.exosite.io` when
    /// it is a known product.
    pub fn product_from_host(&self, host: Option<&str>) -> Option<String> {
        let host = host?;
        let label = host.split(['.', ':']).next()?;
        (!label.is_empty() && self.is_product(label)).then(|| label.to_string())
    }
}
