// Package sqlitedialect is the SQL that kv's SQLite and rqlite backends
// share: both run SQLite, so both keep one schema and build their
// statements here. It imports no database driver; each backend runs the
// statements its own way (the SQLite backend through database/sql in its
// writer's transactions, the rqlite backend as one HTTP request per call).
package sqlitedialect
