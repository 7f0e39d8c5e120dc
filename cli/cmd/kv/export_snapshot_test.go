package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kvsuite/kv/backend-postgres/postgrestest"
	"github.com/kvsuite/kv/backend-rqlite/rqlitetest"
	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

// exportBackend is a store kv can export from: its type and --connection.
type exportBackend struct {
	typ, conn string
}

// exportBackends returns an empty store of each backend: a SQLite file,
// a PostgreSQL database (left out with a reason if there is no server), the
// rqlite stand-in and, where an rqlited binary is found
// (rqlitetest.RqlitedPath), a real rqlited.
func exportBackends(t testing.TB) []exportBackend {
	t.Helper()
	sqlite, _ := newDB(t)
	out := []exportBackend{{"sqlite", sqlite}}
	if pg, why := postgrestest.TryNew(t, "kv_test"); pg != nil {
		out = append(out, exportBackend{"postgres", "--connection=" + pg.URL})
	} else {
		t.Log("the PostgreSQL case does not run: " + why)
	}
	t.Log("rqlite: rqlitetest, the in-process stand-in for an rqlite server")
	out = append(out, exportBackend{"rqlite", "--connection=" + rqlitetest.Start(t).URL})
	if _, err := rqlitetest.RqlitedPath(); err == nil || rqlitetest.Required() {
		out = append(out, exportBackend{"rqlite", "--connection=" + rqlitetest.StartRqlited(t).URL()})
	} else {
		t.Logf("no real rqlited case: %v", err)
	}
	return out
}

// exportLines is an export taken apart.
type exportLines struct {
	header  headerLine
	records map[string]json.RawMessage // by namespace "/" key
	trailer bool
}

func parseExport(t *testing.T, out string) exportLines {
	t.Helper()
	e := exportLines{records: map[string]json.RawMessage{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for i := 0; sc.Scan(); i++ {
		var l struct {
			Kind      string
			Namespace string
			Key       string
			Value     json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d %q: %v", i+1, sc.Text(), err)
		}
		switch l.Kind {
		case kindHeader:
			if err := json.Unmarshal(sc.Bytes(), &e.header); err != nil {
				t.Fatal(err)
			}
		case kindRecord:
			e.records[l.Namespace+"/"+l.Key] = l.Value
		case kindTrailer:
			e.trailer = true
		}
	}
	return e
}

// TestExportSnapshotUnderWrites runs kv export on every backend while a
// writer changes a set of keys and creates another in one MutateAll per
// round: every export that ends with a trailer holds whole rounds only,
// the set and the created sets of the same rounds, and its header's
// stream_seq counts exactly their changes (at least them, where it says it
// is not exact). On rqlite an export may fail instead, saying that the
// store changed; what it wrote then has no trailer, and kv import refuses
// it.
func TestExportSnapshotUnderWrites(t *testing.T) {
	const set, rounds = 6, 100
	for _, be := range exportBackends(t) {
		t.Run(be.typ, func(t *testing.T) {
			ctx := context.Background()
			conn := strings.TrimPrefix(be.conn, "--connection=")
			b, err := open.Open(ctx, open.Config{Type: be.typ, Connection: conn})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if err := b.Store.Init(ctx); err != nil {
				t.Fatal(err)
			}
			base := exportOK(t, be, "export").header.StreamSeq
			var (
				done  atomic.Int64
				wg    sync.WaitGroup
				werr  error
				typed = []string{"--type", be.typ, be.conn}
			)
			wg.Go(func() {
				for r := int64(1); r <= rounds; r++ {
					var ms []kvcore.Mutation
					for i := range set {
						ms = append(ms, kvcore.Put(fmt.Sprintf("set/%d", i), -1, r), kvcore.Put(fmt.Sprintf("round/%04d/%d", r, i), 0, r))
					}
					if _, err := b.Store.MutateAll(ctx, ms...); err != nil {
						werr = err
						return
					}
					done.Store(r)
				}
			})
			good, refused, during := 0, 0, 0
			for i := 0; i < 200 && (i < 5 || done.Load() < rounds); i++ {
				before := done.Load()
				r := kv(t, "", append([]string{"export"}, typed...)...)
				if before < rounds && done.Load() > before {
					during++
				}
				e := parseExport(t, r.stdout)
				if r.code != 0 {
					if be.typ != "rqlite" || !strings.Contains(r.stderr, "changed while the snapshot was read") || e.trailer {
						t.Fatalf("export: exit %d stderr %s", r.code, r.stderr)
					}
					refused++
					if ri := kv(t, r.stdout, append([]string{"import", "--dry-run"}, typed...)...); ri.code != 1 || !strings.Contains(ri.stderr, "no trailer line") {
						t.Errorf("import of a refused export: exit %d stderr %s", ri.code, ri.stderr)
					}
					continue
				}
				good++
				checkRounds(t, e, set, base)
			}
			wg.Wait()
			if werr != nil {
				t.Fatal(werr)
			}
			checkRounds(t, exportOK(t, be, "export"), set, base)
			t.Logf("%d exports (%d of them while a round was written), %d refused as changed", good+refused, during, refused)
		})
	}
}

// exportOK runs kv export on be and returns it, failing unless it worked.
func exportOK(t *testing.T, be exportBackend, args ...string) exportLines {
	t.Helper()
	e := parseExport(t, mustKV(t, "", append(args, "--type", be.typ, be.conn)...))
	if !e.trailer {
		t.Fatal("the export has no trailer")
	}
	return e
}

// checkRounds checks an export of testExportSnapshotUnderWrites' writer.
func checkRounds(t *testing.T, e exportLines, set int, base int64) {
	t.Helper()
	var round int64
	if v, ok := e.records["/set/0"]; ok {
		if err := json.Unmarshal(v, &round); err != nil {
			t.Fatal(err)
		}
	}
	for i := range set {
		if v := e.records[fmt.Sprintf("/set/%d", i)]; round > 0 && string(v) != fmt.Sprint(round) {
			t.Fatalf("set/%d is %s, set/0 is %d: the export mixes rounds", i, v, round)
		}
	}
	created := 0
	for k := range e.records {
		if strings.HasPrefix(k, "/round/") {
			var r int64
			fmt.Sscanf(k, "/round/%04d/", &r)
			if r > round {
				t.Fatalf("%s is of a round after %d, the set's", k, round)
			}
			created++
		}
	}
	if created != int(round)*set {
		t.Fatalf("%d created records, want %d (rounds 1 to %d)", created, int(round)*set, round)
	}
	want := base + round*int64(2*set)
	if seq := e.header.StreamSeq; seq != want && (e.header.StreamSeqExact || seq > want) {
		t.Fatalf("header stream_seq %d (exact %v), want %d: the changes of %d rounds", seq, e.header.StreamSeqExact, want, round)
	}
}

// TestImportRefusesCutOrEditedExport: an export cut short anywhere (at
// every line end and inside every line), with any line edited, dropped,
// repeated or added, or with its trailer changed, is refused by kv import
// (from a file or stdin, with or without --dry-run) before anything is
// written; the export itself, and an export of format version 1 (no
// trailer: imported with a warning), are imported.
func TestImportRefusesCutOrEditedExport(t *testing.T) {
	src, _ := newDB(t)
	fillExport(t, src)
	good := mustKV(t, "", "export", "--all", "--namespace", "", "--namespace", "other", src)
	lines := strings.SplitAfter(good, "\n")
	lines = lines[:len(lines)-1] // the last split is empty
	body := strings.Join(lines[:len(lines)-1], "")
	bad := map[string]string{
		"no trailer":          body,
		"trailer line count":  body + strings.Replace(lines[len(lines)-1], `"lines":`, `"lines":1`, 1),
		"trailer checksum":    body + strings.Replace(lines[len(lines)-1], `"sha256":"`, `"sha256":"0`, 1),
		"trailer unknown key": body + strings.Replace(lines[len(lines)-1], `"kind"`, `"extra":1,"kind"`, 1),
		"line after trailer":  good + lines[1],
		"line dropped":        strings.Replace(good, lines[2], "", 1),
		"line repeated":       strings.Replace(good, lines[2], lines[2]+lines[2], 1),
		"blank line added":    strings.Replace(good, lines[2], lines[2]+"\n", 1),
		"CRLF":                strings.ReplaceAll(body, "\n", "\r\n") + lines[len(lines)-1],
	}
	offset := 0
	for i, l := range lines {
		bad[fmt.Sprintf("cut after line %d", i)] = good[:offset+len(l)-1] // without its newline
		bad[fmt.Sprintf("cut inside line %d", i+1)] = good[:offset+len(l)/2]
		if i < len(lines)-1 && i > 0 {
			// Edit a value, a key or a field: one character.
			edited := strings.Replace(l, `:1`, `:2`, 1)
			if edited == l {
				edited = strings.Replace(l, `"k`, `"K`, 1)
			}
			if edited != l {
				bad[fmt.Sprintf("line %d edited", i+1)] = good[:offset] + edited + good[offset+len(l):]
			}
		}
		offset += len(l)
	}
	delete(bad, fmt.Sprintf("cut after line %d", len(lines)-1)) // that is the whole export, less its last newline
	dir := t.TempDir()
	for name, in := range bad {
		dst, _ := newDB(t)
		mustKV(t, "", "init", dst)
		file := filepath.Join(dir, "in.jsonl")
		if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, run := range []struct {
			stdin string
			args  []string
		}{{in, []string{"import"}}, {"", []string{"import", file}}, {in, []string{"import", "--dry-run"}}} {
			r := kv(t, run.stdin, append(run.args, dst)...)
			if r.code != 1 || !strings.Contains(r.stderr, "not a valid kv export") || r.stdout != "" {
				t.Errorf("%s: kv %q: exit %d stdout %q stderr %q", name, run.args, r.code, r.stdout, r.stderr)
			}
		}
		if out := mustKV(t, "", "export", "--all", dst); strings.Count(out, "\n") != 2 {
			t.Errorf("%s: a refused import wrote:\n%s", name, out)
		}
	}
	t.Logf("%d cut or edited exports refused", len(bad))

	dst, _ := newDB(t)
	if got := mustKV(t, good, "import", dst); !strings.Contains(got, `"records":8`) {
		t.Errorf("import of the export: %s", got)
	}
	// Version 1: no trailer, imported with a warning.
	v1 := strings.Replace(body, `"version":2`, `"version":1`, 1)
	dst, _ = newDB(t)
	r := kv(t, v1, "import", dst)
	if r.code != 0 || !strings.Contains(r.stdout, `"records":8`) || !strings.Contains(r.stderr, "kv: import: warning: stdin is a version 1 export, which has no trailer") {
		t.Errorf("import of a version 1 export: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestImportIntoNamespace: with --namespace (or KV_NAMESPACE), kv import
// puts every record of an export of one namespace into the namespace
// named; an export of several namespaces, or --namespace given twice, is
// refused and changes nothing.
func TestImportIntoNamespace(t *testing.T) {
	src, _ := newDB(t)
	fillExport(t, src)
	orders := mustKV(t, "", "export", "--namespace", "", src)
	several := mustKV(t, "", "export", src)
	dst, _ := newDB(t)
	mustKV(t, "", "init", dst)
	if got := mustKV(t, orders, "import", "--namespace", "copy", dst); !strings.Contains(got, `"records":3`) {
		t.Fatalf("import --namespace copy: %s", got)
	}
	if got := mustKV(t, "", "count", "all", "--namespace", "copy", dst); got != "3\n" {
		t.Errorf("count in copy: %s", got)
	}
	if got := mustKV(t, "", "count", "all", dst); got != "0\n" {
		t.Errorf("count in the default namespace: %s", got)
	}
	// The records are as exported, in their new namespace.
	a := records(t, mustKV(t, "", "get", "key", "a", "--namespace", "copy", dst))
	if len(a) != 1 || a[0].Version != 2 || a[0].Type != "User" || string(a[0].Value) != `{"n":2}` {
		t.Errorf("a in copy: %+v", a)
	}
	// KV_NAMESPACE does the same.
	t.Setenv("KV_NAMESPACE", "copy2")
	mustKV(t, orders, "import", dst)
	t.Setenv("KV_NAMESPACE", "")
	if got := mustKV(t, "", "count", "all", "--namespace", "copy2", dst); got != "3\n" {
		t.Errorf("count in copy2: %s", got)
	}
	before := mustKV(t, "", "export", dst)
	for _, tt := range []struct {
		in   string
		args []string
		code int
		want string
	}{
		{several, []string{"import", "--namespace", "x"}, 1, `a record of namespace kvgraph after records of namespace ""`},
		{orders, []string{"import", "--namespace", "x", "--namespace", "y"}, 2, "--namespace given 2 times: import takes one namespace"},
		{orders, []string{"import", "--namespace", "copy"}, 1, `key "a" exists in namespace "copy"`},
	} {
		r := kv(t, tt.in, append(tt.args, dst)...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("kv %q: exit %d stderr %q, want %d and %q", tt.args, r.code, r.stderr, tt.code, tt.want)
		}
	}
	if after := mustKV(t, "", "export", dst); untrailedBody(t, after) != untrailedBody(t, before) {
		t.Errorf("a refused import changed the store")
	}
}

// untrailedBody is an export without its header and trailer.
func untrailedBody(t *testing.T, out string) string {
	t.Helper()
	_, body, _ := strings.Cut(untrailed(t, out), "\n")
	return body
}

// TestImportRefusesLoneSurrogates: a \u escape of half a UTF-16 surrogate
// pair in any text field of an import line (a key, a namespace, a type, a
// consumer, task or schedule name, a task id or unique key, a template's
// name) is refused with its line number, since Go would decode it as
// U+FFFD; a whole pair, an escaped backslash before "ud800", and a record
// value or task payload (kept byte for byte) are not.
func TestImportRefusesLoneSurrogates(t *testing.T) {
	rec := func(ns, key, typ string) string {
		return `{"kind":"record","namespace":"` + ns + `","key":"` + key + `","version":1,"value":1,"type":"` + typ + `","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`
	}
	task := func(id, name, unique string) string {
		return `{"kind":"task","id":"` + id + `","name":"` + name + `","payload":null,"status":"pending","priority":0,"unique_key":"` + unique + `","scheduled_for":"2031-01-01T00:00:00Z","max_retries":0,"timeout_seconds":0}`
	}
	for _, bad := range []string{`\ud800`, `\uDBFF`, `\udc00`, `a\ud800b`, `\ud800\u0041`, `\ud800\ud800`, `x\udfff`} {
		for field, line := range map[string]string{
			"key":        rec("", bad, ""),
			"namespace":  rec(bad, "k", ""),
			"type":       rec("", "k", bad),
			"name":       `{"kind":"consumer","name":"` + bad + `","position":1}`,
			"id":         task(bad, "echo", ""),
			"unique_key": task("t", "echo", bad),
			"template":   `{"kind":"schedule","name":"s","spec":"@hourly","template":{"name":"` + bad + `","payload":null,"priority":0,"unique_key":"","max_retries":0,"timeout_seconds":0}}`,
		} {
			dst, _ := newDB(t)
			mustKV(t, "", "init", dst)
			r := kv(t, importOf(1, line), "import", dst)
			want := fmt.Sprintf(`stdin line 3: not a valid kv export: %q holds a \u escape of half a UTF-16 surrogate pair`, field)
			if field == "template" {
				want = `stdin line 3: not a valid kv export: template: "name" holds a \u escape of half a UTF-16 surrogate pair`
			}
			if r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("%s %s: exit %d stderr %q, want %q", field, bad, r.code, r.stderr, want)
			}
			if out := mustKV(t, "", "export", "--all", dst); strings.Count(out, "\n") != 2 {
				t.Errorf("%s %s: the refused import wrote:\n%s", field, bad, out)
			}
		}
	}
	dst, _ := newDB(t)
	ok := importOf(0, rec("", `\ud83d\ude00`, ""), rec("", `a\\ud800`, ""),
		`{"kind":"record","namespace":"","key":"v","version":1,"value":{"s":"\ud800"},"type":"","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","expires":null}`,
		`{"kind":"task","id":"t","name":"echo","payload":"\udc00","status":"pending","priority":0,"unique_key":"","scheduled_for":"2031-01-01T00:00:00Z","max_retries":0,"timeout_seconds":0}`)
	if got := mustKV(t, ok, "import", dst); !strings.Contains(got, `"records":3`) {
		t.Fatalf("import: %s", got)
	}
	for key, want := range map[string]string{"\U0001F600": `1`, `a\ud800`: `1`, "v": `{"s":"\ud800"}`} {
		rs := records(t, mustKV(t, "", "get", "key", dst, "--", key))
		if len(rs) != 1 || string(rs[0].Value) != want {
			t.Errorf("get %q: %+v, want value %s", key, rs, want)
		}
	}
}
