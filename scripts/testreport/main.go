// Command testreport reads the output of `go test -json` and prints what
// `go test` prints without -v (each package's result line, the output of
// every failed test and of the package outside its tests). With
// -skips-only it prints only a summary of the skipped tests, grouped by
// the reason each logged. It reads the files it is given, or its
// standard input.
//
// scripts/test runs it (outside the workspace, it imports only the
// standard library):
//
//	go test -json ./... | tee run.json | go run scripts/testreport/main.go
//	go run scripts/testreport/main.go -skips-only run.json other-run.json
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

// testKey names one test of one package.
type testKey struct{ pkg, test string }

// skip is a skipped test and the lines it logged (its reason).
type skip struct {
	testKey
	reason []string
}

func main() {
	skipsOnly := flag.Bool("skips-only", false, "print only the summary of skipped tests")
	flag.Parse()
	var skips []skip
	if flag.NArg() == 0 {
		s, err := report(os.Stdin, os.Stdout, !*skipsOnly)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(2)
		}
		skips = s
	}
	for _, path := range flag.Args() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			os.Exit(2)
		}
		s, err := report(f, os.Stdout, !*skipsOnly)
		f.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "testreport: %s: %v\n", path, err)
			os.Exit(2)
		}
		skips = append(skips, s...)
	}
	if *skipsOnly {
		printSkips(os.Stdout, skips)
	}
}

// report reads the events of r; if echo is set it writes to w what
// `go test` without -v would have printed. It returns the skipped tests.
func report(r io.Reader, w io.Writer, echo bool) ([]skip, error) {
	out := map[testKey][]string{} // the output of each test still running
	var order []testKey           // the tests of out in the order they started
	var skips []skip
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (the build's own messages): pass it on.
			if echo {
				fmt.Fprintln(w, string(line))
			}
			continue
		}
		k := testKey{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			if echo {
				io.WriteString(w, e.Output)
			}
		case e.Test == "" && e.Action == "output":
			if echo && !isVerboseNoise(e.Output) {
				io.WriteString(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			// A package that failed without ending its tests (a panic, a
			// timeout): print what its unfinished tests wrote.
			for _, t := range order {
				if lines, ok := out[t]; ok && t.pkg == e.Package {
					if echo {
						for _, o := range lines {
							io.WriteString(w, o)
						}
					}
					delete(out, t)
				}
			}
		case e.Test == "":
		case e.Action == "output":
			if _, ok := out[k]; !ok {
				order = append(order, k)
			}
			out[k] = append(out[k], e.Output)
		case e.Action == "fail":
			if echo {
				for _, o := range out[k] {
					io.WriteString(w, o)
				}
			}
			delete(out, k)
		case e.Action == "skip":
			skips = append(skips, skip{k, reasonOf(out[k])})
			delete(out, k)
		case e.Action == "pass":
			delete(out, k)
		}
	}
	return skips, sc.Err()
}

// isVerboseNoise reports whether a package-level line is one that -json's
// verbose mode adds and plain `go test` does not print.
func isVerboseNoise(s string) bool {
	t := strings.TrimSpace(s)
	return t == "PASS" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- PASS") || strings.HasPrefix(t, "--- SKIP")
}

// reasonOf returns the lines a skipped test logged, without the framing
// lines of verbose output.
func reasonOf(lines []string) []string {
	var r []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		r = append(r, fileLine.ReplaceAllString(t, ""))
	}
	return r
}

// fileLine matches the file:line prefix testing puts before a logged line.
var fileLine = regexp.MustCompile(`^[\w.-]+\.go:\d+: `)

// printSkips writes the skipped tests grouped by reason.
func printSkips(w io.Writer, skips []skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "skipped tests: none")
		return
	}
	byReason := map[string][]string{}
	for _, s := range skips {
		reason := strings.Join(s.reason, " / ")
		if len(reason) > 300 {
			reason = reason[:300] + "..."
		}
		if reason == "" {
			reason = "(no reason logged)"
		}
		byReason[reason] = append(byReason[reason], s.pkg+" "+s.test)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "skipped tests: %d\n", len(skips))
	for _, r := range reasons {
		tests := byReason[r]
		sort.Strings(tests)
		fmt.Fprintf(w, "  %d: %s\n", len(tests), r)
		for _, t := range tests {
			fmt.Fprintf(w, "      %s\n", t)
		}
	}
}
