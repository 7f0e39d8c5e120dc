package open

import "errors"

// ErrNoConnection: the connection string is empty. Only SQLite has a
// default one (a file in the current directory); PostgreSQL and rqlite
// need to be told where their server is.
var ErrNoConnection = errors.New("connection string is empty")

// exampleConnection is a connection string of each type, for errors that
// say what to give.
var exampleConnection = map[string]string{
	"sqlite":   "file:data.db?mode=rwc",
	"postgres": "postgres://user@localhost:5432/dbname?sslmode=disable",
	"rqlite":   "http://localhost:4001",
}
