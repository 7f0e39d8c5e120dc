package redact

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/kvsuite/kv/cli/secrettest"
)

func TestConnection(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"sqlite file", "file:data.db?mode=rwc", "file:data.db?mode=rwc"},
		{"plain path", "/tmp/data.db", "/tmp/data.db"},
		{"memory", ":memory:", ":memory:"},
		{"sqlite pragma", "file:d.db?_pragma=busy_timeout(5000)&_pragma=key('k3y')", "file:d.db?_pragma=busy_timeout(5000)&xxxxx"},
		{"postgres url", "postgres://postgres:secret@localhost:5432/testdb?sslmode=disable",
			"postgres://postgres:xxxxx@localhost:5432/testdb?sslmode=disable"},
		{"user without password", "postgres://postgres@localhost/db", "postgres://postgres@localhost/db"},
		{"rqlite query password", "http://localhost:4001?user=admin&password=secret",
			"http://localhost:4001?user=admin&password=xxxxx"},
		{"both", "https://bob:pw1@host:4001/?password=pw2&token=tok", "https://bob:xxxxx@host:4001/?password=xxxxx&token=xxxxx"},
		{"unknown parameter", "http://h:4001?level=weak&bogus=1", "http://h:4001?level=weak&xxxxx"},
		{"fragment", "postgres://u@h/db#frag", "postgres://u@h/db#xxxxx"},
		{"user with an at", "postgres://admin@s3cr@h/db", "postgres://xxxxx@h/db"},
		{"multiple hosts", "postgres://u:p@h1:5432,h2:5433/db", "postgres://u:xxxxx@h1:5432,h2:5433/db"},
		{"at in a query value", "http://h:4001?user=me@corp&password=p", "http://h:4001?user=me@corp&password=xxxxx"},
		{"keyword value", "host=db user=me password=secret dbname=x", "host=db user=me password=xxxxx dbname=x"},
		{"keyword quoted", "host=db password='s e c' dbname=x", "host=db password=xxxxx dbname=x"},
		{"keyword spaces", "host=db PASSWORD = hunter2", "host=db PASSWORD=xxxxx"},
		{"keyword api key", "host=db api_key=k1 AuthToken='t 2'", "host=db api_key=xxxxx AuthToken=xxxxx"},
		{"keyword unknown", "host=db frob=1", "host=db xxxxx"},
		{"keyword password holding ://", "host=db user=me password=hunter2://x dbname=app", "host=db user=me password=xxxxx dbname=app"},
		{"unparseable url", "postgres://user:p%zz@host/db", Hidden},
		{"password with a slash", "postgres://u:S3cr/3tZ@host/db", Hidden},
		{"leading space", " http://admin:S3cr3tZ@127.0.0.1:1", Hidden},
		{"no scheme", "admin:S3cr3tZ@host:4101", Hidden},
		{"double-quoted keyword value", `host=h password="S3cr 3tZpart"`, Hidden},
		{"unterminated keyword value", "host=h password='S3cr 3tZpart", Hidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Connection(tt.in); got != tt.want {
				t.Errorf("Connection(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err := Check(tt.in); (err != nil) != (tt.want == Hidden) {
				t.Errorf("Check(%q) = %v", tt.in, err)
			}
		})
	}
}

// TestCheckNamesThePart: Check's error wraps ErrMalformed and says which
// part of the form is wrong.
func TestCheckNamesThePart(t *testing.T) {
	for conn, want := range map[string]string{
		"":                                    "it is empty",
		" postgres://u:S3cr3tZq@h/db":         "starts with white space",
		"postgres://u:S3cr3tZq@h/db\n":        "control character",
		"postgres://u:S3cr3tZq@h/db ":         "ends with white space",
		"'postgres://u:S3cr3tZq@h/db'":        "quoted",
		"postgres://u:S3cr/3tZq@h/db":         "percent-encode",
		"postgres://u:S3cr?3tZq@h/db":         "percent-encode",
		"postgres://u:S3cr#3tZq@h/db":         "percent-encode",
		"postgres://u:S3cr 3tZq@h/db":         "user info",
		"postgres://u:S3cr%zz@h/db":           "two hexadecimal digits",
		"postgres://h/db?password=S3cr%zz":    "two hexadecimal digits",
		"http:/admin:S3cr3tZq@h:1":            "one slash",
		"//admin:S3cr3tZq@h:1":                "no scheme before the //",
		"admin:S3cr3tZq@h:4101":               "no scheme://",
		"host=h password=\"S3cr 3tZq\"":       "the value of password starts with a double quote",
		"host=h password='S3cr 3tZq":          "the value of password has no closing quote",
		"host=h password=S3cr 3tZq dbname=db": "word 3 of the keyword/value string is not keyword=value",
		"host=h password=S3cr3tZq\xff":        "not valid UTF-8",
		"host=h password=S3cr3tZq\x1b[2J":     "control character",
	} {
		err := Check(conn)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("Check(%q) = %v, want ErrMalformed and %q", conn, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "S3cr") {
			t.Errorf("Check(%q) = %v: repeats the string", conn, err)
		}
	}
}

// TestCorpusNeverShowsPassword runs the generated corpus (every form of
// connection string, with the password alone and with every separator at
// every position) through Connection, Check, Value and Scrub, the last
// over a message that quotes the string and its pieces as drivers do.
func TestCorpusNeverShowsPassword(t *testing.T) {
	corpus := 0
	for _, pw := range secrettest.Passwords() {
		for _, c := range secrettest.Forms(pw) {
			corpus++
			if s := secrettest.Leak(Connection(c.Conn), pw); s != "" {
				t.Fatalf("%s %q: Connection = %q shows %q", c.Form, c.Conn, Connection(c.Conn), s)
			}
			if err := Check(c.Conn); err != nil {
				if s := secrettest.Leak(err.Error(), pw); s != "" {
					t.Fatalf("%s %q: Check = %v shows %q", c.Form, c.Conn, err, s)
				}
			}
			if s := secrettest.Leak(Value(c.Conn), pw); s != "" {
				t.Fatalf("%s %q: Value = %q shows %q", c.Form, c.Conn, Value(c.Conn), s)
			}
			msg := "connect " + c.Conn + ": password " + pw + " (" + url.QueryEscape(pw) + ") refused"
			if _, err := url.Parse(c.Conn); err != nil {
				msg += "; " + err.Error()
			}
			if _, err := url.Parse(strings.TrimSpace(c.Conn)); err != nil {
				msg += "; " + err.Error()
			}
			if got := Scrub(msg, c.Conn); secrettest.Leak(got, pw) != "" {
				t.Fatalf("%s %q: Scrub = %q shows %q", c.Form, c.Conn, got, secrettest.Leak(got, pw))
			}
		}
	}
	t.Logf("%d connection strings", corpus)
}

func TestScrub(t *testing.T) {
	conn := "postgres://me:p%40ss@db:5432/x"
	text := `connect to "postgres://me:p%40ss@db:5432/x" failed: auth for me with p@ss refused (p%40ss)`
	got := Scrub(text, conn)
	for _, secret := range []string{"p@ss", "p%40ss"} {
		if strings.Contains(got, secret) {
			t.Errorf("Scrub left %q in %q", secret, got)
		}
	}
	if !strings.Contains(got, "postgres://me:xxxxx@db:5432/x") {
		t.Errorf("Scrub = %q, want the redacted connection string in it", got)
	}
	if Scrub("nothing secret", "") != "nothing secret" {
		t.Error("Scrub with no connection changed the text")
	}
	if got := Scrub("no password here: file:data.db", "file:data.db?mode=rwc"); got != "no password here: file:data.db" {
		t.Errorf("Scrub changed text of a connection without secrets: %q", got)
	}
	// A piece of the password (a driver quoting what it took for a port)
	// is masked too, whole characters at a time.
	if got := Scrub(`invalid port ":Sé3cr" after host`, "postgres://u:Sé3cr/3tZq@h/db"); strings.Contains(got, "é3cr") || !strings.Contains(got, "invalid port") {
		t.Errorf("Scrub = %q", got)
	}
}

func TestValue(t *testing.T) {
	for in, want := range map[string]string{
		"":                          `""`,
		"0x10":                      `"0x10"`,
		"a b":                       `"a b"`,
		"postgres://u:pw1234@h/db":  `"postgres://u:xxxxx@h/db"`,
		" postgres://u:pw1234@h/db": Hidden,
		"host=h password=pw1234":    `"host=h password=xxxxx"`,
		"admin:pw1234@h":            Hidden,
	} {
		if got := Value(in); got != want {
			t.Errorf("Value(%q) = %s, want %s", in, got, want)
		}
	}
}
