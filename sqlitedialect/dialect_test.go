package sqlitedialect

import (
	"strings"
	"testing"

	"github.com/kvsuite/kv/kvcore/driver"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
)

// TestSelectorWhereOneLowerBound: a selector with both From and After
// gets only the tighter lower bound in SQL, so that a cursor page seeks to
// After instead of stepping from From (SQLite seeks on one bound and
// filters the other).
func TestSelectorWhereOneLowerBound(t *testing.T) {
	for _, c := range []struct {
		sel   driver.Selector
		bound string
		arg   string
	}{
		{driver.Selector{From: "p/", After: "p/5", HasAfter: true}, "key > ?", "p/5"},
		{driver.Selector{From: "p/", After: "p/", HasAfter: true}, "key > ?", "p/"},
		{driver.Selector{From: "p/", After: "a", HasAfter: true}, "key >= ?", "p/"},
		{driver.Selector{After: "", HasAfter: true}, "key > ?", ""},
		{driver.Selector{From: "p/"}, "key >= ?", "p/"},
	} {
		where, args := SQLite.SelectorWhere(c.sel, 1)
		if strings.Count(where, "key >") != 1 || !strings.Contains(where, c.bound) {
			t.Errorf("%+v: where %q, want one lower bound %q", c.sel, where, c.bound)
			continue
		}
		if args[1] != c.arg {
			t.Errorf("%+v: bound argument %v, want %q", c.sel, args[1], c.arg)
		}
	}
}

// TestTextParameters: a dialect that casts text writes every text
// parameter CAST(? AS TEXT) and sends it through TextArg; integers stay
// plain parameters.
func TestTextParameters(t *testing.T) {
	d := Dialect{CastText: true, TextArg: func(s string) any { return "<" + s + ">" }}
	where, args := d.SelectorWhere(driver.Selector{Namespace: "n", Type: "t", From: "a", To: "b", HasTo: true}, 7)
	want := "namespace = CAST(? AS TEXT) AND type = CAST(? AS TEXT) AND key >= CAST(? AS TEXT) AND key < CAST(? AS TEXT) AND " + Live
	if where != want {
		t.Errorf("where %q, want %q", where, want)
	}
	if got := []any{"<n>", "<t>", "<a>", "<b>", int64(7)}; !equal(args, got) {
		t.Errorf("args %v, want %v", args, got)
	}
	q := d.Claim(2, "id")
	for _, s := range []string{"locked_by = CAST(?3 AS TEXT)", "name = CAST(?5 AS TEXT)", "name IN (CAST(?5 AS TEXT), CAST(?6 AS TEXT))"} {
		if !strings.Contains(q, s) {
			t.Errorf("claim lacks %q:\n%s", s, q)
		}
	}
	if got, want := d.ClaimArgs("r", 9, 8, 10, []string{"x", "y"}), []any{int64(8), 10, "<r>", int64(9), "<x>", "<y>"}; !equal(got, want) {
		t.Errorf("claim args %v, want %v", got, want)
	}
	if strings.Contains(SQLite.Claim(1, "id"), "CAST") {
		t.Error("SQLite's claim casts a parameter")
	}
}

func equal(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLimitArg: no limit (0 or less) is SQLite's -1.
func TestLimitArg(t *testing.T) {
	for in, want := range map[int]int{-5: -1, 0: -1, 1: 1, 500: 500} {
		if got := LimitArg(in); got != want {
			t.Errorf("LimitArg(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestStreamRead: the read's filters are parameters in order, text ones in
// the dialect's form, and integer columns are cast only where asked.
func TestStreamRead(t *testing.T) {
	d := Dialect{CastText: true, CastInt: true}
	q, args := d.StreamRead(streamdriver.Query{After: 5, HasNamespace: true, Namespace: "n", Type: "t", Limit: 10})
	if !strings.Contains(q, "seq > ? AND namespace = CAST(? AS TEXT) AND type = CAST(? AS TEXT) ORDER BY seq LIMIT ?") ||
		!strings.Contains(q, "CAST(s.seq AS TEXT)") {
		t.Errorf("rqlite's read: %s", q)
	}
	if !equal(args, []any{int64(5), "n", "t", 10}) {
		t.Errorf("args %v", args)
	}
	q, args = SQLite.StreamRead(streamdriver.Query{After: 5, Limit: 10})
	if strings.Contains(q, "CAST") || strings.Contains(q, "namespace = ") || !equal(args, []any{int64(5), 10}) {
		t.Errorf("SQLite's read without filters: %s %v", q, args)
	}
}
