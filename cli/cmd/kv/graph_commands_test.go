package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// outEdge is an edge as kv prints it.
type outEdge struct {
	From       outNode         `json:"from"`
	To         outNode         `json:"to"`
	Type       string          `json:"type"`
	Properties json.RawMessage `json:"properties"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
}

type outNode struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (n outNode) String() string { return n.Type + ":" + n.ID }

// edges parses kv's JSON Lines output of edges strictly: every field present.
func edges(t *testing.T, out string) []outEdge {
	t.Helper()
	var es []outEdge
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("output line %q is not a JSON object: %v", line, err)
		}
		for _, f := range []string{"from", "to", "type", "properties", "created", "updated"} {
			if _, ok := fields[f]; !ok {
				t.Fatalf("output line %q has no %q field", line, f)
			}
		}
		var e outEdge
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if e.Created.IsZero() || e.Created.Location() != time.UTC {
			t.Fatalf("output line %q: created not a UTC time", line)
		}
		es = append(es, e)
	}
	return es
}

// edgeList shows edges as "from -type-> to" joined by ",".
func edgeList(es []outEdge) string {
	var s []string
	for _, e := range es {
		s = append(s, e.From.String()+" -"+e.Type+"-> "+e.To.String())
	}
	return strings.Join(s, ",")
}

func TestGraphCommands(t *testing.T) {
	conn, _ := newDB(t)
	// Awkward names: slashes, percent signs, spaces, quotes, unicode.
	const (
		user  = "User"
		alice = "alice/admin %2F"
		bob   = `bob "the builder"`
		post  = "Post/Blog"
		p1    = "1 ünïcødé 🌍"
		likes = "likes 'a lot'"
	)
	mustKV(t, `{"name": "Alice"}`, "put", "user/alice", conn)
	// Properties from stdin, from the argument (which wins over stdin), and none.
	if out := mustKV(t, `{"since": "2024-01-01"}`, "graph", "add-edge", user, alice, user, bob, "follows", conn); out != "" {
		t.Errorf("add-edge printed %q", out)
	}
	mustKV(t, `{"ignored": true}`, "graph", "add-edge", user, bob, post, p1, "authored", `{"draft_count": 3}`, conn)
	mustKV(t, "", "graph", "add-edge", user, alice, post, p1, likes, conn)
	mustKV(t, "  \n", "graph", "add-edge", user, alice, post, p1, "authored", conn)

	e := edges(t, mustKV(t, "", "graph", "get-edge", user, alice, user, bob, "follows", conn))
	if len(e) != 1 || e[0].From != (outNode{user, alice}) || e[0].To != (outNode{user, bob}) || e[0].Type != "follows" || string(e[0].Properties) != `{"since":"2024-01-01"}` {
		t.Fatalf("get-edge = %+v", e)
	}
	if e := edges(t, mustKV(t, "", "graph", "get-edge", user, bob, post, p1, "authored", conn)); string(e[0].Properties) != `{"draft_count":3}` {
		t.Errorf("properties from the argument = %s", e[0].Properties)
	}
	if e := edges(t, mustKV(t, "", "graph", "get-edge", user, alice, post, p1, likes, conn)); string(e[0].Properties) != `{}` {
		t.Errorf("no properties = %s", e[0].Properties)
	}
	// Adding again replaces the properties and keeps created.
	mustKV(t, `{"since": "2025"}`, "graph", "add-edge", user, alice, user, bob, "follows", conn)
	if e2 := edges(t, mustKV(t, "", "graph", "get-edge", user, alice, user, bob, "follows", conn)); string(e2[0].Properties) != `{"since":"2025"}` || !e2[0].Created.Equal(e[0].Created) {
		t.Errorf("re-added edge = %+v, first %+v", e2[0], e[0])
	}

	// Outgoing and incoming, all types or one, with --offset/--limit.
	out := edges(t, mustKV(t, "", "graph", "get-outgoing", user, alice, conn))
	want := "User:" + alice + " -authored-> " + post + ":" + p1 + ",User:" + alice + " -follows-> User:" + bob + ",User:" + alice + " -" + likes + "-> " + post + ":" + p1
	if got := edgeList(out); got != want {
		t.Errorf("get-outgoing:\n got %s\nwant %s", got, want)
	}
	if got := edgeList(edges(t, mustKV(t, "", "graph", "get-outgoing", user, alice, "follows", conn))); got != "User:"+alice+" -follows-> User:"+bob {
		t.Errorf("get-outgoing follows = %s", got)
	}
	if got := edgeList(edges(t, mustKV(t, "", "graph", "get-outgoing", user, alice, "--offset=1", "--limit", "1", conn))); got != "User:"+alice+" -follows-> User:"+bob {
		t.Errorf("get-outgoing --offset 1 --limit 1 = %s", got)
	}
	if got := edgeList(edges(t, mustKV(t, "", "graph", "get-incoming", post, p1, conn))); got != "User:"+alice+" -authored-> "+post+":"+p1+",User:"+bob+" -authored-> "+post+":"+p1+",User:"+alice+" -"+likes+"-> "+post+":"+p1 {
		t.Errorf("get-incoming = %s", got)
	}
	if got := edgeList(edges(t, mustKV(t, "", "graph", "get-incoming", post, p1, "authored", "--limit=1", conn))); got != "User:"+alice+" -authored-> "+post+":"+p1 {
		t.Errorf("get-incoming authored --limit 1 = %s", got)
	}
	if out := mustKV(t, "", "graph", "get-outgoing", "Nobody", "x", conn); out != "" {
		t.Errorf("get-outgoing of an unknown entity = %q", out)
	}

	// find-path: found (two hops along follows then authored), not found.
	var path struct {
		Nodes []outNode         `json:"nodes"`
		Edges []json.RawMessage `json:"edges"`
		Cost  float64           `json:"cost"`
	}
	mustKV(t, "", "graph", "add-edge", user, bob, post, "x", "authored", conn)
	pout := mustKV(t, "", "graph", "find-path", user, alice, post, "x", conn)
	if strings.Count(pout, "\n") != 1 {
		t.Fatalf("find-path printed %q, want one line", pout)
	}
	if err := json.Unmarshal([]byte(pout), &path); err != nil {
		t.Fatal(err)
	}
	if len(path.Nodes) != 3 || path.Nodes[0] != (outNode{user, alice}) || path.Nodes[1] != (outNode{user, bob}) || path.Nodes[2] != (outNode{post, "x"}) || len(path.Edges) != 2 || path.Cost != 2 {
		t.Errorf("find-path = %s", pout)
	}
	if got := edgeList(edges(t, string(path.Edges[1])+"\n")); got != "User:"+bob+" -authored-> "+post+":x" {
		t.Errorf("find-path second edge = %s", got)
	}
	runSteps(t, conn, []step{
		{name: "no path along a type", args: []string{"graph", "find-path", user, alice, post, "x", "follows"}, code: 1, wantOut: true, stdout: "",
			stderr: `graph find-path: no path from "User" "alice/admin %2F" to "Post/Blog" "x" along "follows" edges`},
		{name: "no path backwards", args: []string{"graph", "find-path", post, "x", user, alice}, code: 1, wantOut: true, stdout: "", stderr: "no path from"},
	})

	// remove-edge prints how many it removed; the edge is gone.
	runSteps(t, conn, []step{
		{name: "remove", args: []string{"graph", "remove-edge", user, alice, user, bob, "follows"}, wantOut: true, stdout: "1\n"},
		{name: "remove again", args: []string{"graph", "remove-edge", user, alice, user, bob, "follows"}, wantOut: true, stdout: "0\n"},
		{name: "get removed", args: []string{"graph", "get-edge", user, alice, user, bob, "follows"}, code: 1, wantOut: true, stdout: "", stderr: "edge not found"},
		{name: "path gone", args: []string{"graph", "find-path", user, alice, post, "x"}, code: 1, stderr: "no path from"},
	})

	// The graph lives in its own namespace: kv list shows the user's keys only.
	runSteps(t, conn, []step{
		{name: "list", args: []string{"list"}, keys: strp("user/alice")},
		{name: "count", args: []string{"count", "all"}, wantOut: true, stdout: "1\n"},
		{name: "other namespace", args: []string{"list", "--namespace=other"}, wantOut: true, stdout: ""},
	})
	// The same graph whatever --namespace says.
	if got := edges(t, mustKV(t, "", "graph", "get-incoming", post, "x", "--namespace=other", conn)); len(got) != 1 {
		t.Errorf("get-incoming in another --namespace = %+v", got)
	}
}

func TestGraphView(t *testing.T) {
	conn, _ := newDB(t)
	add := func(args ...string) {
		t.Helper()
		mustKV(t, "", append(append([]string{"graph", "add-edge"}, args...), conn)...)
	}
	add("User", "alice", "User", "bob", "follows", `{"since":"2024"}`)
	add("User", "bob", "User", "diana", "follows")
	add("User", "alice", "Post", "1", "authored")
	add("User", `quote"d`, "Post", "1", "liked")

	dot := mustKV(t, "", "graph", "view", conn)
	if dot != mustKV(t, "", "graph", "view", "*", "*", conn) || dot != mustKV(t, "", "graph", "view", "--format=dot", conn) {
		t.Error(`view, view "*" "*" and --format=dot differ`)
	}
	for _, want := range []string{"digraph G {", `[label="User:alice"]`, `[label="User:quote\"d"]`, `[label="Post:1"]`, `[label="follows\n{\"since\":\"2024\"}"]`, `[label="liked"]`, "}"} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot output has no %q:\n%s", want, dot)
		}
	}
	if n := strings.Count(dot, " -> "); n != 4 {
		t.Errorf("dot output has %d edges, want 4:\n%s", n, dot)
	}
	// --edge-type filters; a node's neighbourhood with --depth.
	if f := mustKV(t, "", "graph", "view", "*", "*", "--edge-type=follows", conn); strings.Count(f, " -> ") != 2 || strings.Contains(f, "Post:1") {
		t.Errorf("--edge-type=follows:\n%s", f)
	}
	if f := mustKV(t, "", "graph", "view", "User", "alice", conn); strings.Count(f, " -> ") != 2 || strings.Contains(f, "diana") {
		t.Errorf("view User alice:\n%s", f)
	}
	if f := mustKV(t, "", "graph", "view", "User", "alice", "--depth=2", conn); strings.Count(f, " -> ") != 4 || !strings.Contains(f, "User:diana") {
		t.Errorf("view User alice --depth=2:\n%s", f)
	}
	mer := mustKV(t, "", "graph", "view", "*", "*", "--format=mermaid", conn)
	for _, want := range []string{"flowchart LR", `["User:alice"]`, `["User:quote#quot;d"]`, `-->|"follows<br>{#quot;since#quot;:#quot;2024#quot;}"|`, `-->|"liked"|`} {
		if !strings.Contains(mer, want) {
			t.Errorf("mermaid output has no %q:\n%s", want, mer)
		}
	}
	// svg through Graphviz when it is installed.
	if _, err := exec.LookPath("dot"); err == nil {
		svg := mustKV(t, "", "graph", "view", "--format=svg", conn)
		if !strings.Contains(svg, "<svg") || !strings.Contains(svg, "User:alice") {
			t.Errorf("svg output:\n%.300s", svg)
		}
		if png := mustKV(t, "", "graph", "view", "--format=png", conn); !strings.HasPrefix(png, "\x89PNG") {
			t.Errorf("png output starts %q", png[:min(8, len(png))])
		}
	} else {
		t.Log("Graphviz dot is not installed: only the install hint is tested")
	}
	// Without Graphviz: a clear error saying how to install it.
	t.Setenv("PATH", t.TempDir())
	runSteps(t, conn, []step{
		{name: "svg without dot", args: []string{"graph", "view", "--format=svg"}, code: 1, wantOut: true, stdout: "", stderr: "apt-get install graphviz"},
		{name: "png without dot", args: []string{"graph", "view", "--format", "png"}, code: 1, wantOut: true, stdout: "", stderr: "Graphviz `dot` not found"},
		{name: "dot without dot", args: []string{"graph", "view", "--edge-type", "liked"}, wantOut: true, stdout: "digraph G {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n  n0 [label=\"Post:1\"];\n  n1 [label=\"User:quote\\\"d\"];\n  n1 -> n0 [label=\"liked\"];\n}\n"},
	})
}

// TestGraphBadInput: bad graph arguments are usage errors that do not even
// create the database; bad properties on stdin fail and change nothing.
func TestGraphBadInput(t *testing.T) {
	conn, path := newDB(t)
	long := strings.Repeat("/", 67) // 201 bytes escaped
	for _, s := range []step{
		{name: "too few", args: []string{"graph", "add-edge", "User", "a", "User", "b"}, code: 2, stderr: "got 4 argument(s), want <from-type>"},
		{name: "too many", args: []string{"graph", "get-edge", "a", "b", "c", "d", "e", "f"}, code: 2, stderr: "got 6 argument(s)"},
		{name: "empty type", args: []string{"graph", "add-edge", "", "a", "User", "b", "follows"}, code: 2, stderr: "from type is empty"},
		{name: "empty edge type", args: []string{"graph", "get-edge", "User", "a", "User", "b", ""}, code: 2, stderr: "edge type is empty"},
		{name: "long id", args: []string{"graph", "get-outgoing", "User", long}, code: 2, stderr: "entity id is too long"},
		{name: "bad utf-8", args: []string{"graph", "remove-edge", "User", "a\xff", "User", "b", "x"}, code: 2, stderr: "not valid UTF-8"},
		{name: "props not JSON", args: []string{"graph", "add-edge", "User", "a", "User", "b", "follows", "{nope"}, code: 2, stderr: "<properties>"},
		{name: "props not object", args: []string{"graph", "add-edge", "User", "a", "User", "b", "follows", "[1]"}, code: 2, stderr: "<properties>"},
		{name: "negative limit", args: []string{"graph", "get-incoming", "User", "a", "--limit=-1"}, code: 2, stderr: "must be 0 or more"},
		{name: "find-path few", args: []string{"graph", "find-path", "User", "a", "User"}, code: 2, stderr: "got 3 argument(s)"},
		{name: "view id without type", args: []string{"graph", "view", "*", "alice"}, code: 2, stderr: "needs a node type"},
		{name: "view bad format", args: []string{"graph", "view", "--format=jpeg2000"}, code: 2, stderr: `--format "jpeg2000": want dot, mermaid, svg, png or pdf`},
		{name: "view bad depth", args: []string{"graph", "view", "User", "a", "--depth=0"}, code: 2, stderr: "--depth 0"},
		{name: "view bad direction", args: []string{"graph", "view", "--direction=up"}, code: 2, stderr: "--direction"},
		{name: "view three args", args: []string{"graph", "view", "a", "b", "c"}, code: 2, stderr: "got 3 argument(s)"},
	} {
		runSteps(t, conn, []step{s})
	}
	if fileExists(path) {
		t.Fatal("a usage error created the database")
	}
	runSteps(t, conn, []step{
		{name: "stdin not an object", stdin: `"text"`, args: []string{"graph", "add-edge", "User", "a", "User", "b", "follows"}, code: 1, stderr: "properties from stdin"},
		{name: "stdin not JSON", stdin: `{"a":`, args: []string{"graph", "add-edge", "User", "a", "User", "b", "follows"}, code: 1, stderr: "properties from stdin"},
		{name: "init", args: []string{"init"}},
		{name: "nothing added", args: []string{"graph", "get-outgoing", "User", "a"}, wantOut: true, stdout: ""},
	})
}
