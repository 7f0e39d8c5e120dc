-- Records: one row per live (or expired, not yet swept) key of a namespace.
-- Times are INTEGER Unix microseconds UTC; expires is NULL for no expiry.
-- TEXT columns use the default BINARY collation: comparisons are memcmp.
CREATE TABLE IF NOT EXISTS records (
    namespace TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL DEFAULT '',
    created   INTEGER NOT NULL,
    updated   INTEGER NOT NULL,
    expires   INTEGER,
    value     TEXT    NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS records_by_type ON records (namespace, type, key);
CREATE INDEX IF NOT EXISTS records_by_expiry ON records (expires) WHERE expires IS NOT NULL;

-- The change stream: one row per committed change, appended in the same
-- transaction. seq increases in commit order (one writer per database).
CREATE TABLE IF NOT EXISTS stream (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    type      TEXT    NOT NULL DEFAULT '',
    value     TEXT,
    ts        INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS stream_by_namespace ON stream (namespace, seq);

-- Leases with fencing tokens (Batch.Fence now, kvlock later). A released
-- lease keeps its row and token, with owner '' and expires NULL.
CREATE TABLE IF NOT EXISTS leases (
    name    TEXT    NOT NULL PRIMARY KEY,
    owner   TEXT    NOT NULL,
    token   INTEGER NOT NULL,
    expires INTEGER
) WITHOUT ROWID;
