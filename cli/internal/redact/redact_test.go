package redact

import (
	"strings"
	"testing"
)

func TestConnection(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"sqlite file", "file:data.db?mode=rwc", "file:data.db?mode=rwc"},
		{"plain path", "/tmp/data.db", "/tmp/data.db"},
		{"postgres url", "postgres://postgres:secret@localhost:5432/testdb?sslmode=disable",
			"postgres://postgres:xxxxx@localhost:5432/testdb?sslmode=disable"},
		{"user without password", "postgres://postgres@localhost/db", "postgres://postgres@localhost/db"},
		{"rqlite query password", "http://localhost:4001?user=admin&password=secret",
			"http://localhost:4001?password=xxxxx&user=admin"},
		{"both", "https://bob:pw1@host:4001/?password=pw2&token=tok", "https://bob:xxxxx@host:4001/?password=xxxxx&token=xxxxx"},
		{"keyword value", "host=db user=me password=secret dbname=x", "host=db user=me password=xxxxx dbname=x"},
		{"keyword quoted", "host=db password='s e c' dbname=x", "host=db password=xxxxx dbname=x"},
		{"keyword spaces", "host=db PASSWORD = hunter2", "host=db PASSWORD = xxxxx"},
		{"unparseable url", "postgres://user:p%zz@host/db", "postgres://xxxxx"},
		{"keyword api key", "host=db api_key=k1 AuthToken='t 2'", "host=db api_key=xxxxx AuthToken=xxxxx"},
		{"keyword password holding ://", "host=db user=me password=hunter2://x dbname=app", "host=db user=me password=xxxxx dbname=app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Connection(tt.in)
			if got != tt.want {
				t.Errorf("Connection(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestConnectionNeverShowsPassword(t *testing.T) {
	for _, conn := range []string{
		"postgres://postgres:s3cr3t-pw@localhost:5432/testdb?sslmode=disable",
		"http://localhost:4001?user=admin&password=s3cr3t-pw",
		"http://admin:s3cr3t-pw@localhost:4001",
		"host=localhost password=s3cr3t-pw",
		"postgres://u:s3cr3t-pw%zz@h/db",
	} {
		if got := Connection(conn); strings.Contains(got, "s3cr3t-pw") {
			t.Errorf("Connection(%q) = %q: shows the password", conn, got)
		}
	}
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
}
