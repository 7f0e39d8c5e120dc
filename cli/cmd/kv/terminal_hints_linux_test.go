package main

import (
	"bufio"
	"context"
	"strings"
	"testing"
	"time"
)

// TestStdinHintOnTerminal: kv put with a terminal as stdin says on stderr
// that it waits for a JSON document there, then reads what is typed; with
// stdin piped it says nothing.
func TestStdinHintOnTerminal(t *testing.T) {
	conn, _ := newDB(t)
	tty, typist := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"put", "k", conn}, tty, &stdout, &stderr) }()
	eventually(t, "the hint", func() bool {
		return strings.Contains(stderr.String(), "kv put: reading a JSON document from stdin: type it and end with Ctrl+D")
	})
	if _, err := typist.Write([]byte("{\"typed\": true}\n\x04")); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("kv put from a terminal: exit %d, stderr %q", code, stderr.String())
	}
	if rs := records(t, mustKV(t, "", "get", "key", "k", conn)); string(rs[0].Value) != `{"typed":true}` {
		t.Errorf("k = %s", rs[0].Value)
	}
	mustKV(t, `{"piped":true}`, "put", "k", conn) // no hint: stderr stays empty
}

// TestCommitHintOnTerminal: kv consumer get, which does not commit by
// default, tells a person at a terminal how to commit what it printed;
// with stderr not a terminal it says nothing.
func TestCommitHintOnTerminal(t *testing.T) {
	conn, _ := newDB(t)
	fillStream(t, conn)
	tty, typist := openPTY(t)
	var stdout strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if code := run(ctx, []string{"consumer", "get", "it's", "--limit=2", conn}, strings.NewReader(""), &stdout, tty); code != 0 {
		t.Fatalf("consumer get: exit %d", code)
	}
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(typist).ReadString('\n')
		got <- line
	}()
	var line string
	select {
	case line = <-got:
	case <-ctx.Done():
		t.Fatal("no hint on the terminal")
	}
	if want := `kv: consumer get: not committed; once handled: kv consumer commit 'it'\''s' 2`; strings.TrimSpace(line) != want {
		t.Errorf("hint %q, want %q", line, want)
	}
	streamOut(t, "consumer", "get", "it's", conn) // no hint: stderr stays empty
}
