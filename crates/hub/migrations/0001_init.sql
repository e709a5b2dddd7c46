-- Products: a namespace of devices and content. vendor and model are both the product id on Murano.
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    product_id  TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

-- Device identities known to a product. token is NULL until activation.
CREATE TABLE devices (
    id              INTEGER PRIMARY KEY,
    product         INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    sn              TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    token           TEXT UNIQUE,
    created_at      INTEGER NOT NULL,
    activated_at    INTEGER,
    last_seen       INTEGER,
    UNIQUE (product, sn)
);

-- Resources (aliases) of a device.
CREATE TABLE resources (
    id          INTEGER PRIMARY KEY,
    device      INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    alias       TEXT NOT NULL,
    format      TEXT NOT NULL DEFAULT 'string',
    UNIQUE (device, alias)
);

-- Data points; history per resource is trimmed to a configured bound.
CREATE TABLE points (
    id          INTEGER PRIMARY KEY,
    resource    INTEGER NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
    ts          INTEGER NOT NULL,
    value       TEXT NOT NULL
);
CREATE INDEX points_by_resource ON points(resource, id);
CREATE INDEX points_by_resource_ts ON points(resource, ts, id);

-- Content area of a product; the bytes live in a file named after `file`.
CREATE TABLE content (
    id            INTEGER PRIMARY KEY,
    product       INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    content_id    TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    updated       INTEGER NOT NULL,
    meta          TEXT NOT NULL DEFAULT '',
    file          TEXT NOT NULL,
    UNIQUE (product, content_id)
);

-- Resources defined for every device of a product (spec apply); copied to devices as they are added.
CREATE TABLE product_resources (
    product     INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    alias       TEXT NOT NULL,
    format      TEXT NOT NULL,
    PRIMARY KEY (product, alias)
);
