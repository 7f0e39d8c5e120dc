package main

import (
	"flag"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
)

// negativeNumber matches an argument such as -1, which is a (bad) offset or
// limit rather than a flag.
var negativeNumber = regexp.MustCompile(`^-[0-9]+$`)

// parseArgs parses the flags in rest, which may come before, between or
// after the positional arguments, and returns the positional arguments.
// "--" ends the flags: everything after it is positional (for keys that
// start with "-"). rest is a suffix of all, the whole command line.
func parseArgs(fs *flag.FlagSet, all, rest []string) ([]string, error) {
	pos := []string{}
	// ffcli already parsed the flags before rest; if it stopped at "--",
	// rest is all positional.
	if n := len(all) - len(rest); len(rest) > 0 && n > 0 && all[n-1] == "--" {
		return append(pos, rest...), nil
	}
	for len(rest) > 0 {
		switch {
		case rest[0] == "--":
			return append(pos, rest[1:]...), nil
		case rest[0] == "-" || rest[0] == "" || rest[0][0] != '-' || negativeNumber.MatchString(rest[0]):
			pos = append(pos, rest[0])
			rest = rest[1:]
			continue
		}
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		next := fs.Args()
		if used := len(rest) - len(next); used > 0 && rest[used-1] == "--" {
			return append(pos, next...), nil
		}
		rest = next
	}
	return pos, nil
}

// checkArgs checks the number of positional arguments of the command at
// path: at least min, and at most max unless max is -1.
func checkArgs(path string, args []string, min, max int, want string) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		// The arguments are not echoed: one may be a misplaced secret.
		return usagef(path, "%s: got %d argument(s), want %s", path, len(args), want)
	}
	return nil
}

// checkKey checks a key argument.
func checkKey(path, key string) error {
	if err := kvcore.ValidateKey(key); err != nil {
		return usagef(path, "%v", err)
	}
	return nil
}

// checkPrefix checks a prefix argument (kvcore's rule).
func checkPrefix(path, prefix string) error {
	if err := kvcore.ValidatePrefix(prefix); err != nil {
		return usagef(path, "%v", err)
	}
	return nil
}

// checkRange checks the bounds of a range [from, to) (kvcore's rule).
func checkRange(path, from, to string) error {
	if err := kvcore.ValidateRange(from, to); err != nil {
		return usagef(path, "%v", err)
	}
	return nil
}

// page reads the optional [<offset> [<limit>]] arguments; limit 0 is no limit.
func page(path string, args []string) (offset, limit int, err error) {
	names := []string{"offset", "limit"}
	vals := []int{0, 0}
	for i, s := range args {
		n64, err := intArg(path, names[i], s, strconv.IntSize)
		if err != nil {
			return 0, 0, err
		}
		n := int(n64)
		if n < 0 {
			return 0, 0, usagef(path, "%s %d is negative%s", names[i], n, negativeHint(names[i]))
		}
		vals[i] = n
	}
	return vals[0], vals[1], nil
}

// intArg reads a whole-number argument of bits bits (what names it in an
// error) in decimal digits: kv's one rule for integer arguments.
func intArg(path, what, s string, bits int) (int64, error) {
	n, err := parseDecimal(s, bits)
	if err != nil {
		return 0, usagef(path, "%s %s is %v", what, redact.Value(s), err)
	}
	return n, nil
}

// parseSeq reads a stream sequence number argument: a whole number, 0 or more.
func parseSeq(path, what, s string) (int64, error) {
	n, err := intArg(path, what, s, 64)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, usagef(path, "%s %d is negative", what, n)
	}
	return n, nil
}

// checkName checks a lease, owner, consumer or type name (kvcore's rule:
// not empty, UTF-8 without NUL, at most 1024 bytes).
func checkName(path, what, name string) error {
	if err := kvcore.ValidateName(what, name); err != nil {
		return usagef(path, "%v", err)
	}
	return nil
}

// checkDuration checks a lease duration given with flag: at least
// kvlock.MinDuration.
func checkDuration(path, flag string, d time.Duration) error {
	if d < kvlock.MinDuration {
		return usagef(path, "--%s %v: want a positive duration of at least %v (e.g. 30s, 10m)", flag, d, kvlock.MinDuration)
	}
	return nil
}

// checkLimit checks a batch size given with flag: 1 to kvstream.MaxLimit.
func checkLimit(path, flag string, n int) error {
	if n < 1 || n > kvstream.MaxLimit {
		return usagef(path, "--%s %d: want 1 to %d", flag, n, kvstream.MaxLimit)
	}
	return nil
}

// stringsFlag is a string flag that may be given many times: each value is
// kept, in order. Empty, it shows no default in help.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// allNamespaces is the stream name that follows every namespace.
const allNamespaces = "*"

// allTypes is the --of-type that keeps every record type, as no --of-type
// does.
const allTypes = "all"

// streamFilters turns a stream name ("*": every namespace, otherwise one
// namespace, "" being the default one) and an optional record type ("" or
// "all": every type) into kvstream filters.
func streamFilters(path, stream, ofType string) ([]kvstream.Filter, error) {
	var fs []kvstream.Filter
	if stream != allNamespaces {
		if err := kvcore.ValidateNamespace(stream); err != nil {
			return nil, usagef(path, "stream name (a namespace, or \"*\" for every namespace): %v", err)
		}
		fs = append(fs, kvstream.InNamespace(stream))
	}
	if ofType != "" && ofType != allTypes {
		if err := checkName(path, "--of-type", ofType); err != nil {
			return nil, err
		}
		fs = append(fs, kvstream.OfType(ofType))
	}
	return fs, nil
}
