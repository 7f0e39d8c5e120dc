// Package postgrestest makes throwaway PostgreSQL databases for tests: the
// one fixture of every module that tests against PostgreSQL.
//
// The server is the one KV_TEST_POSTGRES_URL names, else the local one
// (DefaultURL). Where no server answers, a test skips with the reason, or
// fails if KV_REQUIRE_POSTGRES=1 (as CI sets it, so that a missing server
// is never a silent pass).
//
// A test that wants a database of its own calls New (or TryNew, to go on
// without one); a test run that shares one database (its tests then
// isolate themselves, by schema or by names) calls ForRun from TestMain.
// Either way the database has a random name under the given prefix and is
// dropped at the end, ending any session still connected to it.
package postgrestest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
)

// DefaultURL is the server the tests use when KV_TEST_POSTGRES_URL is not
// set: the local one, user postgres, trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ErrNoServer is wrapped by the error of NewDatabase when no server
// answers (as opposed to one that answers but refuses the database).
var ErrNoServer = errors.New("no PostgreSQL server")

// ServerURL returns the server's connection string and, for messages,
// where it came from.
func ServerURL() (server, source string) {
	if u := os.Getenv("KV_TEST_POSTGRES_URL"); u != "" {
		return u, "KV_TEST_POSTGRES_URL"
	}
	return DefaultURL, "the local default server"
}

// Required reports whether KV_REQUIRE_POSTGRES=1: a missing server is then
// a failure rather than a skip.
func Required() bool { return os.Getenv("KV_REQUIRE_POSTGRES") == "1" }

// Database is a throwaway database.
type Database struct {
	// Name is the database's name: the prefix given, "_" and 12 random
	// hex digits.
	Name string
	// URL is a postgres:// URL for it (with the server's password, if it
	// has one).
	URL string
	// DSN is the same as a keyword/value connection string, to which
	// more settings can be appended (" search_path=x").
	DSN string
	// Server says, without any password, which server holds it.
	Server string
	// Version is the server's version (SHOW server_version).
	Version string

	admin *postgreskv.DB
}

// NewDatabase creates a database named prefix_<random> on the server
// ServerURL names. Its error says, without the password, why no database
// could be made; it wraps ErrNoServer when no server answers.
func NewDatabase(ctx context.Context, prefix string) (*Database, error) {
	server, source := ServerURL()
	admin, err := postgreskv.Open(ctx, server) // its errors never show the password
	if err != nil {
		return nil, fmt.Errorf("%w (%s: %w); set KV_TEST_POSTGRES_URL", ErrNoServer, source, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	d := &Database{Name: prefix + "_" + hex.EncodeToString(b), admin: admin}
	if _, err := admin.Pool().Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.Name}.Sanitize()); err != nil {
		admin.Close()
		return nil, fmt.Errorf("create database %s: %w", d.Name, err)
	}
	_ = admin.Pool().QueryRow(ctx, "SHOW server_version").Scan(&d.Version)
	cc := admin.Pool().Config().ConnConfig
	d.Server = fmt.Sprintf("%s:%d as %q (from %s)", cc.Host, cc.Port, cc.User, source)
	d.DSN = fmt.Sprintf("host=%s port=%d dbname=%s user=%s", cc.Host, cc.Port, d.Name, cc.User)
	u := url.URL{Scheme: "postgres", User: url.User(cc.User), Host: net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))), Path: "/" + d.Name}
	q := url.Values{}
	if strings.HasPrefix(cc.Host, "/") { // a Unix socket's directory
		u.Host = ""
		q.Set("host", cc.Host)
		q.Set("port", strconv.Itoa(int(cc.Port)))
	}
	if cc.TLSConfig == nil {
		d.DSN += " sslmode=disable"
		q.Set("sslmode", "disable")
	}
	if cc.Password != "" {
		d.DSN += " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(cc.Password) + "'"
		u.User = url.UserPassword(cc.User, cc.Password)
	}
	u.RawQuery = q.Encode()
	d.URL = u.String()
	return d, nil
}

// Exec runs sql on the server as the administrating connection (not in
// the database): ALTER DATABASE, CREATE ROLE and the like.
func (d *Database) Exec(ctx context.Context, sql string) error {
	_, err := d.admin.Pool().Exec(ctx, sql)
	return err
}

// Drop drops the database, ending any session still connected to it.
func (d *Database) Drop(ctx context.Context) error {
	defer d.admin.Close()
	if _, err := d.admin.Pool().Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{d.Name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", d.Name, err)
	}
	return nil
}

// New creates a database of tb's own (see NewDatabase), dropped when tb
// ends. Where no server answers it skips tb with the reason, or fails it
// if KV_REQUIRE_POSTGRES=1; any other error fails tb.
func New(tb testing.TB, prefix string) *Database {
	tb.Helper()
	d, skip := TryNew(tb, prefix)
	if d == nil {
		tb.Skipf("SKIP: %s", skip)
	}
	return d
}

// TryNew is New for a test that goes on without PostgreSQL: where no
// server answers it returns a nil Database and the reason instead of
// skipping tb (it still fails tb if KV_REQUIRE_POSTGRES=1).
func TryNew(tb testing.TB, prefix string) (*Database, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := NewDatabase(ctx, prefix)
	switch {
	case errors.Is(err, ErrNoServer) && Required():
		tb.Fatalf("KV_REQUIRE_POSTGRES=1 but %v", err)
	case errors.Is(err, ErrNoServer):
		return nil, err.Error()
	case err != nil:
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Drop(ctx); err != nil {
			tb.Error(err)
		}
	})
	return d, ""
}

// ForRun creates the database that a whole test run shares, for TestMain
// (prefix names it, and the run in messages). Where no server answers it
// prints why the run's PostgreSQL tests skip and returns a nil Database and
// that reason, for the tests to pass to Skip — or, if
// KV_REQUIRE_POSTGRES=1, an error, which TestMain reports as a failure. On
// success it prints which server and database the run uses; the caller
// drops the database after the run.
func ForRun(ctx context.Context, prefix string) (d *Database, skip string, err error) {
	d, err = NewDatabase(ctx, prefix)
	switch {
	case errors.Is(err, ErrNoServer) && Required():
		return nil, "", fmt.Errorf("KV_REQUIRE_POSTGRES=1 but %w", err)
	case errors.Is(err, ErrNoServer):
		fmt.Printf("%s: SKIP (PostgreSQL tests): %v\n", prefix, err)
		return nil, err.Error(), nil
	case err != nil:
		return nil, "", err
	}
	fmt.Printf("%s: PostgreSQL %s at %s, database %s\n", prefix, d.Version, d.Server, d.Name)
	return d, "", nil
}

// Skip skips tb with reason unless reason is "" (the reason ForRun
// returned).
func Skip(tb testing.TB, reason string) {
	tb.Helper()
	if reason != "" {
		tb.Skip(reason)
	}
}
