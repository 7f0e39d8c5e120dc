// Package secrettest generates connection strings that carry a password in
// every form and place kv's backends read one, well-formed and malformed
// (mistyped schemes, unescaped separators, quotes), for tests that check
// that no kv command ever shows the password.
package secrettest

import (
	"net/url"
	"strings"
)

// Password is the password the generated strings carry, alone or with a
// separator inserted (see Passwords).
const Password = "S3cr3tZq"

// Separators are the characters that end or split a part of a connection
// string: each is inserted into Password at every position.
var Separators = []string{"/", "?", "#", "@", ":", "&", "=", " ", "'", `"`, `\`, "%", ";", "+", ",", "%zz", "%41"}

// Passwords returns Password, then Password with each of Separators
// inserted at each position (its start and end included).
func Passwords() []string {
	out := []string{Password}
	for _, sep := range Separators {
		for i := 0; i <= len(Password); i++ {
			out = append(out, Password[:i]+sep+Password[i:])
		}
	}
	return out
}

// Sample returns Password, then Password with each of Separators inserted
// once, at positions that cycle through every position across the
// separators: a smaller set for tests that run a process per string.
func Sample() []string {
	out := []string{Password}
	for i, sep := range Separators {
		at := (i * 3) % (len(Password) + 1)
		out = append(out, Password[:at]+sep+Password[at:])
	}
	return out
}

// Conn is a generated connection string.
type Conn struct {
	Form string // which form, for test names
	Conn string
}

// Forms returns the connection strings that carry pw: URLs with the
// password in the user info (as typed and percent-encoded) and in a query
// parameter (first and last), scheme typos, PostgreSQL keyword/value
// strings (bare, single-quoted, double-quoted, unterminated, spaced, first
// and last) and a SQLite URI parameter. Every host is 127.0.0.1 port 1,
// where nothing listens.
func Forms(pw string) []Conn {
	enc := url.UserPassword("admin", pw).String()
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw)
	q := url.QueryEscape(pw)
	return []Conn{
		{"postgres user info", "postgres://admin:" + pw + "@127.0.0.1:1/db"},
		{"postgresql user info", "postgresql://admin:" + pw + "@127.0.0.1:1/db?sslmode=disable"},
		{"postgres user info encoded", "postgres://" + enc + "@127.0.0.1:1/db"},
		{"http user info", "http://admin:" + pw + "@127.0.0.1:1"},
		{"https user info encoded", "https://" + enc + "@127.0.0.1:1?level=weak"},
		{"postgres query last", "postgres://admin@127.0.0.1:1/db?sslmode=disable&password=" + pw},
		{"postgres query first", "postgres://admin@127.0.0.1:1/db?password=" + pw + "&sslmode=disable"},
		{"postgres query encoded", "postgres://admin@127.0.0.1:1/db?password=" + q},
		{"http query", "http://127.0.0.1:1?user=admin&password=" + pw},
		{"http query encoded", "http://127.0.0.1:1?password=" + q + "&user=admin"},
		{"leading space", " http://admin:" + pw + "@127.0.0.1:1"},
		{"trailing space", "postgres://admin:" + pw + "@127.0.0.1:1/db "},
		{"one slash", "http:/admin:" + pw + "@127.0.0.1:1"},
		{"no slashes", "http:admin:" + pw + "@127.0.0.1:1"},
		{"no colon", "http//admin:" + pw + "@127.0.0.1:1"},
		{"no scheme", "//admin:" + pw + "@127.0.0.1:1"},
		{"bare user info", "admin:" + pw + "@127.0.0.1:4101"},
		{"scheme as user", "postgres:" + pw + "@127.0.0.1/db"},
		{"mistyped scheme", "htp://admin:" + pw + "@127.0.0.1:1"},
		{"upper-case scheme", "HTTP://admin:" + pw + "@127.0.0.1:1"},
		{"at for colon", "postgres://admin@" + pw + "@127.0.0.1:1/db"},
		{"keyword middle", "host=127.0.0.1 port=1 user=admin password=" + pw + " dbname=db"},
		{"keyword first", "password=" + pw + " host=127.0.0.1 port=1"},
		{"keyword last", "host=127.0.0.1 port=1 password=" + pw},
		{"keyword spaced", "host=127.0.0.1 port=1 password = " + pw + " dbname=db"},
		{"keyword single-quoted", "host=127.0.0.1 port=1 password='" + quoted + "' dbname=db"},
		{"keyword double-quoted", `host=127.0.0.1 port=1 password="` + pw + `" dbname=db`},
		{"keyword unterminated", "host=127.0.0.1 port=1 password='" + pw},
		{"quoted whole", `"postgres://admin:` + pw + `@127.0.0.1:1/db"`},
		{"sqlite parameter", "file:kv-secret-test.db?mode=ro&password=" + q},
	}
}

// Corpus returns Forms of every password of Passwords.
func Corpus() []Conn {
	var out []Conn
	for _, pw := range Passwords() {
		out = append(out, Forms(pw)...)
	}
	return out
}

// Leak returns the longest part of pw, at least 4 bytes long, that text
// shows, or "" if there is none. Parts made only of separators do not
// count.
func Leak(text, pw string) string {
	for n := len(pw); n >= 4; n-- {
		for i := 0; i+n <= len(pw); i++ {
			part := pw[i : i+n]
			if strings.Contains(text, part) && strings.ContainsAny(part, "S3crtZq") {
				return part
			}
		}
	}
	return ""
}
