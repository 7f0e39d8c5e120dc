package rqlitekv

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
)

// protocolCases are raw HTTP exchanges of the API subset rqlitetest
// serves. Against a real rqlite they show that the stand-in answers the
// same (TestStandInMatchesRqlite); on their own they pin its behaviour.
//
// ddl marks requests of DDL statements only: rqlite reports for them
// whatever sqlite3_changes() and sqlite3_last_insert_rowid() last said
// (stale numbers from an earlier write), rqlitetest 0, so those are not
// compared.
var protocolCases = []struct {
	name, method, path, body string
	ddl                      bool
}{
	{"drop", "POST", "/db/execute", `["DROP TABLE IF EXISTS proto_t", "DROP TABLE IF EXISTS proto_g", "DROP TABLE IF EXISTS proto_l"]`, true},
	{"create", "POST", "/db/execute", `["CREATE TABLE proto_t (id INTEGER PRIMARY KEY, name TEXT, b BLOB, r REAL, n)",
		"CREATE TABLE proto_g (failed CONSTRAINT proto_guard CHECK (failed IS NULL))",
		"CREATE TABLE proto_l (name TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, token INTEGER NOT NULL, expires INTEGER NOT NULL)"]`, true},
	{"tx rolls back at first error", "POST", "/db/execute?transaction", `[
		["INSERT INTO proto_t (name, b, r) VALUES (?, ?, ?)", "a", "x'0102'", 1.5],
		["INSERT INTO proto_t (name) VALUES (?)", "x'41'"],
		"INSERT INTO nope VALUES (1)",
		"INSERT INTO proto_t (name) VALUES ('never')"]`, false},
	{"nothing committed", "POST", "/db/query", `["SELECT * FROM proto_t"]`, false},
	{"no tx goes on after an error", "POST", "/db/execute", `[
		["INSERT INTO proto_t (name, b, r, n) VALUES (?, ?, ?, ?)", "a", "x'0102'", 1.5, 7],
		["INSERT INTO proto_t (name) VALUES (?)", "x'41'"],
		"INSERT INTO nope VALUES (1)",
		["INSERT INTO proto_t (name, b) VALUES (:name, :b)", {"name": "named", "b": [1, 2, 255]}]]`, false},
	{"types and values", "POST", "/db/query?level=weak", `["SELECT id, name, b, r, n, typeof(name), typeof(b), length(b), CAST(b AS TEXT) FROM proto_t ORDER BY id"]`, false},
	{"params", "POST", "/db/query", `[["SELECT ?, ?, typeof(?), typeof(?), ?, ?", 1, 1.5, 1, 2.0, "text", null]]`, false},
	{"get query", "GET", "/db/query?q=SELECT+count(*)+AS+c+FROM+proto_t", ``, false},
	{"write refused by query", "POST", "/db/query", `["INSERT INTO proto_t (name) VALUES ('q')"]`, false},
	{"syntax error", "POST", "/db/query", `["SELEC 1"]`, false},
	{"check constraint", "POST", "/db/execute?transaction", `[
		"INSERT INTO proto_t (name) VALUES ('guarded')",
		"INSERT INTO proto_g (failed) SELECT 1 WHERE 1 = 1"]`, false},
	{"request mixes reads and writes in one tx", "POST", "/db/request?transaction", `[
		["INSERT INTO proto_t (name) VALUES (?)", "req"],
		"SELECT count(*) FROM proto_t",
		"UPDATE proto_t SET r = 2.5 WHERE name = 'req' RETURNING id, r",
		"SELECT name FROM proto_t WHERE r = 2.5"]`, false},
	{"request tx rolls back", "POST", "/db/request?transaction", `[
		"DELETE FROM proto_t",
		"INSERT INTO proto_g (failed) VALUES (1)",
		"SELECT count(*) FROM proto_t"]`, false},
	{"still there", "POST", "/db/query", `["SELECT count(*) FROM proto_t"]`, false},
	// Group commit's shape: two callers' batches in one request; the
	// second's guard sees the first's write and fails, the results end
	// there and neither batch commits.
	{"two batches, the second's guard fails", "POST", "/db/request?transaction", `[
		["INSERT INTO proto_t (name) VALUES (?)", "batch1"],
		"SELECT count(*) FROM proto_t WHERE name = 'batch1'",
		["INSERT INTO proto_g (failed) SELECT ? WHERE (SELECT count(*) FROM proto_t WHERE name = 'batch1') > 0", 1],
		"INSERT INTO proto_t (name) VALUES ('batch2')"]`, false},
	{"neither batch committed", "POST", "/db/query", `["SELECT count(*) FROM proto_t WHERE name IN ('batch1', 'batch2')"]`, false},
	{"execute returning", "POST", "/db/execute", `["INSERT INTO proto_t (name) VALUES ('ret') RETURNING id, name"]`, false},
	{"empty result has columns", "POST", "/db/request", `["SELECT id, name FROM proto_t WHERE 0"]`, false},
	{"request: a statement that cannot be prepared does not abort the tx", "POST", "/db/request?transaction", `[
		"INSERT INTO proto_t (name) VALUES ('kept')",
		"INSERT INTO nope VALUES (1)",
		"SELECT count(*) FROM proto_t WHERE name = 'kept'"]`, false},
	{"and it was committed", "POST", "/db/query", `["SELECT count(*) FROM proto_t WHERE name = 'kept'"]`, false},
	// The shapes of the Locker's and Stream's requests: a conditional
	// upsert then a read of the row in one transaction, granted and
	// refused; an UPDATE that matches nothing; a LEFT JOIN of a one-row
	// table to a page that may be empty; multi-argument min/max.
	{"conditional upsert granted", "POST", "/db/request?transaction", `[
		["INSERT INTO proto_l (name, owner, token, expires) VALUES (CAST(? AS TEXT), CAST(? AS TEXT), 1, ?) ON CONFLICT (name) DO UPDATE SET token = CASE WHEN proto_l.owner <> '' AND proto_l.expires > ? THEN proto_l.token ELSE proto_l.token + 1 END, owner = excluded.owner, expires = excluded.expires WHERE proto_l.owner = excluded.owner OR proto_l.owner = '' OR proto_l.expires <= ?", "x'6c'", "a", 100, 10, 10],
		["SELECT owner, CAST(token AS TEXT), CAST(expires AS TEXT) FROM proto_l WHERE name = CAST(? AS TEXT)", "x'6c'"]]`, false},
	{"conditional upsert refused", "POST", "/db/request?transaction", `[
		["INSERT INTO proto_l (name, owner, token, expires) VALUES (CAST(? AS TEXT), CAST(? AS TEXT), 1, ?) ON CONFLICT (name) DO UPDATE SET token = proto_l.token + 1, owner = excluded.owner, expires = excluded.expires WHERE proto_l.owner = excluded.owner OR proto_l.expires <= ?", "x'6c'", "b", 200, 20],
		["SELECT owner, CAST(token AS TEXT), CAST(expires AS TEXT) FROM proto_l WHERE name = CAST(? AS TEXT)", "x'6c'"]]`, false},
	{"update matching nothing", "POST", "/db/request?transaction", `[
		["UPDATE proto_l SET owner = '', expires = 0 WHERE name = ? AND owner = ?", "x", "nobody"]]`, false},
	{"left join of a page", "POST", "/db/query?transaction", `[
		"SELECT CAST(m.c AS TEXT), CAST(s.id AS TEXT), s.name, s.b FROM (SELECT count(*) AS c FROM proto_l) AS m LEFT JOIN (SELECT id, name, b FROM proto_t WHERE id > 1 ORDER BY id LIMIT 2) AS s ON 1 ORDER BY s.id",
		"SELECT CAST(m.c AS TEXT), CAST(s.id AS TEXT), s.name, s.b FROM (SELECT count(*) AS c FROM proto_l) AS m LEFT JOIN (SELECT id, name, b FROM proto_t WHERE id > 1000 ORDER BY id LIMIT 2) AS s ON 1 ORDER BY s.id"]`, false},
	{"min and max of several", "POST", "/db/query", `[
		["SELECT max(1, min(?, coalesce((SELECT max(id) FROM proto_t), 0), coalesce((SELECT min(token) FROM proto_l WHERE 0), ?)))", 5, 7]]`, false},
	{"bad body", "POST", "/db/execute", `{"not": "an array"}`, false},
	{"cleanup", "POST", "/db/execute", `["DROP TABLE proto_t", "DROP TABLE proto_g", "DROP TABLE proto_l"]`, true},
}

type exchange struct {
	Status int
	Body   any
}

func doExchange(t *testing.T, base, method, path, body string) exchange {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	ex := exchange{Status: resp.StatusCode}
	if err := json.Unmarshal(b, &ex.Body); err != nil {
		ex.Body = strings.TrimSpace(string(b))
	}
	ex.Body = dropTimes(ex.Body)
	return ex
}

// dropTimes removes "time" members, which differ from run to run.
func dropTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		delete(x, "time")
		for k, e := range x {
			x[k] = dropTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = dropTimes(e)
		}
	}
	return v
}

// TestStandInMatchesRqlite sends the same requests to rqlitetest and to the
// real rqlite of this run, and requires the same answers.
func TestStandInMatchesRqlite(t *testing.T) {
	if serverKind == "rqlitetest" {
		t.Skip("no real rqlite in this run: " + noRqlited)
	}
	if serverKind == "env" {
		t.Skip("compares only against the rqlited these tests start (credentials of KV_TEST_RQLITE_URL are not sent)")
	}
	stand := rqlitetest.Start(t)
	for _, c := range protocolCases {
		real := doExchange(t, sharedURL, c.method, c.path, c.body)
		got := doExchange(t, stand.URL, c.method, c.path, c.body)
		if c.ddl {
			for _, k := range []string{"rows_affected", "last_insert_id"} {
				dropKey(real.Body, k)
				dropKey(got.Body, k)
			}
		}
		require.Equal(t, real, got, "%s: %s %s %s", c.name, c.method, c.path, c.body)
	}
}

func dropKey(v any, key string) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, key)
		for _, e := range x {
			dropKey(e, key)
		}
	case []any:
		for _, e := range x {
			dropKey(e, key)
		}
	}
}
