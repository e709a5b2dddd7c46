//! Storage behind one trait, so the hub can run on SQLite (the embedded default) and later on
//! another database without touching handlers.
//!
//! Every method returns a boxed future: the SQLite implementation runs reads on the blocking
//! pool and funnels all writes through one writer thread that commits them in groups.

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

pub mod sqlite;
mod writer;

pub use sqlite::SqliteStore;

/// Storage failures, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The named thing already exists or is in the wrong state.
    #[error("{0}")]
    Conflict(String),
    /// SQLite failed while doing `what`.
    #[error("database error while {what}: {source}")]
    Sqlite {
        /// What the store was doing.
        what: &'static str,
        /// The SQLite failure.
        source: rusqlite::Error,
    },
    /// Opening or migrating the database at `path` failed.
    #[error("cannot open database {path}: {message}")]
    Open {
        /// The database file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
    /// A group commit failed; none of its jobs was stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread is gone (the hub is shutting down).
    #[error("the storage writer has stopped")]
    WriterGone,
}

/// Result of store calls.
pub type StoreResult<T> = Result<T, StoreError>;

/// The future every store method returns.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'static>>;

/// A product (Murano: vendor = model = product id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    /// The product id (first label of `<product-id>.m2.exosite.io`).
    pub product_id: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// A device identity as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Internal device key.
    #[serde(skip)]
    pub id: i64,
    /// The product the identity belongs to.
    pub product_id: String,
    /// Serial number (Murano: identity `id`).
    pub sn: String,
    /// Whether the identity may activate now.
    pub enabled: bool,
    /// Whether a token has been issued (and not revoked by re-enabling).
    pub activated: bool,
    /// When the identity was added, unix seconds.
    pub created_at: i64,
    /// When the current token was issued, unix seconds.
    pub activated_at: Option<i64>,
    /// Last authenticated request, unix seconds (flushed from memory every few seconds).
    pub last_seen: Option<i64>,
}

/// What a valid CIK resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRef {
    /// Internal device key.
    pub id: i64,
    /// The device's product id.
    pub product_id: String,
    /// The device's serial number.
    pub sn: String,
}

/// A resource definition (from a spec YAML).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResourceSpec {
    /// The alias devices read and write.
    pub alias: String,
    /// The value format (`string`, `number`, `integer`, `boolean`, `json`, ...); informational.
    #[serde(default = "default_format")]
    pub format: String,
}

fn default_format() -> String {
    "string".to_string()
}

/// One stored value of an alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    /// Monotonic id across the store: a later write has a larger id.
    #[serde(skip)]
    pub id: i64,
    /// Timestamp, unix seconds.
    pub ts: i64,
    /// The value as written.
    pub value: String,
}

/// A resource of a device with its latest point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceState {
    /// The alias.
    pub alias: String,
    /// Its format.
    pub format: String,
    /// The latest point, if any.
    pub latest: Option<Point>,
}

/// Outcome of an activation attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// The token now valid for the device.
    Activated(String),
    /// The identity is not known to the product.
    UnknownIdentity,
    /// The identity exists but is not enabled for activation.
    NotEnabled,
}

/// Metadata of one content blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentInfo {
    /// Content id (file name in the content area).
    pub id: String,
    /// MIME type given at upload.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Upload time, unix seconds.
    pub updated: i64,
    /// Free-form meta string given at upload.
    pub meta: String,
    /// Blob file name inside the blob directory (not shown to devices).
    #[serde(skip)]
    pub file: String,
}

/// Where points of one write go: `(alias, value)` pairs stored at one timestamp.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The writing device.
    pub device: i64,
    /// Server timestamp for all points.
    pub ts: i64,
    /// Pairs in request order.
    pub values: Vec<(String, String)>,
    /// Create unknown aliases (true) or drop their values (false, Murano's behaviour).
    pub create_aliases: bool,
}

/// A point that was stored, for waking long polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The alias written.
    pub alias: String,
    /// The new point's id.
    pub id: i64,
}

/// The storage interface of the hub.
pub trait Store: Send + Sync + 'static {
    /// Creates a product; `Conflict` if it exists.
    fn create_product(&self, product_id: String) -> StoreFuture<Product>;
    /// Creates the product unless it exists.
    fn ensure_product(&self, product_id: String) -> StoreFuture<Product>;
    /// All products, by id.
    fn list_products(&self) -> StoreFuture<Vec<Product>>;
    /// Adds an identity (enabled for activation); `NotFound` product, `Conflict` if present.
    fn add_device(&self, product_id: String, sn: String) -> StoreFuture<Device>;
    /// Identities of a product with their state.
    fn list_devices(&self, product_id: String) -> StoreFuture<Vec<Device>>;
    /// Enables an identity for activation again, revoking its token.
    fn enable_device(&self, product_id: String, sn: String) -> StoreFuture<Device>;
    /// Issues `token` to an enabled identity and disables further activation.
    fn activate(&self, product_id: String, sn: String, token: String) -> StoreFuture<Activation>;
    /// The device holding `token`, if any.
    fn device_by_token(&self, token: String) -> StoreFuture<Option<DeviceRef>>;
    /// The device with serial `sn` in a product, if any.
    fn device_by_sn(&self, product_id: String, sn: String) -> StoreFuture<Option<DeviceRef>>;
    /// Stores last-seen times `(device, unix seconds)`.
    fn set_last_seen(&self, seen: Vec<(i64, i64)>) -> StoreFuture<()>;
    /// Defines resources for every device of a product (existing and future ones).
    fn apply_resources(&self, product_id: String, specs: Vec<ResourceSpec>) -> StoreFuture<usize>;
    /// Writes points at one timestamp; returns what was stored (unknown aliases may be dropped).
    fn write(&self, req: WriteRequest) -> StoreFuture<Vec<Stored>>;
    /// Stores historical points `(alias, ts, value)` in one transaction.
    fn record(
        &self,
        device: i64,
        points: Vec<(String, i64, String)>,
        create_aliases: bool,
    ) -> StoreFuture<Vec<Stored>>;
    /// Latest point of each alias (None: unknown alias or no data), in order.
    fn latest(&self, device: i64, aliases: Vec<String>) -> StoreFuture<Vec<Option<Point>>>;
    /// Id of the newest point of an alias (0 if none): a long poll's "now".
    fn last_point_id(&self, device: i64, alias: String) -> StoreFuture<i64>;
    /// The oldest point written after point `id` (the write that woke a poll).
    fn first_after_id(&self, device: i64, alias: String, id: i64) -> StoreFuture<Option<Point>>;
    /// The oldest point with a timestamp strictly after `ts`.
    fn first_after_ts(&self, device: i64, alias: String, ts: i64) -> StoreFuture<Option<Point>>;
    /// Newest-first history of an alias, at most `limit` points.
    fn history(&self, device: i64, alias: String, limit: u32) -> StoreFuture<Vec<Point>>;
    /// Resources of a device with their latest points.
    fn resources(&self, device: i64) -> StoreFuture<Vec<ResourceState>>;
    /// Adds or replaces content metadata; returns the replaced blob's file name.
    fn put_content(&self, product_id: String, info: ContentInfo) -> StoreFuture<Option<String>>;
    /// Content of a product, by id.
    fn list_content(&self, product_id: String) -> StoreFuture<Vec<ContentInfo>>;
    /// One content item.
    fn content(&self, product_id: String, id: String) -> StoreFuture<Option<ContentInfo>>;
    /// Deletes one content item; returns its metadata (its blob is the caller's to remove).
    fn delete_content(&self, product_id: String, id: String) -> StoreFuture<ContentInfo>;
    /// Blob file names referenced by any content (to clean up orphans at start).
    fn content_files(&self) -> StoreFuture<Vec<String>>;
}
