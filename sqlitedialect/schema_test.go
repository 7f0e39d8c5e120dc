package sqlitedialect

import (
	"strings"
	"testing"
)

// TestMigrations: the embedded files load in increasing versions, from 1,
// up to and past Converged, and each splits into statements without
// comments.
func TestMigrations(t *testing.T) {
	ms := Migrations()
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatalf("migrations %v: want them from version 1", ms)
	}
	if last := ms[len(ms)-1].Version; last < Converged {
		t.Errorf("newest migration %d is before Converged (%d)", last, Converged)
	}
	for i, m := range ms {
		if i > 0 && m.Version <= ms[i-1].Version {
			t.Errorf("%s after %s: versions must increase", m.Name, ms[i-1].Name)
		}
		stmts := m.Statements()
		if len(stmts) == 0 {
			t.Errorf("%s: no statement", m.Name)
		}
		for _, s := range stmts {
			if strings.Contains(s, "--") || strings.HasSuffix(s, ";") || s == "" {
				t.Errorf("%s: statement %q", m.Name, s)
			}
		}
	}
	ms[0].Name = "changed"
	if Migrations()[0].Name == "changed" {
		t.Error("Migrations returns the package's own slice")
	}
}

// TestStatements: semicolons inside quotes and comments do not split.
func TestStatements(t *testing.T) {
	m := Migration{SQL: "-- a comment; not a statement\nCREATE TABLE t (a TEXT DEFAULT ';'); -- x;\nINSERT INTO t VALUES ('it''s; fine');\n"}
	got := m.Statements()
	want := []string{"CREATE TABLE t (a TEXT DEFAULT ';')", "INSERT INTO t VALUES ('it''s; fine')"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("statements %q, want %q", got, want)
	}
}

// TestStatementsTrigger: a CREATE TRIGGER is one statement, its body's
// semicolons and a CASE's END included.
func TestStatementsTrigger(t *testing.T) {
	m := Migration{SQL: `CREATE TABLE t (a);
CREATE TRIGGER IF NOT EXISTS t_in INSTEAD OF INSERT ON v BEGIN
  SELECT RAISE(ABORT, 'no; never') WHERE NEW.a < 0;
  INSERT INTO t VALUES (CASE WHEN NEW.a > 1 THEN 1 ELSE 0 END);
  UPDATE t SET a = CASE WHEN a > 2 THEN 2 ELSE a END;
END;
create trigger t_up after update on t begin delete from t where a = 9; end;
INSERT INTO t VALUES ('begin; end');
`}
	got := m.Statements()
	if len(got) != 4 {
		t.Fatalf("%d statements %q, want 4", len(got), got)
	}
	if !strings.HasPrefix(got[1], "CREATE TRIGGER") || !strings.HasSuffix(got[1], "END") || strings.Count(got[1], ";") != 4 { // three ends and a quoted one
		t.Errorf("trigger %q", got[1])
	}
	if got[2] != "create trigger t_up after update on t begin delete from t where a = 9; end" {
		t.Errorf("lower-case trigger %q", got[2])
	}
	if got[3] != "INSERT INTO t VALUES ('begin; end')" {
		t.Errorf("last statement %q", got[3])
	}
}

// TestNormalize: the same definition written differently (an appended
// column, other spacing, comments) normalises to the same text.
func TestNormalize(t *testing.T) {
	a := "CREATE TABLE leases (\n    name    TEXT NOT NULL PRIMARY KEY,\n    expires INTEGER\n, acquired INTEGER) WITHOUT ROWID"
	b := "CREATE TABLE leases ( -- leases\n name TEXT NOT NULL PRIMARY KEY, expires INTEGER, acquired INTEGER\n) WITHOUT ROWID"
	if Normalize(a) != Normalize(b) {
		t.Errorf("%q != %q", Normalize(a), Normalize(b))
	}
	if Normalize(a) == Normalize(strings.Replace(a, " WITHOUT ROWID", "", 1)) {
		t.Error("WITHOUT ROWID is lost")
	}
}
