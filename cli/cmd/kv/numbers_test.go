package main

import (
	"flag"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// commandTree returns every runnable command of kv with its spec, built as
// kv builds them.
func commandTree() (map[*ffcli.Command]spec, []*ffcli.Command) {
	a := &app{specs: map[*ffcli.Command]spec{}}
	root := a.rootCommand()
	var out []*ffcli.Command
	var walk func(cs []*ffcli.Command)
	walk = func(cs []*ffcli.Command) {
		for _, c := range cs {
			if a.specs[c].run != nil {
				out = append(out, c)
			}
			walk(c.Subcommands)
		}
	}
	walk(root.Subcommands)
	return a.specs, out
}

// integerFlag reports whether f is an integer flag, and of how many bits.
func integerFlag(f *flag.Flag) (signed bool, ok bool) {
	g, isGetter := f.Value.(flag.Getter)
	if !isGetter {
		return false, false
	}
	switch g.Get().(type) {
	case int, int64:
		return true, true
	case uint, uint64:
		return false, true
	}
	return false, false
}

// notDecimal are integers that only a base prefix, a digit separator, an
// exponent, a fraction or foreign digits make integers (or numbers).
var notDecimal = []string{"0x10", "0X1f", "0o17", "0b101", "1_000", "1e3", "1.0", "٣", " 1", "1 ", ""}

// TestDecimalFlags: every integer flag of every command (found by walking
// the command tree) reads decimal digits only: 010 is ten, and a base
// prefix, a digit separator, an exponent or a fraction is a usage error
// naming the flag. Every duration flag says which units there are.
func TestDecimalFlags(t *testing.T) {
	specs, cmds := commandTree()
	unopenable := "--connection=file:/nonexistent/kv-test/x.db?mode=ro"
	ints, durations := 0, 0
	for _, c := range cmds {
		path := strings.Fields(specs[c].path)
		c.FlagSet.VisitAll(func(f *flag.Flag) {
			if isGlobalFlag(f.Name) {
				return
			}
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isDuration := g.Get().(time.Duration); isDuration {
					durations++
					clearEnv(t)
					r := kv(t, "{}", append(append(path, "--"+f.Name+"=1d"), unopenable)...)
					if r.code != 2 || !strings.Contains(r.stderr, "--"+f.Name+` "1d": not a duration`) || !strings.Contains(r.stderr, "a day is 24h") {
						t.Errorf("kv %s --%s=1d: exit %d stderr %q", specs[c].path, f.Name, r.code, r.stderr)
					}
					return
				}
			}
			signed, ok := integerFlag(f)
			if !ok {
				return
			}
			ints++
			// The flag's value itself.
			if err := f.Value.Set("010"); err != nil || f.Value.(flag.Getter).Get() != reflectInt(f, 10) {
				t.Errorf("kv %s --%s 010: %v, value %v, want ten", specs[c].path, f.Name, err, f.Value)
			}
			if signed {
				if err := f.Value.Set("-7"); err != nil {
					t.Errorf("kv %s --%s -7: %v", specs[c].path, f.Name, err)
				}
			}
			for _, bad := range notDecimal {
				if err := f.Value.Set(bad); err == nil {
					t.Errorf("kv %s --%s %q: accepted as %v", specs[c].path, f.Name, bad, f.Value)
				}
			}
			// And through kv.
			for _, bad := range []string{"0x10", "1_0", "0b1"} {
				clearEnv(t)
				r := kv(t, "{}", append(append(path, "--"+f.Name+"="+bad), unopenable)...)
				want := "--" + f.Name + " " + strconv.Quote(bad) + ": not a whole number"
				if r.code != 2 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "decimal digits") {
					t.Errorf("kv %s --%s=%s: exit %d stderr %q, want %q", specs[c].path, f.Name, bad, r.code, r.stderr, want)
				}
			}
		})
	}
	// The tree holds at least these (a guard against walking nothing).
	if ints < 10 || durations < 8 {
		t.Errorf("found %d integer and %d duration flags: the walk missed some", ints, durations)
	}
	t.Logf("%d integer flags, %d duration flags", ints, durations)
}

// reflectInt returns n as the type f's value holds.
func reflectInt(f *flag.Flag, n int) any {
	switch f.Value.(flag.Getter).Get().(type) {
	case int64:
		return int64(n)
	case uint:
		return uint(n)
	case uint64:
		return uint64(n)
	}
	return n
}

// placeholder matches a positional argument in a command's usage.
var placeholder = regexp.MustCompile(`<[^>]+>`)

// TestDecimalArguments: every positional integer argument of every
// command (offsets, limits, seqs, counts), found by giving each argument
// of each command a word and seeing which ones kv reads as a number,
// reads decimal digits only.
func TestDecimalArguments(t *testing.T) {
	specs, cmds := commandTree()
	unopenable := "--connection=file:/nonexistent/kv-test/x.db?mode=ro"
	found := map[string]bool{}
	for _, c := range cmds {
		s := specs[c]
		slots := placeholder.FindAllString(s.args, -1)
		for i := range slots {
			// Each argument is a distinct number, so keys and ranges are
			// valid too; the one under test is a word.
			args := strings.Fields(s.path)
			for j := range slots {
				if j == i {
					args = append(args, "x")
				} else {
					args = append(args, strconv.Itoa(j+1))
				}
			}
			clearEnv(t)
			r := kv(t, "{}", append(append([]string{}, args...), unopenable)...)
			if !strings.Contains(r.stderr, "is not a whole number in decimal digits") {
				continue
			}
			name := s.path + " " + slots[i]
			found[name] = true
			for _, bad := range notDecimal[:6] {
				args[len(strings.Fields(s.path))+i] = bad
				clearEnv(t)
				r := kv(t, "{}", append(append([]string{}, args...), unopenable)...)
				if r.code != 2 || !strings.Contains(r.stderr, strconv.Quote(bad)+" is not a whole number in decimal digits") {
					t.Errorf("kv %s with %s %q: exit %d stderr %q", s.path, slots[i], bad, r.code, r.stderr)
				}
			}
			args[len(strings.Fields(s.path))+i] = "010"
			clearEnv(t)
			if r := kv(t, "{}", append(append([]string{}, args...), unopenable)...); strings.Contains(r.stderr, "whole number") {
				t.Errorf("kv %s with %s 010: %q", s.path, slots[i], r.stderr)
			}
		}
	}
	for _, want := range []string{"list <offset>", "list <limit>", "stream get <seq>", "stream trim <seq>", "consumer commit <last-seq>", "benchmark put <n>"} {
		if !found[want] {
			t.Errorf("the walk did not find %s as an integer argument (found %v)", want, found)
		}
	}
	t.Logf("%d integer arguments", len(found))
}

// TestParseDecimal: kv's integer rule on its own.
func TestParseDecimal(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "010": 10, "-3": -3, "+5": 5, "9223372036854775807": 1<<63 - 1} {
		if n, err := parseDecimal(s, 64); err != nil || n != want {
			t.Errorf("parseDecimal(%q) = %d, %v, want %d", s, n, err, want)
		}
	}
	for _, s := range append([]string{"9223372036854775808", "--1", "0x", "１２"}, notDecimal...) {
		if n, err := parseDecimal(s, 64); err == nil {
			t.Errorf("parseDecimal(%q) = %d, want an error", s, n)
		}
	}
	if _, err := parseDecimal("2147483648", 32); err == nil || !strings.Contains(err.Error(), "out of range: want -2147483648 to 2147483647") {
		t.Errorf("32-bit overflow: %v", err)
	}
}
