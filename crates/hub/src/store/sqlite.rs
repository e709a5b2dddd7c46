//! The SQLite [`Store`]: one file in the data directory, WAL journal, `synchronous=NORMAL`,
//! migrations embedded from `migrations/*.sql`, reads on a small connection pool and all
//! writes through the group-committing writer thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::writer::{CachedResource, Writer, WriterCtx};
use super::{
    Activation, ContentInfo, Device, DeviceRef, Point, Product, ResourceSpec, ResourceState, Store,
    StoreError, StoreFuture, StoreResult, Stored, WriteRequest,
};

/// Schema migrations, applied in order; `PRAGMA user_version` counts the applied ones.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_init.sql")];

/// Read connections kept open, and the most reads running at once.
const MAX_IDLE_READERS: usize = 8;

/// History beyond the bound is trimmed in steps of this many points (amortised cost).
const TRIM_SLACK: i64 = 16;

fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { what, source }
}

fn now() -> i64 {
    crate::clock::unix_now()
}

/// SQLite-backed store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
    history_limit: i64,
}

struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// Bounds concurrent reads (and so blocking threads and open connections): a burst of
    /// thousands of long polls must not open thousands of SQLite connections.
    slots: tokio::sync::Semaphore,
}

impl ReadPool {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match pooled {
            Some(c) => c,
            None => open_conn(&self.path, true)?,
        };
        let result = f(&conn);
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }
}

fn open_conn(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    conn.execute_batch("PRAGMA foreign_keys=ON;")
        .map_err(open_err)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    let open_err = |e: rusqlite::Error| StoreError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        .map_err(open_err)?;
    let applied: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::Open {
            path: path.to_path_buf(),
            message: format!(
                "schema version {applied} is newer than this hub ({})",
                MIGRATIONS.len()
            ),
        });
    }
    for (i, script) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        let tx = conn.transaction().map_err(open_err)?;
        tx.execute_batch(script).map_err(open_err)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(open_err)?;
        tx.commit().map_err(open_err)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating) the database at `path`, keeping at most
    /// `history_limit` points per alias (plus a small trimming slack).
    pub fn open(path: &Path, history_limit: u32) -> StoreResult<SqliteStore> {
        let mut conn = open_conn(path, false)?;
        migrate(&mut conn, path)?;
        let writer = Writer::start(conn).map_err(|e| StoreError::Open {
            path: path.to_path_buf(),
            message: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(SqliteStore {
            writer,
            readers: Arc::new(ReadPool {
                path: path.to_path_buf(),
                idle: Mutex::new(Vec::new()),
                slots: tokio::sync::Semaphore::new(MAX_IDLE_READERS),
            }),
            history_limit: i64::from(history_limit.max(1)),
        })
    }

    fn query<T, F>(&self, f: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        Box::pin(async move {
            let _slot = pool
                .slots
                .acquire()
                .await
                .map_err(|_| StoreError::WriterGone)?;
            let worker = pool.clone();
            tokio::task::spawn_blocking(move || worker.with(f))
                .await
                .map_err(|e| StoreError::Commit(format!("read task failed: {e}")))?
        })
    }

    fn submit<T, F>(&self, f: F) -> StoreFuture<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriterCtx<'_>) -> StoreResult<T> + Send + 'static,
    {
        let writer = self.writer.clone();
        Box::pin(async move { writer.submit(f).await })
    }
}

fn product_key(conn: &Connection, product_id: &str) -> StoreResult<i64> {
    conn.prepare_cached("SELECT id FROM products WHERE product_id = ?1")
        .and_then(|mut s| s.query_row([product_id], |r| r.get(0)).optional())
        .map_err(sql("looking up a product"))?
        .ok_or_else(|| StoreError::NotFound(format!("product '{product_id}' not found")))
}

fn product_row(conn: &Connection, product_id: &str) -> StoreResult<Option<Product>> {
    conn.query_row(
        "SELECT product_id, created_at FROM products WHERE product_id = ?1",
        [product_id],
        |r| {
            Ok(Product {
                product_id: r.get(0)?,
                created_at: r.get(1)?,
            })
        },
    )
    .optional()
    .map_err(sql("reading a product"))
}

const DEVICE_COLS: &str =
    "d.id, p.product_id, d.sn, d.enabled, d.token IS NOT NULL, d.created_at, \
                           d.activated_at, d.last_seen";

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        product_id: r.get(1)?,
        sn: r.get(2)?,
        enabled: r.get(3)?,
        activated: r.get(4)?,
        created_at: r.get(5)?,
        activated_at: r.get(6)?,
        last_seen: r.get(7)?,
    })
}

fn device_row(conn: &Connection, product_id: &str, sn: &str) -> StoreResult<Device> {
    conn.query_row(
        &format!(
            "SELECT {DEVICE_COLS} FROM devices d JOIN products p ON p.id = d.product \
             WHERE p.product_id = ?1 AND d.sn = ?2"
        ),
        params![product_id, sn],
        device_from_row,
    )
    .optional()
    .map_err(sql("reading a device"))?
    .ok_or_else(|| StoreError::NotFound(format!("device '{sn}' not found in '{product_id}'")))
}

fn resource_key(conn: &Connection, device: i64, alias: &str) -> StoreResult<Option<i64>> {
    conn.prepare_cached("SELECT id FROM resources WHERE device = ?1 AND alias = ?2")
        .and_then(|mut s| s.query_row(params![device, alias], |r| r.get(0)).optional())
        .map_err(sql("looking up a resource"))
}

fn point_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Point> {
    Ok(Point {
        id: r.get(0)?,
        ts: r.get(1)?,
        value: r.get(2)?,
    })
}

fn latest_point(conn: &Connection, resource: i64) -> StoreResult<Option<Point>> {
    conn.prepare_cached(
        "SELECT id, ts, value FROM points WHERE resource = ?1 ORDER BY ts DESC, id DESC LIMIT 1",
    )
    .and_then(|mut s| s.query_row([resource], point_from_row).optional())
    .map_err(sql("reading the latest point"))
}

/// Resolves (creating when allowed) the resource of `alias`, via the writer's cache.
fn writer_resource<'c>(
    ctx: &'c mut WriterCtx<'_>,
    device: i64,
    alias: &str,
    create: bool,
) -> StoreResult<Option<&'c mut CachedResource>> {
    let key = (device, alias.to_string());
    if !ctx.resources.contains_key(&key) {
        let id = match resource_key(ctx.conn, device, alias)? {
            Some(id) => id,
            None if create => {
                ctx.conn
                    .prepare_cached("INSERT INTO resources (device, alias) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute(params![device, alias]))
                    .map_err(sql("creating a resource"))?;
                ctx.conn.last_insert_rowid()
            }
            None => return Ok(None),
        };
        let count: i64 = ctx
            .conn
            .prepare_cached("SELECT count(*) FROM points WHERE resource = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)))
            .map_err(sql("counting points"))?;
        ctx.resources
            .insert(key.clone(), CachedResource { id, count });
    }
    Ok(ctx.resources.get_mut(&key))
}

/// Inserts one point and trims the alias's history when it exceeds the bound.
fn insert_point(
    conn: &Connection,
    resource: &mut CachedResource,
    ts: i64,
    value: &str,
    limit: i64,
) -> StoreResult<i64> {
    conn.prepare_cached("INSERT INTO points (resource, ts, value) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![resource.id, ts, value]))
        .map_err(sql("inserting a point"))?;
    let id = conn.last_insert_rowid();
    resource.count += 1;
    if resource.count > limit + TRIM_SLACK {
        conn.prepare_cached(
            "DELETE FROM points WHERE id IN (SELECT id FROM points WHERE resource = ?1 \
             ORDER BY ts DESC, id DESC LIMIT -1 OFFSET ?2)",
        )
        .and_then(|mut s| s.execute(params![resource.id, limit]))
        .map_err(sql("trimming history"))?;
        resource.count = limit;
    }
    Ok(id)
}

fn content_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ContentInfo> {
    Ok(ContentInfo {
        id: r.get(0)?,
        content_type: r.get(1)?,
        size: r.get::<_, i64>(2)?.max(0) as u64,
        updated: r.get(3)?,
        meta: r.get(4)?,
        file: r.get(5)?,
    })
}

const CONTENT_COLS: &str = "c.content_id, c.content_type, c.size, c.updated, c.meta, c.file";

impl Store for SqliteStore {
    fn create_product(&self, product_id: String) -> StoreFuture<Product> {
        self.submit(move |ctx| {
            if product_row(ctx.conn, &product_id)?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "product '{product_id}' already exists"
                )));
            }
            ctx.conn
                .execute(
                    "INSERT INTO products (product_id, created_at) VALUES (?1, ?2)",
                    params![product_id, now()],
                )
                .map_err(sql("creating a product"))?;
            product_row(ctx.conn, &product_id)?
                .ok_or_else(|| StoreError::NotFound(format!("product '{product_id}' vanished")))
        })
    }

    fn ensure_product(&self, product_id: String) -> StoreFuture<Product> {
        self.submit(move |ctx| {
            ctx.conn
                .execute(
                    "INSERT OR IGNORE INTO products (product_id, created_at) VALUES (?1, ?2)",
                    params![product_id, now()],
                )
                .map_err(sql("creating a product"))?;
            product_row(ctx.conn, &product_id)?
                .ok_or_else(|| StoreError::NotFound(format!("product '{product_id}' vanished")))
        })
    }

    fn list_products(&self) -> StoreFuture<Vec<Product>> {
        self.query(|conn| {
            let mut stmt = conn
                .prepare("SELECT product_id, created_at FROM products ORDER BY product_id")
                .map_err(sql("listing products"))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Product {
                        product_id: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("listing products"))?;
            Ok(rows)
        })
    }

    fn add_device(&self, product_id: String, sn: String) -> StoreFuture<Device> {
        self.submit(move |ctx| {
            let product = product_key(ctx.conn, &product_id)?;
            let inserted = ctx
                .conn
                .execute(
                    "INSERT OR IGNORE INTO devices (product, sn, enabled, created_at) \
                     VALUES (?1, ?2, 1, ?3)",
                    params![product, sn, now()],
                )
                .map_err(sql("adding a device"))?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!(
                    "device '{sn}' already exists in '{product_id}'"
                )));
            }
            let device = ctx.conn.last_insert_rowid();
            ctx.conn
                .execute(
                    "INSERT OR IGNORE INTO resources (device, alias, format) \
                     SELECT ?1, alias, format FROM product_resources WHERE product = ?2",
                    params![device, product],
                )
                .map_err(sql("copying product resources"))?;
            device_row(ctx.conn, &product_id, &sn)
        })
    }

    fn list_devices(&self, product_id: String) -> StoreFuture<Vec<Device>> {
        self.query(move |conn| {
            product_key(conn, &product_id)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {DEVICE_COLS} FROM devices d JOIN products p ON p.id = d.product \
                     WHERE p.product_id = ?1 ORDER BY d.sn"
                ))
                .map_err(sql("listing devices"))?;
            let rows = stmt
                .query_map([&product_id], device_from_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("listing devices"))?;
            Ok(rows)
        })
    }

    fn enable_device(&self, product_id: String, sn: String) -> StoreFuture<Device> {
        self.submit(move |ctx| {
            let product = product_key(ctx.conn, &product_id)?;
            let n = ctx
                .conn
                .execute(
                    "UPDATE devices SET enabled = 1, token = NULL, activated_at = NULL \
                     WHERE product = ?1 AND sn = ?2",
                    params![product, sn],
                )
                .map_err(sql("enabling a device"))?;
            if n == 0 {
                return Err(StoreError::NotFound(format!(
                    "device '{sn}' not found in '{product_id}'"
                )));
            }
            device_row(ctx.conn, &product_id, &sn)
        })
    }

    fn activate(&self, product_id: String, sn: String, token: String) -> StoreFuture<Activation> {
        self.submit(move |ctx| {
            let Ok(product) = product_key(ctx.conn, &product_id) else {
                return Ok(Activation::UnknownIdentity);
            };
            let row: Option<(i64, bool)> = ctx
                .conn
                .query_row(
                    "SELECT id, enabled FROM devices WHERE product = ?1 AND sn = ?2",
                    params![product, sn],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql("reading a device"))?;
            match row {
                None => Ok(Activation::UnknownIdentity),
                Some((_, false)) => Ok(Activation::NotEnabled),
                Some((id, true)) => {
                    ctx.conn
                        .execute(
                            "UPDATE devices SET enabled = 0, token = ?2, activated_at = ?3 \
                             WHERE id = ?1",
                            params![id, token, now()],
                        )
                        .map_err(sql("activating a device"))?;
                    Ok(Activation::Activated(token))
                }
            }
        })
    }

    fn device_by_token(&self, token: String) -> StoreFuture<Option<DeviceRef>> {
        self.query(move |conn| {
            conn.prepare_cached(
                "SELECT d.id, p.product_id, d.sn FROM devices d JOIN products p \
                 ON p.id = d.product WHERE d.token = ?1",
            )
            .and_then(|mut s| {
                s.query_row([&token], |r| {
                    Ok(DeviceRef {
                        id: r.get(0)?,
                        product_id: r.get(1)?,
                        sn: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(sql("looking up a token"))
        })
    }

    fn device_by_sn(&self, product_id: String, sn: String) -> StoreFuture<Option<DeviceRef>> {
        self.query(move |conn| {
            conn.query_row(
                "SELECT d.id, p.product_id, d.sn FROM devices d JOIN products p \
                 ON p.id = d.product WHERE p.product_id = ?1 AND d.sn = ?2",
                params![product_id, sn],
                |r| {
                    Ok(DeviceRef {
                        id: r.get(0)?,
                        product_id: r.get(1)?,
                        sn: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(sql("looking up a device"))
        })
    }

    fn set_last_seen(&self, seen: Vec<(i64, i64)>) -> StoreFuture<()> {
        self.submit(move |ctx| {
            let mut stmt = ctx
                .conn
                .prepare_cached(
                    "UPDATE devices SET last_seen = max(coalesce(last_seen, 0), ?2) WHERE id = ?1",
                )
                .map_err(sql("storing last-seen times"))?;
            for (device, ts) in seen {
                stmt.execute(params![device, ts])
                    .map_err(sql("storing last-seen times"))?;
            }
            Ok(())
        })
    }

    fn apply_resources(&self, product_id: String, specs: Vec<ResourceSpec>) -> StoreFuture<usize> {
        self.submit(move |ctx| {
            let product = product_key(ctx.conn, &product_id)?;
            for spec in &specs {
                ctx.conn
                    .execute(
                        "INSERT INTO product_resources (product, alias, format) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (product, alias) DO UPDATE SET format = excluded.format",
                        params![product, spec.alias, spec.format],
                    )
                    .map_err(sql("defining a resource"))?;
                ctx.conn
                    .execute(
                        "INSERT INTO resources (device, alias, format) \
                         SELECT id, ?2, ?3 FROM devices WHERE product = ?1 \
                         ON CONFLICT (device, alias) DO UPDATE SET format = excluded.format",
                        params![product, spec.alias, spec.format],
                    )
                    .map_err(sql("defining a resource"))?;
            }
            Ok(specs.len())
        })
    }

    fn write(&self, req: WriteRequest) -> StoreFuture<Vec<Stored>> {
        let limit = self.history_limit;
        self.submit(move |ctx| {
            let mut stored = Vec::with_capacity(req.values.len());
            for (alias, value) in req.values {
                let conn = ctx.conn;
                let Some(resource) = writer_resource(ctx, req.device, &alias, req.create_aliases)?
                else {
                    continue;
                };
                let id = insert_point(conn, resource, req.ts, &value, limit)?;
                stored.push(Stored { alias, id });
            }
            Ok(stored)
        })
    }

    fn record(
        &self,
        device: i64,
        points: Vec<(String, i64, String)>,
        create_aliases: bool,
    ) -> StoreFuture<Vec<Stored>> {
        let limit = self.history_limit;
        self.submit(move |ctx| {
            let mut stored = Vec::with_capacity(points.len());
            for (alias, ts, value) in points {
                let conn = ctx.conn;
                let Some(resource) = writer_resource(ctx, device, &alias, create_aliases)? else {
                    continue;
                };
                let id = insert_point(conn, resource, ts, &value, limit)?;
                stored.push(Stored { alias, id });
            }
            Ok(stored)
        })
    }

    fn latest(&self, device: i64, aliases: Vec<String>) -> StoreFuture<Vec<Option<Point>>> {
        self.query(move |conn| {
            let mut out = Vec::with_capacity(aliases.len());
            for alias in &aliases {
                let point = match resource_key(conn, device, alias)? {
                    Some(r) => latest_point(conn, r)?,
                    None => None,
                };
                out.push(point);
            }
            Ok(out)
        })
    }

    fn last_point_id(&self, device: i64, alias: String) -> StoreFuture<i64> {
        self.query(move |conn| {
            let Some(r) = resource_key(conn, device, &alias)? else {
                return Ok(0);
            };
            conn.prepare_cached("SELECT coalesce(max(id), 0) FROM points WHERE resource = ?1")
                .and_then(|mut s| s.query_row([r], |row| row.get(0)))
                .map_err(sql("reading the newest point id"))
        })
    }

    fn first_after_id(&self, device: i64, alias: String, id: i64) -> StoreFuture<Option<Point>> {
        self.query(move |conn| {
            let Some(r) = resource_key(conn, device, &alias)? else {
                return Ok(None);
            };
            conn.prepare_cached(
                "SELECT id, ts, value FROM points WHERE resource = ?1 AND id > ?2 \
                 ORDER BY id LIMIT 1",
            )
            .and_then(|mut s| s.query_row(params![r, id], point_from_row).optional())
            .map_err(sql("reading new points"))
        })
    }

    fn first_after_ts(&self, device: i64, alias: String, ts: i64) -> StoreFuture<Option<Point>> {
        self.query(move |conn| {
            let Some(r) = resource_key(conn, device, &alias)? else {
                return Ok(None);
            };
            conn.prepare_cached(
                "SELECT id, ts, value FROM points WHERE resource = ?1 AND ts > ?2 \
                 ORDER BY ts, id LIMIT 1",
            )
            .and_then(|mut s| s.query_row(params![r, ts], point_from_row).optional())
            .map_err(sql("reading new points"))
        })
    }

    fn history(&self, device: i64, alias: String, limit: u32) -> StoreFuture<Vec<Point>> {
        self.query(move |conn| {
            let Some(r) = resource_key(conn, device, &alias)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, ts, value FROM points WHERE resource = ?1 \
                     ORDER BY ts DESC, id DESC LIMIT ?2",
                )
                .map_err(sql("reading history"))?;
            let rows = stmt
                .query_map(params![r, limit], point_from_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("reading history"))?;
            Ok(rows)
        })
    }

    fn resources(&self, device: i64) -> StoreFuture<Vec<ResourceState>> {
        self.query(move |conn| {
            let mut stmt = conn
                .prepare("SELECT id, alias, format FROM resources WHERE device = ?1 ORDER BY alias")
                .map_err(sql("listing resources"))?;
            let rows = stmt
                .query_map([device], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("listing resources"))?;
            let mut out = Vec::with_capacity(rows.len());
            for (id, alias, format) in rows {
                out.push(ResourceState {
                    alias,
                    format,
                    latest: latest_point(conn, id)?,
                });
            }
            Ok(out)
        })
    }

    fn put_content(&self, product_id: String, info: ContentInfo) -> StoreFuture<Option<String>> {
        self.submit(move |ctx| {
            let product = product_key(ctx.conn, &product_id)?;
            let old: Option<String> = ctx
                .conn
                .query_row(
                    "SELECT file FROM content WHERE product = ?1 AND content_id = ?2",
                    params![product, info.id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql("reading content"))?;
            ctx.conn
                .execute(
                    "INSERT INTO content (product, content_id, content_type, size, updated, meta, file) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                     ON CONFLICT (product, content_id) DO UPDATE SET content_type = excluded.content_type, \
                     size = excluded.size, updated = excluded.updated, meta = excluded.meta, \
                     file = excluded.file",
                    params![
                        product,
                        info.id,
                        info.content_type,
                        info.size as i64,
                        info.updated,
                        info.meta,
                        info.file
                    ],
                )
                .map_err(sql("storing content"))?;
            Ok(old)
        })
    }

    fn list_content(&self, product_id: String) -> StoreFuture<Vec<ContentInfo>> {
        self.query(move |conn| {
            let product = product_key(conn, &product_id)?;
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {CONTENT_COLS} FROM content c WHERE c.product = ?1 ORDER BY c.content_id"
                ))
                .map_err(sql("listing content"))?;
            let rows = stmt
                .query_map([product], content_from_row)
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("listing content"))?;
            Ok(rows)
        })
    }

    fn content(&self, product_id: String, id: String) -> StoreFuture<Option<ContentInfo>> {
        self.query(move |conn| {
            let product = product_key(conn, &product_id)?;
            conn.query_row(
                &format!(
                    "SELECT {CONTENT_COLS} FROM content c WHERE c.product = ?1 AND c.content_id = ?2"
                ),
                params![product, id],
                content_from_row,
            )
            .optional()
            .map_err(sql("reading content"))
        })
    }

    fn delete_content(&self, product_id: String, id: String) -> StoreFuture<ContentInfo> {
        self.submit(move |ctx| {
            let product = product_key(ctx.conn, &product_id)?;
            let info = ctx
                .conn
                .query_row(
                    &format!(
                        "SELECT {CONTENT_COLS} FROM content c WHERE c.product = ?1 AND c.content_id = ?2"
                    ),
                    params![product, id],
                    content_from_row,
                )
                .optional()
                .map_err(sql("reading content"))?
                .ok_or_else(|| StoreError::NotFound(format!("content '{id}' not found")))?;
            ctx.conn
                .execute(
                    "DELETE FROM content WHERE product = ?1 AND content_id = ?2",
                    params![product, id],
                )
                .map_err(sql("deleting content"))?;
            Ok(info)
        })
    }

    fn content_files(&self) -> StoreFuture<Vec<String>> {
        self.query(|conn| {
            let mut stmt = conn
                .prepare("SELECT file FROM content")
                .map_err(sql("listing content files"))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql("listing content files"))?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &tempfile::TempDir, limit: u32) -> SqliteStore {
        SqliteStore::open(&dir.path().join("t.db"), limit).expect("open")
    }

    async fn device(s: &SqliteStore) -> i64 {
        s.ensure_product("p".into()).await.expect("product");
        s.add_device("p".into(), "d".into()).await.expect("device");
        match s.activate("p".into(), "d".into(), "t".repeat(40)).await {
            Ok(Activation::Activated(_)) => {}
            other => panic!("{other:?}"),
        }
        s.device_by_token("t".repeat(40))
            .await
            .expect("lookup")
            .expect("device")
            .id
    }

    #[tokio::test]
    async fn a_failing_job_stores_nothing_and_spoils_no_other_job() {
        let dir = tempfile::tempdir().expect("dir");
        let s = store(&dir, 10);
        let dev = device(&s).await;
        // Queue a good write, a job that writes then fails, and another good write, so
        // they likely share one group commit.
        let good1 = s.write(WriteRequest {
            device: dev,
            ts: 1,
            values: vec![("a".into(), "1".into())],
            create_aliases: true,
        });
        let bad = s.submit(move |ctx| {
            let r = writer_resource(ctx, dev, "b", true)?.map(|r| *r);
            let mut r = r.ok_or_else(|| StoreError::NotFound("b".into()))?;
            insert_point(ctx.conn, &mut r, 5, "half", 10)?;
            Err::<(), _>(StoreError::Conflict("fail after writing".into()))
        });
        let good2 = s.write(WriteRequest {
            device: dev,
            ts: 2,
            values: vec![("b".into(), "2".into())],
            create_aliases: true,
        });
        let (g1, b, g2) = tokio::join!(good1, bad, good2);
        assert!(g1.is_ok() && g2.is_ok());
        assert!(matches!(b, Err(StoreError::Conflict(_))));
        let latest = s
            .latest(dev, vec!["a".into(), "b".into()])
            .await
            .expect("read");
        assert_eq!(latest[0].as_ref().map(|p| p.value.as_str()), Some("1"));
        let hist = s.history(dev, "b".into(), 10).await.expect("history");
        assert_eq!(hist.len(), 1, "{hist:?}");
        assert_eq!(hist[0].value, "2");
    }

    #[tokio::test]
    async fn history_is_trimmed_to_the_bound_keeping_the_newest() {
        let dir = tempfile::tempdir().expect("dir");
        let s = store(&dir, 3);
        let dev = device(&s).await;
        for i in 0..50 {
            s.write(WriteRequest {
                device: dev,
                ts: i,
                values: vec![("x".into(), i.to_string())],
                create_aliases: true,
            })
            .await
            .expect("write");
        }
        let hist = s.history(dev, "x".into(), 1000).await.expect("history");
        assert!(hist.len() <= 3 + TRIM_SLACK as usize, "{}", hist.len());
        assert_eq!(hist[0].value, "49");
        // Reopening keeps the data and the counts stay consistent.
        drop(s);
        let s = store(&dir, 3);
        let hist = s.history(dev, "x".into(), 1).await.expect("history");
        assert_eq!(hist[0].value, "49");
    }

    #[tokio::test]
    async fn activation_states_and_unknown_identities() {
        let dir = tempfile::tempdir().expect("dir");
        let s = store(&dir, 10);
        s.ensure_product("p".into()).await.expect("product");
        let r = s.activate("p".into(), "nobody".into(), "x".into()).await;
        assert_eq!(r.expect("ok"), Activation::UnknownIdentity);
        let r = s.activate("nope".into(), "nobody".into(), "x".into()).await;
        assert_eq!(r.expect("ok"), Activation::UnknownIdentity);
        s.add_device("p".into(), "d".into()).await.expect("add");
        let r = s.activate("p".into(), "d".into(), "tok1".into()).await;
        assert_eq!(r.expect("ok"), Activation::Activated("tok1".into()));
        let r = s.activate("p".into(), "d".into(), "tok2".into()).await;
        assert_eq!(r.expect("ok"), Activation::NotEnabled);
        let d = s
            .enable_device("p".into(), "d".into())
            .await
            .expect("enable");
        assert!(d.enabled && !d.activated);
        assert!(s.device_by_token("tok1".into()).await.expect("q").is_none());
    }

    #[test]
    fn a_database_from_a_newer_hub_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        drop(SqliteStore::open(&path, 10).expect("open"));
        let conn = Connection::open(&path).expect("open raw");
        conn.execute_batch("PRAGMA user_version = 99").expect("set");
        drop(conn);
        match SqliteStore::open(&path, 10) {
            Err(StoreError::Open { message, .. }) => assert!(message.contains("newer")),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a newer schema"),
        }
    }
}
