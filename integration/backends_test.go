package integration_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// place is where one test's data lives, in a form a child process can be
// given: a SQLite file, a schema of this run's PostgreSQL database, or an
// rqlite URL, and the kvcore namespace of the test's store.
type place struct {
	kind      string // "sqlite", "postgres" or "rqlite"
	where     string
	namespace string
}

// env is p as the environment of a child process.
func (p place) env() []string {
	return []string{envKind + "=" + p.kind, envWhere + "=" + p.where, envNamespace + "=" + p.namespace, envPGURL + "=" + pgURL}
}

// placeFromEnv is the place a parent gave its child.
func placeFromEnv() place {
	if u := os.Getenv(envPGURL); u != "" {
		pgURL = u
	}
	return place{kind: os.Getenv(envKind), where: os.Getenv(envWhere), namespace: os.Getenv(envNamespace)}
}

// Environment variables that pass a child its place.
const (
	envKind      = "KV_INT_KIND"
	envWhere     = "KV_INT_WHERE"
	envNamespace = "KV_INT_NAMESPACE"
	envPGURL     = "KV_INT_PG_URL"
)

// backendDB is what every backend's *DB offers that the tests use.
type backendDB interface {
	Init(context.Context) error
	Store(...kvcore.Option) (*kvcore.Store, error)
	Close() error
	streamdriver.Stream
}

// opened is an open database and a store on the place's namespace.
type opened struct {
	db    backendDB
	store *kvcore.Store
}

func (o *opened) close() {
	_ = o.store.Close()
	_ = o.db.Close()
}

// open opens and initialises the database at p.
func open(ctx context.Context, p place) (*opened, error) {
	var (
		db  backendDB
		err error
	)
	switch p.kind {
	case "sqlite":
		db, err = sqlitekv.Open(p.where, sqlitekv.WithSynchronous(sqlitekv.Normal))
	case "postgres":
		db, err = postgreskv.Open(ctx, pgURL, postgreskv.WithSchema(p.where))
	case "rqlite":
		db, err = rqlitekv.Open(p.where)
	default:
		err = fmt.Errorf("unknown backend %q", p.kind)
	}
	if err != nil {
		return nil, err
	}
	var store *kvcore.Store
	if err = db.Init(ctx); err == nil {
		store, err = db.Store(kvcore.WithSweepInterval(0), kvcore.WithNamespace(p.namespace))
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("%s %s: %w", p.kind, p.where, err)
	}
	return &opened{db: db, store: store}, nil
}

// openT opens p for t, closed when t ends.
func openT(t testing.TB, p place) *opened {
	t.Helper()
	o, err := open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.close)
	return o
}

// backend makes fresh places of one kind.
type backend struct {
	name     string
	newPlace func(t testing.TB) place
}

// backends are SQLite files, PostgreSQL schemas and rqlite namespaces.
var backends = []backend{
	{"sqlite", func(t testing.TB) place {
		return place{kind: "sqlite", where: filepath.Join(t.TempDir(), "kv.db")}
	}},
	{"postgres", func(t testing.TB) place {
		if pgSkip != "" {
			t.Skip(pgSkip)
		}
		return place{kind: "postgres", where: "t_" + randomName()}
	}},
	{"rqlite", func(t testing.TB) place {
		return place{kind: "rqlite", where: rqliteURL(t), namespace: "t_" + randomName()}
	}},
}

// forEachBackend runs test as a subtest per backend; the subtests run in
// parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel() // the backends share no database
			test(t, b)
		})
	}
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// The real rqlited, started once for the whole run and stopped at its end
// (tests keep apart by namespace).
var rqlited struct {
	once sync.Once
	node *rqlitetest.Node
	dir  string
	err  error
	bin  string
}

// rqliteURL returns the URL of a real rqlited when there is one, else of a
// new in-process stand-in for t, and says which.
func rqliteURL(t testing.TB) string {
	t.Helper()
	rqlited.once.Do(func() {
		if rqlited.bin, rqlited.err = rqlitetest.RqlitedPath(); rqlited.err != nil {
			return
		}
		if rqlited.dir, rqlited.err = os.MkdirTemp("", "kvint-rqlited-"); rqlited.err != nil {
			return
		}
		rqlited.node, rqlited.err = rqlitetest.StartNode(rqlited.bin, rqlited.dir, "kvint1", "")
	})
	if rqlited.node == nil {
		t.Logf("rqlite: rqlitetest, the in-process STAND-IN for rqlite (not a real rqlite): %v", rqlited.err)
		return rqlitetest.Start(t).URL
	}
	t.Logf("rqlite: a real rqlited (%s) at %s", rqlited.bin, rqlited.node.URL())
	return rqlited.node.URL()
}

// stopShared stops what the run shared: the real rqlited.
func stopShared() {
	if rqlited.node != nil {
		rqlited.node.Stop()
	}
	if rqlited.dir != "" {
		_ = os.RemoveAll(rqlited.dir)
	}
}
