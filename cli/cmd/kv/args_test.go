package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		all     []string // the whole command line
		restAt  int      // where ffcli's parse left off
		pos     []string
		version int64
		all2    bool
	}{
		{"flags after", []string{"k", "--version", "3"}, 0, []string{"k"}, 3, false},
		{"flags between", []string{"a", "--all", "b", "-version=2", "c"}, 0, []string{"a", "b", "c"}, 2, true},
		{"dash dash", []string{"a", "--", "-b", "--all"}, 0, []string{"a", "-b", "--all"}, -1, false},
		{"after ffcli stopped at --", []string{"--", "-b"}, 1, []string{"-b"}, -1, false},
		{"negative number is positional", []string{"-1", "-20"}, 0, []string{"-1", "-20"}, -1, false},
		{"version -1 is a value", []string{"k", "--version", "-1"}, 0, []string{"k"}, -1, false},
		{"empty and dash", []string{"", "-"}, 0, []string{"", "-"}, -1, false},
		{"flag value --", []string{"k", "--version=4", "--", "x"}, 0, []string{"k", "x"}, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			version := fs.Int64("version", -1, "")
			all := fs.Bool("all", false, "")
			pos, err := parseArgs(fs, tt.all, tt.all[tt.restAt:])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(pos, tt.pos) || *version != tt.version || *all != tt.all2 {
				t.Errorf("got %q version %d all %v, want %q %d %v", pos, *version, *all, tt.pos, tt.version, tt.all2)
			}
		})
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseArgs(fs, []string{"k", "--nope"}, []string{"k", "--nope"}); err == nil {
		t.Error("unknown flag: no error")
	}
}

// TestFlagsAnywhere: kv's own and global flags work before and after the
// command and its arguments; "--" lets a key start with "-".
func TestFlagsAnywhere(t *testing.T) {
	conn, _ := newDB(t)
	mustKV(t, `1`, conn, "put", "--ttl", "1h", "a")
	mustKV(t, `2`, "put", conn, "b", "--record-type", "T")
	// After --, the connection flag would be a second key.
	if r := kv(t, `3`, "put", "--", "-dash", conn); r.code != 2 || !strings.Contains(r.stderr, "got 2 argument(s)") {
		t.Fatalf("put -- -dash --connection: %+v", r)
	}
	r := kv(t, `3`, "put", conn, "--", "-dash")
	if r.code != 0 {
		t.Fatalf("put -- -dash: %+v", r)
	}
	rs := records(t, mustKV(t, "", "get", conn, "batch", "--", "a", "b", "-dash"))
	if keysOf(rs) != "a,b,-dash" || rs[0].Expires == nil || rs[1].Type != "T" {
		t.Errorf("records: %+v", rs)
	}
	// delete key deletes a key named like a subcommand.
	mustKV(t, `4`, "put", "prefix", conn)
	if out := mustKV(t, "", "delete", "key", "prefix", conn); out != "1\n" {
		t.Errorf("delete key prefix = %q", out)
	}
}
