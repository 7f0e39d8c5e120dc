package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kvsuite/kv/cli/internal/redact"
)

// errNotDecimal: an integer on the command line is not written in decimal
// digits. kv reads every integer (flags and arguments: versions, limits,
// offsets, seqs, counts) in decimal only, so that 010 is ten and 0x10 is
// an error, not eight and sixteen.
var errNotDecimal = errors.New("not a whole number in decimal digits (such as 16 or -1; no 0x, 0o, 0b, _ or fraction)")

// decimalDigits is a whole number in decimal: an optional sign, then digits.
var decimalDigits = regexp.MustCompile(`^[+-]?[0-9]+$`)

// parseDecimal reads s as a signed decimal integer of bits bits.
func parseDecimal(s string, bits int) (int64, error) {
	if !decimalDigits.MatchString(s) {
		return 0, errNotDecimal
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("out of range: want %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	}
	return n, nil
}

// parseUnsignedDecimal reads s as an unsigned decimal integer of bits bits.
func parseUnsignedDecimal(s string, bits int) (uint64, error) {
	if !decimalDigits.MatchString(s) || s[0] == '-' {
		return 0, fmt.Errorf("not a whole number of 0 or more in decimal digits (such as 16; no 0x, 0o, 0b, _ or fraction)")
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("out of range: want 0 to %d", uint64(1)<<bits-1)
	}
	return n, nil
}

// strictFlags makes kv's rules for numbers and durations those of every
// flag of fs: an integer flag reads decimal digits only (the flag
// package's own also reads 0x10 and 010 as hexadecimal and octal), and a
// duration flag's error says which units there are.
func strictFlags(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		switch g.Get().(type) {
		case int:
			f.Value = decimalFlag{Getter: g, bits: strconv.IntSize, signed: true}
		case int64:
			f.Value = decimalFlag{Getter: g, bits: 64, signed: true}
		case uint:
			f.Value = decimalFlag{Getter: g, bits: strconv.IntSize}
		case uint64:
			f.Value = decimalFlag{Getter: g, bits: 64}
		case time.Duration:
			f.Value = durationFlag{g}
		}
	})
}

// decimalFlag is an integer flag that reads decimal digits only.
type decimalFlag struct {
	flag.Getter
	bits   int
	signed bool
}

func (d decimalFlag) Set(s string) error {
	if d.signed {
		n, err := parseDecimal(s, d.bits)
		if err != nil {
			return err
		}
		return d.Getter.Set(strconv.FormatInt(n, 10))
	}
	n, err := parseUnsignedDecimal(s, d.bits)
	if err != nil {
		return err
	}
	return d.Getter.Set(strconv.FormatUint(n, 10))
}

func (decimalFlag) typeName() string { return "int" }

// durationFlag is a duration flag whose error names the units.
type durationFlag struct{ flag.Getter }

// errNotDuration: a duration on the command line is not one that
// time.ParseDuration reads. There is no unit of days: a day is 24h.
var errNotDuration = errors.New("not a duration: want a number and a unit, ns, us, ms, s, m or h (such as 90s, 15m or 1h30m; a day is 24h)")

func (d durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errNotDuration
	}
	return d.Getter.Set(v.String())
}

func (durationFlag) typeName() string { return "duration" }

// flagValueError matches the flag package's error for a value its flag
// does not take.
var flagValueError = regexp.MustCompile(`(?s)^invalid (boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-([^:]+): (.*)$`)

// flagMessage rewrites an error of the flag package in kv's words
// ("--name value: why"), with the value and any flag name shown as
// redact.Value shows them: a connection string given to the wrong flag is
// not echoed with its password.
func flagMessage(msg string) string {
	if m := flagValueError.FindStringSubmatch(msg); m != nil {
		value := redact.Hidden
		if v, err := strconv.Unquote(m[2]); err == nil {
			value = redact.Value(v)
		}
		why := m[4]
		if m[1] != "" {
			why = "want true or false"
		}
		return fmt.Sprintf("--%s %s: %s", m[3], value, why)
	}
	for _, prefix := range []string{"flag provided but not defined: ", "flag needs an argument: ", "bad flag syntax: "} {
		if rest, ok := strings.CutPrefix(msg, prefix); ok {
			return prefix + shown(rest)
		}
	}
	return msg
}
