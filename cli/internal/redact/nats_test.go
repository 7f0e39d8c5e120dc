package redact

import (
	"strings"
	"testing"
)

func TestNATSURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://ann:s3cret@host:4222", "nats://ann:xxxxx@host:4222"},
		{"nats://T0KEN@host:4222", "nats://xxxxx@host:4222"},
		{"tls://ann:p@ss@host:4222", "tls://ann:xxxxx@host:4222"},
		{"nats://ann:a/b@host", "nats://ann:xxxxx@host"},
		{"nats://a:x,y@h1:4222,nats://tok@h2:4222", "nats://a:xxxxx@h1:4222,nats://xxxxx@h2:4222"},
		{"nats://h1:4222,nats://b:pw@h2:4222", "nats://h1:4222,nats://b:xxxxx@h2:4222"},
		{"ann:pw@host:4222", "ann:xxxxx@host:4222"},
		{"host:4222,tok@h2", "host:4222,xxxxx@h2"},
		{"", ""},
	} {
		if got := NATSURL(tt.in); got != tt.want {
			t.Errorf("NATSURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestScrubNATS: no credential of the URLs survives in a message that
// quotes them whole, in part, or unescaped.
func TestScrubNATS(t *testing.T) {
	for _, urls := range []string{
		"nats://ann:s%40cret@host:4222",
		"nats://T0KEN@host:4222,nats://bob:hunter2,x@h2:4222",
		"bob:pa ss@host",
	} {
		secrets := NATSSecrets(urls)
		if len(secrets) == 0 {
			t.Fatalf("NATSSecrets(%q) found none", urls)
		}
		msg := "connect to " + urls + " failed; server " + strings.Join(secrets, " and ") + " refused"
		got := ScrubNATS(msg, urls)
		for _, s := range secrets {
			if strings.Contains(got, s) {
				t.Errorf("ScrubNATS(%q) = %q still holds %q", msg, got, s)
			}
		}
	}
	if got := NATSSecrets("nats://ann:s%40cret@host"); strings.Join(got, " ") != "s%40cret s@cret" {
		t.Errorf("NATSSecrets = %q", got)
	}
}
