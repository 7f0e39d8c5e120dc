package rqlitetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rqlite/gorqlite"
	"github.com/stretchr/testify/require"
)

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var m map[string]any
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(b, &m), string(b))
	}
	return resp.StatusCode, m
}

func results(m map[string]any) []any { r, _ := m["results"].([]any); return r }

func TestTransactionIsAllOrNothing(t *testing.T) {
	s := Start(t)
	_, m := post(t, s.URL+"/db/execute", `["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"]`)
	require.Len(t, results(m), 1)

	code, m := post(t, s.URL+"/db/execute?transaction", `[["INSERT INTO t (v) VALUES (?)", "a"], "INSERT INTO nope VALUES (1)", "INSERT INTO t (v) VALUES ('b')"]`)
	require.Equal(t, 200, code)
	rs := results(m)
	require.Len(t, rs, 2, "the request ends at the failing statement")
	require.Equal(t, float64(1), rs[0].(map[string]any)["rows_affected"])
	require.Equal(t, "no such table: nope", rs[1].(map[string]any)["error"])
	_, m = post(t, s.URL+"/db/query", `["SELECT count(*) FROM t"]`)
	require.Equal(t, []any{[]any{float64(0)}}, results(m)[0].(map[string]any)["values"])

	// Without the flag each statement stands alone.
	_, m = post(t, s.URL+"/db/execute", `[["INSERT INTO t (v) VALUES (?)", "a"], "INSERT INTO nope VALUES (1)", "INSERT INTO t (v) VALUES ('b')"]`)
	require.Len(t, results(m), 3)
	_, m = post(t, s.URL+"/db/query?level=strong", `["SELECT count(*) AS n FROM t"]`)
	r0 := results(m)[0].(map[string]any)
	require.Equal(t, []any{"n"}, r0["columns"])
	require.Equal(t, []any{"integer"}, r0["types"])
	require.Equal(t, []any{[]any{float64(2)}}, r0["values"])
}

func TestParametersAsRqliteConvertsThem(t *testing.T) {
	s := Start(t)
	_, m := post(t, s.URL+"/db/query", `[["SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?), typeof(:n), CAST(? AS TEXT)", 1, 1.5, "x'41'", [65, 66], "text", {"n": null}, "X'4142'"]]`)
	r0 := results(m)[0].(map[string]any)
	require.Equal(t, []any{[]any{"integer", "real", "blob", "blob", "text", "null", "AB"}}, r0["values"])
}

func TestRequestReadsSeeWritesAndReturning(t *testing.T) {
	s := Start(t)
	post(t, s.URL+"/db/execute", `["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)"]`)
	_, m := post(t, s.URL+"/db/request?transaction&timings", `[
		["INSERT INTO t (v, b) VALUES (?, ?)", "a", [0, 255]],
		"SELECT v, b FROM t",
		"UPDATE t SET v = 'b' RETURNING id, v"]`)
	rs := results(m)
	require.Len(t, rs, 3)
	require.Equal(t, float64(1), rs[0].(map[string]any)["last_insert_id"])
	require.Contains(t, rs[0].(map[string]any), "time")
	require.Equal(t, []any{[]any{"a", "AP8="}}, rs[1].(map[string]any)["values"]) // a BLOB column: base64
	require.Equal(t, []any{[]any{float64(1), "b"}}, rs[2].(map[string]any)["values"])
	require.Contains(t, m, "time")

	// /db/query refuses writes with rqlite's message.
	_, m = post(t, s.URL+"/db/query", `["DELETE FROM t"]`)
	require.Equal(t, "attempt to change database via query operation", results(m)[0].(map[string]any)["error"])

	// A request that cannot be parsed is a 400.
	code, _ := post(t, s.URL+"/db/request", `{"a":1}`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = post(t, s.URL+"/db/request", `[]`)
	require.Equal(t, http.StatusBadRequest, code)
}

func TestBasicAuth(t *testing.T) {
	s := Start(t, WithBasicAuth("admin", "secret"))
	code, _ := post(t, s.URL+"/db/query", `["SELECT 1"]`)
	require.Equal(t, http.StatusUnauthorized, code)
	u := strings.Replace(s.URL, "http://", "http://admin:secret@", 1)
	code, _ = post(t, u+"/db/query", `["SELECT 1"]`)
	require.Equal(t, http.StatusOK, code)
	code, _ = post(t, strings.Replace(s.URL, "http://", "http://admin:nope@", 1)+"/db/query", `["SELECT 1"]`)
	require.Equal(t, http.StatusUnauthorized, code)
}

// TestGorqlite drives the server through gorqlite with cluster discovery
// (which reads /status and /nodes), as package rqlitekv does.
func TestGorqlite(t *testing.T) {
	s := Start(t, WithBasicAuth("u", "p"))
	conn, err := gorqlite.Open(strings.Replace(s.URL, "http://", "http://u:p@", 1) + "/?level=linearizable")
	require.NoError(t, err)
	defer conn.Close()
	leader, err := conn.Leader()
	require.NoError(t, err)
	require.Equal(t, strings.TrimPrefix(s.URL, "http://"), leader)
	peers, err := conn.Peers()
	require.NoError(t, err)
	require.Equal(t, []string{leader}, peers)

	_, err = conn.WriteOne("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER)")
	require.NoError(t, err)
	wr, err := conn.WriteParameterized([]gorqlite.ParameterizedStatement{
		{Query: "INSERT INTO t VALUES (?, ?)", Arguments: []any{"a", 1}},
		{Query: "INSERT INTO t VALUES (?, ?)", Arguments: []any{"a", 2}},
	})
	require.Error(t, err)
	require.Len(t, wr, 2)
	require.ErrorContains(t, wr[1].Err, "UNIQUE constraint failed: t.k")

	rr, err := conn.RequestParameterized([]gorqlite.ParameterizedStatement{
		{Query: "INSERT INTO t VALUES (?, ?)", Arguments: []any{"b", 2}},
		{Query: "SELECT k, n FROM t ORDER BY k"},
	})
	require.NoError(t, err)
	require.NotNil(t, rr[0].Write)
	require.Equal(t, int64(1), rr[0].Write.RowsAffected)
	require.NotNil(t, rr[1].Query)
	require.Equal(t, int64(1), rr[1].Query.NumRows(), "the failed transaction wrote nothing")
	before := s.Stats()
	qr, err := conn.QueryOne("SELECT count(*) FROM t")
	require.NoError(t, err)
	require.True(t, qr.Next())
	var n int64
	require.NoError(t, qr.Scan(&n))
	require.Equal(t, int64(1), n)
	require.Equal(t, before.Query+1, s.Stats().Query)
}

func TestStatusAndNodes(t *testing.T) {
	s := Start(t)
	resp, err := http.Get(s.URL + "/nodes")
	require.NoError(t, err)
	var nodes map[string]map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&nodes))
	resp.Body.Close()
	require.Equal(t, s.URL, nodes["rqlitetest"]["api_addr"])
	require.Equal(t, true, nodes["rqlitetest"]["leader"])
	resp, err = http.Get(s.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	s.Close()
	s.Close()
}

// TestRequestPrepareErrorGoesOn pins an rqlite behaviour the driver must
// live with: on /db/request a statement that cannot be prepared gets an
// error result, but the transaction goes on and commits the others.
func TestRequestPrepareErrorGoesOn(t *testing.T) {
	s := Start(t)
	post(t, s.URL+"/db/execute", `["CREATE TABLE t (v TEXT)"]`)
	_, m := post(t, s.URL+"/db/request?transaction", `["INSERT INTO t VALUES ('a')", "INSERT INTO nope VALUES (1)", "SELECT count(*) FROM t"]`)
	rs := results(m)
	require.Len(t, rs, 3)
	require.Equal(t, "no such table: nope", rs[1].(map[string]any)["error"])
	require.Equal(t, []any{[]any{float64(1)}}, rs[2].(map[string]any)["values"])
	_, m = post(t, s.URL+"/db/query", `["SELECT count(*) FROM t"]`)
	require.Equal(t, []any{[]any{float64(1)}}, results(m)[0].(map[string]any)["values"])
}

// TestChangesSeesThePreviousStatement: on /db/request, changes() reads the
// rows the statement before it changed, as on rqlite (the stand-in's
// read-only check must not disturb it).
func TestChangesSeesThePreviousStatement(t *testing.T) {
	s := Start(t)
	_, m := post(t, s.URL+"/db/execute", `["CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)", "CREATE TABLE c (n INTEGER)"]`)
	require.Len(t, results(m), 2)
	code, m := post(t, s.URL+"/db/request?transaction", `[
		["INSERT INTO t (k, v) VALUES ('a', 1), ('b', 1)"],
		["UPDATE t SET v = 2"],
		["INSERT INTO c (n) VALUES (changes())"],
		["DELETE FROM t WHERE k = 'a'"],
		["INSERT INTO c (n) VALUES (changes())"],
		["SELECT n FROM c ORDER BY rowid"]]`)
	require.Equal(t, 200, code)
	rs := results(m)
	require.Len(t, rs, 6)
	require.Equal(t, []any{[]any{float64(2)}, []any{float64(1)}}, rs[5].(map[string]any)["values"])
}
