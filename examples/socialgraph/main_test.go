package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const wantQueries = `alice follows:
  bob (since 2019)
  carol (since 2021)
dave's followers:
  bob
  carol
shortest path alice -> frank (4 hops): alice bob dave erin frank
within 2 hops of alice:
  Bob in Lyon, 1 hop(s), via alice
  Carol in Paris, 1 hop(s), via alice
  Dave in Nantes, 2 hop(s), via bob
`

// The queries print the expected answers, the pictures are written, and a
// second run on the same database (edges updated in place) says the same.
func TestSocialGraph(t *testing.T) {
	db := filepath.Join(t.TempDir(), "social.db")
	_, dotErr := exec.LookPath("dot")
	for i := range 2 {
		dir := t.TempDir()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"-db", db, "-out", dir}, &out); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, out.String())
		}
		got := out.String()
		if !strings.HasPrefix(got, wantQueries) {
			t.Fatalf("run %d output:\n%s\nwant it to start with:\n%s", i, got, wantQueries)
		}
		if !strings.HasSuffix(got, "wrote graph.dot\nwrote graph.mmd\n"+map[bool]string{true: "wrote graph.svg\n"}[dotErr == nil]+"in "+dir+"\n") {
			t.Errorf("run %d: files part of the output:\n%s", i, got[len(wantQueries):])
		}
		mmd, err := os.ReadFile(filepath.Join(dir, "graph.mmd"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(mmd), "flowchart LR\n") || !strings.Contains(string(mmd), `  n0 -->|"follows<br>{#quot;since#quot;:2019}"| n1`) {
			t.Errorf("graph.mmd:\n%s", mmd)
		}
		dot, err := os.ReadFile(filepath.Join(dir, "graph.dot"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(dot), "digraph") || strings.Count(string(dot), "->") != len(follows) {
			t.Errorf("graph.dot:\n%s", dot)
		}
		_, svgErr := os.Stat(filepath.Join(dir, "graph.svg"))
		if (svgErr == nil) != (dotErr == nil) {
			t.Errorf("graph.svg written: %v; dot on PATH: %v", svgErr == nil, dotErr == nil)
		}
	}
}

func TestSocialGraphBadFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"extra"}, &out); err == nil || out.Len() != 0 {
		t.Errorf("err %v, output %q", err, out.String())
	}
}
