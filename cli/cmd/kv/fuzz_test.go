package main

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fuzz tests of the command line: the positional argument parser and whole
// kv invocations. Run one for a while with e.g.
//
//	go test -run '^$' -fuzz FuzzParseArgs -fuzztime 60s ./cli

// splitArgs turns one fuzzed string into a command line: arguments are
// separated by newlines, at most 12 of them.
func splitArgs(line string) []string {
	args := strings.Split(line, "\n")
	if len(args) > 12 {
		args = args[:12]
	}
	return args
}

// isSubsequence reports whether sub's elements appear in all, in order.
func isSubsequence(sub, all []string) bool {
	i := 0
	for _, s := range all {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"k\n--version\n3", "a\n--all\nb\n-version=2\nc", "a\n--\n-b\n--all", "-1\n-20", "k\n--version\n-1",
		"\n-", "k\n--version=4\n--\nx", "k\n--nope", "--version", "--version=abc", "---x", "-=", "--=1",
		"--all=maybe", "-version\n--", "--\n--", "--d=1h\n--s\n", "--s\n--version=2", "-9223372036854775809",
		"--version=99999999999999999999", "-h", "--help", "k\x00\n--all",
	} {
		f.Add(s, uint8(0))
	}
	f.Add("--\n-b", uint8(1))
	f.Fuzz(func(t *testing.T, line string, at uint8) {
		all := splitArgs(line)
		rest := all[int(at)%(len(all)+1):]
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Int64("version", -1, "")
		fs.Bool("all", false, "")
		fs.String("s", "", "")
		fs.Duration("d", 0, "")
		pos, err := parseArgs(fs, all, rest)
		if err != nil {
			if pos != nil || err.Error() == "" {
				t.Fatalf("parseArgs(%q) = %q, %v", rest, pos, err)
			}
			return
		}
		if !isSubsequence(pos, rest) {
			t.Fatalf("parseArgs(%q) = %q: not a subsequence of the arguments", rest, pos)
		}
		// Without anything that looks like a flag, everything is positional.
		flagLike := slices.ContainsFunc(rest, func(a string) bool {
			return len(a) > 1 && a[0] == '-' && !negativeNumber.MatchString(a)
		})
		if !flagLike && !slices.Equal(pos, rest) {
			t.Fatalf("parseArgs(%q) = %q, want every argument", rest, pos)
		}
		// A "--" makes the rest positional, whatever it holds; if ffcli
		// stopped at one, rest is all positional (a second "--" included).
		n := len(all) - len(rest)
		switch {
		case n > 0 && all[n-1] == "--" && len(rest) > 0:
			if !slices.Equal(pos, rest) {
				t.Fatalf("parseArgs(%q) after -- = %q, want every argument", rest, pos)
			}
		case len(rest) > 0 && rest[0] == "--":
			if !slices.Equal(pos, rest[1:]) {
				t.Fatalf("parseArgs(%q) = %q, want everything after --", rest, pos)
			}
		}
	})
}

// fuzzSkipWords are arguments that would make a fuzzed kv run leave the
// in-memory store (another connection, config file or backend), touch
// files, or run until its timeout: such inputs are skipped.
var fuzzSkipWords = []string{"connection", "config", "type", "run", "stream", "benchmark", "import", "export", "completion"}

// FuzzRun runs kv in-process with a fuzzed command line and stdin on an
// in-memory SQLite store: it never panics, exits 0, 1 or 2, and on failure
// prints one clear "kv: ..." message (or the usage) on stderr.
func FuzzRun(f *testing.F) {
	for _, s := range [][2]string{
		{"put\nk", `{"a":1}`}, {"get\nkey\nk", ""}, {"list\n-1", ""}, {"list\nten", ""}, {"list\n0\n99999999999999999999", ""},
		{"put\nk\n--version=-2", "1"}, {"put\nk\n--ttl=-5s", "1"}, {"patch\nk", `{"a":`}, {"put\n", "1"},
		{"task\nnew\necho", `{"p":1}`}, {"task\nlist\n--status=bogus", ""}, {"task\nschedule\ns\nTZ=UTC\necho", "{}"},
		{"task\nschedule\ns\n@every -1m\necho", "{}"}, {"graph\nadd-edge\nUser\n\nUser\nb\nf", ""},
		{"graph\nfind-path\nA\na\nB\nb", ""}, {"consumer\ncommit\nc\n1000", ""}, {"lock\nacquire\nl\nme\n--duration=0", ""},
		{"delete\nprefix\n", ""}, {"get\nrange\nb\na", ""}, {"frobnicate", ""}, {"--help", ""}, {"", ""},
		{"get\nbatch\na\n--\n-b", ""}, {"count\nall\n--namespace=n\x00", ""}, {"touch\nk\n--ttl=1h", ""},
	} {
		f.Add(s[0], s[1])
	}
	clearEnvF(f)
	f.Setenv("KV_CONNECTION", ":memory:")
	f.Fuzz(func(t *testing.T, line, stdin string) {
		args := splitArgs(line)
		for _, a := range args {
			for _, w := range fuzzSkipWords {
				if strings.Contains(strings.ToLower(a), w) {
					return
				}
			}
		}
		var stdout, stderr strings.Builder
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
		if code < 0 || code > 2 {
			t.Fatalf("kv %q: exit %d", args, code)
		}
		errOut := stderr.String()
		if strings.Contains(errOut, "runtime error") || strings.Contains(errOut, "panic") {
			t.Fatalf("kv %q: stderr %q", args, errOut)
		}
		if code != 0 && !strings.HasPrefix(errOut, "kv: ") && !strings.HasPrefix(errOut, "Usage: kv") {
			t.Fatalf("kv %q: exit %d with stderr %q, want \"kv: ...\"", args, code, errOut)
		}
		if code == 2 && stdout.String() != "" {
			t.Fatalf("kv %q: usage error but stdout %q", args, stdout.String())
		}
	})
}

// clearEnvF makes sure no KV_* variable of the environment leaks into a
// fuzz target.
func clearEnvF(f *testing.F) {
	for _, k := range []string{"KV_TYPE", "KV_CONNECTION", "KV_NAMESPACE", "KV_CONFIG", "KV_LOG_FORMAT", "KV_LOG_LEVEL"} {
		f.Setenv(k, "")
	}
}
