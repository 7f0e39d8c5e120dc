package integration_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	rqlitekv "github.com/kvsuite/kv/backend-rqlite"
	sqlitekv "github.com/kvsuite/kv/backend-sqlite"
	"github.com/kvsuite/kv/sqlitedialect"
)

// TestSQLiteAndRqliteShareOneSchema: a database that the SQLite backend's
// Init made and one that the rqlite backend's Init made have the same
// schema (sqlite_master, normalised), but for rqlite's own tables guard
// and request_log, and the same schema version.
func TestSQLiteAndRqliteShareOneSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kv.db")
	sdb, err := sqlitekv.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.Init(ctx); err != nil {
		t.Fatal(err)
	}
	sv, _, err := sdb.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sdb.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(sqlitedialect.SchemaQuery)
	if err != nil {
		t.Fatal(err)
	}
	var sqliteSchema []string
	for rows.Next() {
		var typ, name, stmt string
		if err := rows.Scan(&typ, &name, &stmt); err != nil {
			t.Fatal(err)
		}
		sqliteSchema = append(sqliteSchema, typ+" "+name+": "+sqlitedialect.Normalize(stmt))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	u := rqliteURL(t)
	rdb, err := rqlitekv.Open(u)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Init(ctx); err != nil {
		t.Fatal(err)
	}
	rv, _, err := rdb.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rqliteSchema []string
	for _, row := range rqliteQuery(t, u, sqlitedialect.SchemaQuery) {
		if name := fmt.Sprint(row[1]); name == "guard" || name == "request_log" {
			continue
		}
		stmt, _ := row[2].(string)
		rqliteSchema = append(rqliteSchema, fmt.Sprint(row[0])+" "+fmt.Sprint(row[1])+": "+sqlitedialect.Normalize(stmt))
	}
	if got, want := strings.Join(rqliteSchema, "\n"), strings.Join(sqliteSchema, "\n"); got != want {
		t.Errorf("rqlite's schema:\n%s\nSQLite's:\n%s", got, want)
	}
	if sv != rv {
		t.Errorf("schema version: SQLite %d, rqlite %d", sv, rv)
	}
}

// rqliteQuery runs q on the rqlite node at u and returns its rows.
func rqliteQuery(t *testing.T, u, q string) [][]any {
	t.Helper()
	resp, err := http.Get(u + "/db/query?level=strong&q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Results []struct {
			Values [][]any `json:"values"`
			Error  string  `json:"error"`
		} `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Results) != 1 || body.Results[0].Error != "" {
		t.Fatalf("rqlite query: %+v", body)
	}
	return body.Results[0].Values
}
