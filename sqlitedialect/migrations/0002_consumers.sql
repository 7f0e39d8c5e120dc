-- The stream's trim watermark: the highest seq Trim removed (0: none).
CREATE TABLE IF NOT EXISTS stream_meta (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    trimmed INTEGER NOT NULL
);
INSERT OR IGNORE INTO stream_meta (id, trimmed) VALUES (1, 0);

-- Named stream consumers and their committed positions (fenced by leases
-- named "kvstream/consumer/<name>").
CREATE TABLE IF NOT EXISTS consumers (
    name     TEXT    NOT NULL PRIMARY KEY,
    position INTEGER NOT NULL,
    updated  INTEGER NOT NULL
) WITHOUT ROWID;
