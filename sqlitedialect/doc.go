// Package sqlitedialect is the SQL that kv's SQLite and rqlite backends
// share. Both run SQLite, so both keep one schema and build the statements
// that are the same for both here; each backend keeps what is its own
// (its connection; the SQLite backend's writer goroutine and transactions,
// the rqlite backend's one request per call with its guard table and
// request log; group commit). The package imports no database driver.
//
// # The schema
//
// The schema is the numbered migration files in migrations/ (Migrations):
// NNNN_name.sql, applied in version order, each recorded in the table
// schema_migrations (version, name, applied) in the transaction that
// applies it. Versions may leave gaps. The two backends record their
// histories so:
//
//   - the SQLite backend applies every file and records its version and
//     name: 1 to 6, then 9, then every later one;
//   - the rqlite backend has its own steps 1 to 8 (backend-rqlite's
//     migrate.go: the same tables with some definitions of their own, plus
//     its guard and request_log tables) and its step 9, which converts its
//     tables into this schema. From Converged (9) on it applies every
//     file after 9, recorded with the same version and name.
//
// So from version 9 on, the same version means the same schema in both
// (rqlite's guard and request_log aside). A new migration is one new file
// here, numbered after the newest; both backends apply it. Never edit a
// file that has shipped. A file may create triggers (Statements keeps a
// trigger's body whole): 0010_put_op makes a put one short statement, an
// insert into the view put_op whose trigger does the work, which the rqlite
// backend sends (its requests pay for every byte of SQL). A later
// migration that rebuilds records or stream (create, copy, drop, rename)
// must drop the view first and create it again after: SQLite's ALTER TABLE
// RENAME rewrites the trigger's references to the renamed table.
//
// # The statements
//
// A Dialect writes a statement for one backend: the backends differ only
// in how a text parameter travels (see Dialect). SQLite is the SQLite
// backend's; the rqlite backend makes its own with CastText and its
// BLOB-literal escaping.
package sqlitedialect
