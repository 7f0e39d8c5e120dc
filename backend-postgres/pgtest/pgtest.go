// Package pgtest makes throwaway PostgreSQL databases for the tests of the
// modules that test against PostgreSQL: a database of its own per test
// run, on the server KV_TEST_POSTGRES_URL names (else the local default,
// DefaultURL), dropped at the end of the run.
//
//	func TestMain(m *testing.M) {
//		db, err := pgtest.NewDatabase(ctx, "mytests")
//		if err != nil { ... skip the PostgreSQL tests, saying err ... }
//		code := m.Run()
//		db.Drop(ctx)
//		os.Exit(code)
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// DefaultURL is the server the tests use when KV_TEST_POSTGRES_URL is not
// set: the local one, user postgres, trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL returns the server's connection string and, for messages,
// where it came from.
func ServerURL() (url, source string) {
	if u := os.Getenv("KV_TEST_POSTGRES_URL"); u != "" {
		return u, "KV_TEST_POSTGRES_URL"
	}
	return DefaultURL, "the local default server"
}

// Database is a database made for one test run.
type Database struct {
	// Name is the database's name: the prefix given, "_" and 12 random
	// hex digits.
	Name string
	// URL is a keyword/value connection string for it.
	URL string
	// Server says, without any password, which server holds it.
	Server string

	admin *postgreskv.DB
}

// NewDatabase creates a database named prefix_<random> on the server
// ServerURL names. Its error says, without the password, why no database
// could be made (no server answering, say).
func NewDatabase(ctx context.Context, prefix string) (*Database, error) {
	url, source := ServerURL()
	admin, err := postgreskv.Open(ctx, url) // its errors never show the password
	if err != nil {
		return nil, fmt.Errorf("no PostgreSQL server (%s: %w); set KV_TEST_POSTGRES_URL", source, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	d := &Database{Name: prefix + "_" + hex.EncodeToString(b), admin: admin}
	if _, err := admin.Pool().Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.Name}.Sanitize()); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create database %s: %w", d.Name, err)
	}
	cc := admin.Pool().Config().ConnConfig
	d.Server = fmt.Sprintf("%s:%d (from %s)", cc.Host, cc.Port, source)
	d.URL = fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cc.Host, cc.Port, d.Name, cc.User)
	if cc.TLSConfig == nil {
		d.URL += " sslmode=disable"
	}
	if cc.Password != "" {
		d.URL += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cc.Password) + "'"
	}
	return d, nil
}

// Drop drops the database, ending any session still connected to it.
func (d *Database) Drop(ctx context.Context) error {
	defer d.admin.Close()
	if _, err := d.admin.Pool().Exec(ctx, "DROP DATABASE "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", d.Name, err)
	}
	return nil
}
