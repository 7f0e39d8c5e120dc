package main

import (
	"strconv"
	"strings"
	"testing"
)

// evilNames are names a user may choose that would forge lines, columns or
// terminal commands if printed raw.
var evilNames = []string{
	"line\nConsumer  Position  Lag  Held by\nforged  0  0  -",
	"carriage\rreturn",
	"\x1b[31mred\x1b[0m",
	"tab\tbed",
	`quo"te`,
	`back\slash`,
	"two words",
	"right\u202eto left",
	"no\u00a0break",
	"zero\u200bwidth",
}

// unsafeText reports what of text could forge output: a carriage return,
// a tab, an escape character or a bidirectional or invisible formatting
// character.
func unsafeText(text string) string {
	for _, bad := range []string{"\r", "\t", "\x1b", "\u202e", "\u00a0", "\u200b"} {
		if strings.Contains(text, bad) {
			return strconv.Quote(bad)
		}
	}
	return ""
}

// TestTextOutputEscapesNames: every user-chosen name (namespaces, consumers,
// leases and their owners, task names, keys) that a text output shows (kv
// status, kv stream trim's message, the text and JSON logs of kv task run
// and kv consumer stream, error messages) is shown escaped: no line, column
// or terminal command can be forged, and the name is still there, quoted.
func TestTextOutputEscapesNames(t *testing.T) {
	conn, _ := newDB(t)
	for i, name := range evilNames {
		owner := "owner " + name
		mustKV(t, `{"n":1}`, "put", "k", "--namespace", name, conn)
		mustKV(t, "", "consumer", "get", name, "--limit=1", conn)
		mustKV(t, "", "lock", "acquire", name, owner, "--duration=1h", conn)
		mustKV(t, `{"n":`+strconv.Itoa(i)+`}`, "task", "new", "log", "--unique-key", name, conn)
	}
	outputs := map[string]result{
		"status":       kv(t, "", "status", conn),
		"stream trim":  kv(t, "", "stream", "trim", "1000", conn),
		"task run":     kv(t, "", "task", "run", "--idle-exit", "--log-level=debug", conn),
		"consumer log": kv(t, "", "consumer", "stream", "*", evilNames[0], "--idle-exit=1s", "--log-level=debug", conn),
	}
	for i, name := range evilNames {
		outputs["lock held "+strconv.Itoa(i)] = kv(t, "", "lock", "acquire", name, "someone else", conn)
		outputs["missing key "+strconv.Itoa(i)] = kv(t, "", "get", "key", name, conn)
		outputs["unknown command "+strconv.Itoa(i)] = kv(t, "", name, conn)
	}
	for what, r := range outputs {
		// Text is stderr, and stdout of kv status; the other commands
		// print JSON on stdout, which escapes what JSON must.
		text := r.stderr
		if what == "status" {
			text += r.stdout
		}
		if bad := unsafeText(text); bad != "" {
			t.Errorf("%s shows %s raw:\n%s", what, bad, text)
		}
		for _, name := range evilNames {
			if strconv.Quote(name) != `"`+name+`"` && strings.Contains(text, name) {
				t.Errorf("%s shows the name %q raw:\n%s", what, name, text)
			}
		}
	}
	status := outputs["status"].stdout
	for _, name := range evilNames {
		for _, shown := range []string{strconv.Quote(name), strconv.Quote("owner " + name)} {
			if !strings.Contains(status, shown) {
				t.Errorf("status does not show %s:\n%s", shown, status)
			}
		}
	}
	// The text has the lines of the store's state and no more: one per
	// namespace, consumer and lease, and the 13 fixed lines around them.
	if n, want := strings.Count(status, "\n"), 13+3*len(evilNames); n != want {
		t.Errorf("status has %d lines, want %d:\n%s", n, want, status)
	}
	if !strings.Contains(outputs["stream trim"].stderr, `consumer "\x1b[31mred\x1b[0m" has committed`) {
		t.Errorf("stream trim: %q", outputs["stream trim"].stderr)
	}
}

func TestTextName(t *testing.T) {
	for in, want := range map[string]string{
		"plain":             "plain",
		"ünïcødé/ключ":      "ünïcødé/ключ",
		"":                  `""`,
		"a b":               `"a b"`,
		"a\nb":              `"a\nb"`,
		"a\xffb":            `"a\xffb"`,
		"\x1b[2J":           `"\x1b[2J"`,
		"a\u202eb":          `"a\u202eb"`,
		`"quoted"`:          `"\"quoted\""`,
		"a\u00a0b":          `"a\u00a0b"`,
		"replacement\ufffd": "replacement\ufffd",
	} {
		if got := textName(in); got != want {
			t.Errorf("textName(%q) = %s, want %s", in, got, want)
		}
	}
}
