package kvgraph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
)

func node(typ, id string) kvgraph.NodeRef { return kvgraph.NewNodeRef(id, typ) }

func socialEdges() []kvgraph.Edge {
	alice, bob, charlie := node("User", "alice"), node("User", "bob"), node("User", "charlie")
	return []kvgraph.Edge{
		kvgraph.NewEdge(alice, bob, "follows", json.RawMessage(`{"since":"2024-01-15"}`)),
		kvgraph.NewEdge(charlie, alice, "follows", nil),
		kvgraph.NewEdge(alice, node("Post", "1"), "authored", json.RawMessage(`{"draft_count":3}`)),
	}
}

func TestDOTGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := kvgraph.WriteDOT(&buf, socialEdges()); err != nil {
		t.Fatal(err)
	}
	want := `digraph G {
  rankdir=LR;
  node [shape=box, style=rounded];
  n0 [label="Post:1"];
  n1 [label="User:alice"];
  n2 [label="User:bob"];
  n3 [label="User:charlie"];
  n1 -> n0 [label="authored\n{\"draft_count\":3}"];
  n1 -> n2 [label="follows\n{\"since\":\"2024-01-15\"}"];
  n3 -> n1 [label="follows"];
}
`
	if buf.String() != want {
		t.Fatalf("DOT:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	if err := kvgraph.WriteDOT(&buf, socialEdges()[:1], kvgraph.WithoutProperties()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `n0 -> n1 [label="follows"];`) {
		t.Fatalf("without properties:\n%s", buf.String())
	}
}

func TestMermaidGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := kvgraph.WriteMermaid(&buf, socialEdges()); err != nil {
		t.Fatal(err)
	}
	want := `flowchart LR
  n0["Post:1"]
  n1["User:alice"]
  n2["User:bob"]
  n3["User:charlie"]
  n1 -->|"authored<br>{#quot;draft_count#quot;:3}"| n0
  n1 -->|"follows<br>{#quot;since#quot;:#quot;2024-01-15#quot;}"| n2
  n3 -->|"follows"| n1
`
	if buf.String() != want {
		t.Fatalf("Mermaid:\n%s\nwant:\n%s", buf.String(), want)
	}
}

// nasty are names that break naive DOT or Mermaid output.
var nasty = []string{
	`"quoted"`, `back\slash`, `trailing\`, `\"`, `\\`, "new\nline", "cr\r\nlf", `a -> b`, `-->`, `--x`,
	`end`, `graph`, `subgraph`, `digraph`, `node`, `edge`, `strict`, `style`, `click`, `classDef`,
	`[brackets]`, `{braces}`, `(parens)`, `((circle))`, `>asym]`, `<html>`, `<br>`, `&amp;`, `#quot;`, `#35;`,
	`|pipe|`, "`tick`", `名前 🙂 ü`, `semi;colon`, `%2F/`, "tab\there", "ctl\x01\x1f\x7f", `:::cls`,
	`style n0 fill:#f9f;`, `classDef x fill:#f00;`, `click n0 "http://x"`, `%%comment`, `'single'`, `A:b:c`, `-- text --`, `==>`, `-.->`, `\N \G \E \L`, `\l\r`, ` `, `@{ shape: x }`,
}

func nastyEdges() []kvgraph.Edge {
	var edges []kvgraph.Edge
	for i, s := range nasty {
		props, _ := json.Marshal(map[string]string{"v": s, "k" + s: "x"})
		from := node(s, fmt.Sprint(i))
		to := node("T", s)
		edges = append(edges, kvgraph.NewEdge(from, to, s, props))
	}
	return edges
}

// dotUnquote is what Graphviz's parser makes of a quoted DOT string: only
// \" is an escape; everything else (\\, \n) stays for the label renderer.
func dotUnquote(q string) string {
	return strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
}

func needDot(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("SKIP: Graphviz `dot` is not installed (apt-get install graphviz); the DOT output is checked by the golden test only")
	}
	return p
}

// TestDOTAcceptedByGraphviz feeds nasty names and properties to the real
// `dot` and checks that it parsed every label exactly as written.
func TestDOTAcceptedByGraphviz(t *testing.T) {
	dot := needDot(t)
	edges := nastyEdges()
	var src bytes.Buffer
	if err := kvgraph.WriteDOT(&src, edges, kvgraph.WithMaxLabel(0)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(dot, "-Tjson")
	cmd.Stdin = bytes.NewReader(src.Bytes())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dot rejected the output: %v: %s\n%s", err, stderr.String(), src.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("dot warned: %s", stderr.String())
	}
	var parsed struct {
		Objects []struct {
			Name  string `json:"name"`
			Label string `json:"label"`
		} `json:"objects"`
		Edges []struct {
			Tail  int    `json:"tail"`
			Head  int    `json:"head"`
			Label string `json:"label"`
		} `json:"edges"`
	}
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("dot -Tjson: %v", err)
	}
	// Every label statement in our output, as dot should have read it.
	re := regexp.MustCompile(`(?m)^  (n\d+)(?: -> (n\d+))? \[label=("(?:[^"\\]|\\.)*")\];$`)
	var wantNodes, wantEdges []string
	for _, m := range re.FindAllStringSubmatch(src.String(), -1) {
		if m[2] == "" {
			wantNodes = append(wantNodes, m[1]+"="+dotUnquote(m[3]))
		} else {
			wantEdges = append(wantEdges, m[1]+">"+m[2]+"="+dotUnquote(m[3]))
		}
	}
	var gotNodes, gotEdges []string
	for _, o := range parsed.Objects {
		gotNodes = append(gotNodes, o.Name+"="+o.Label)
	}
	for _, e := range parsed.Edges {
		gotEdges = append(gotEdges, parsed.Objects[e.Tail].Name+">"+parsed.Objects[e.Head].Name+"="+e.Label)
	}
	if len(wantNodes) != len(edges)+len(nasty) || len(wantEdges) != len(edges) {
		t.Fatalf("the output has %d node and %d edge statements, want %d and %d", len(wantNodes), len(wantEdges), 2*len(nasty), len(edges))
	}
	sameLabels(t, "node", gotNodes, wantNodes)
	sameLabels(t, "edge", gotEdges, wantEdges)
	// And it renders.
	var svg bytes.Buffer
	if err := kvgraph.RenderDOT(context.Background(), &svg, bytes.NewReader(src.Bytes()), "svg"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg.Bytes(), []byte("<svg")) {
		t.Fatalf("no SVG: %.200s", svg.String())
	}
}

func sameLabels(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("dot read %d %s labels, want %d", len(got), what, len(want))
	}
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("dot read %s label %d as\n %q\nwant\n %q", what, i, got[i], want[i])
		}
	}
}

func TestRenderDOT(t *testing.T) {
	ctx := context.Background()
	if err := kvgraph.RenderDOT(ctx, &bytes.Buffer{}, strings.NewReader("digraph{}"), "exe; rm -rf /"); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("bad format: %v", err)
	}
	t.Run("WithoutGraphviz", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		err := kvgraph.RenderDOT(ctx, &bytes.Buffer{}, strings.NewReader("digraph{}"), "svg")
		if !errors.Is(err, kvgraph.ErrGraphvizNotFound) || !strings.Contains(err.Error(), "apt-get install graphviz") {
			t.Fatalf("without dot: %v", err)
		}
	})
	t.Run("PNG", func(t *testing.T) {
		needDot(t)
		var png bytes.Buffer
		sg := kvgraph.Subgraph{Edges: socialEdges()}
		if err := sg.Render(ctx, &png, "png"); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
			t.Fatalf("not a PNG: %q", png.Bytes()[:8])
		}
	})
	t.Run("DotError", func(t *testing.T) {
		needDot(t)
		err := kvgraph.RenderDOT(ctx, &bytes.Buffer{}, strings.NewReader("digraph { -> }"), "svg")
		if err == nil || !strings.Contains(err.Error(), "syntax error") {
			t.Fatalf("bad DOT: %v", err)
		}
	})
}

// mermaidDecode is the inverse of kvgraph.MermaidEscape (Mermaid's own
// reading of entity codes and <br>).
func mermaidDecode(s string) string {
	named := map[string]string{"quot": `"`, "amp": "&", "lt": "<", "gt": ">"}
	s = strings.ReplaceAll(s, "<br>", "\n")
	return regexp.MustCompile(`#(\w+);`).ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := named[name]; ok {
			return v
		}
		n, err := strconv.Atoi(name)
		if err != nil {
			return m
		}
		return string(rune(n))
	})
}

// TestMermaidEscape is a strict self-check of the escaping: the escaped
// text holds none of the characters that end or change a quoted Mermaid
// label, and decoding it gives the original back.
func TestMermaidEscape(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("\"#&<>|`\n\t\x01\x7f;:-[]{}()%\\/ aZ9ü名🙂;quot")
	inputs := append([]string{}, nasty...)
	for range 2000 {
		var b strings.Builder
		for range r.IntN(20) {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for _, s := range inputs {
		s = strings.ReplaceAll(s, "\r", "") // \r is dropped on purpose
		esc := kvgraph.MermaidEscape(s)
		if strings.ContainsAny(esc, "\"|`\n\r\x00\x01\x1f\x7f") {
			t.Fatalf("escape(%q) = %q holds a forbidden character", s, esc)
		}
		if strings.ContainsAny(strings.ReplaceAll(esc, "<br>", ""), "<>") {
			t.Fatalf("escape(%q) = %q holds < or > outside <br>", s, esc)
		}
		if !utf8.ValidString(esc) {
			t.Fatalf("escape(%q) is not UTF-8", s)
		}
		if got := mermaidDecode(esc); got != s {
			t.Fatalf("decode(escape(%q)) = %q", s, got)
		}
	}
}

// mermaidChecker returns the command that runs testdata/mermaid-check, or
// skips t with the reason.
func mermaidChecker(t *testing.T) []string {
	t.Helper()
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("SKIP: node is not installed, so Mermaid output is checked by the golden and escaping tests only")
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "mermaid-check"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "mermaid")); err != nil {
		t.Skipf("SKIP: the Mermaid parser is not installed (run `npm ci` in %s), so Mermaid output is checked by the golden and escaping tests only", dir)
	}
	return []string{nodeBin, filepath.Join(dir, "check.mjs")}
}

// TestMermaidAcceptedByMermaid parses nasty output with the real Mermaid
// parser and checks that every label came through intact.
func TestMermaidAcceptedByMermaid(t *testing.T) {
	checker := mermaidChecker(t)
	edges := nastyEdges()
	var src bytes.Buffer
	if err := kvgraph.WriteMermaid(&src, edges, kvgraph.WithMaxLabel(0)); err != nil {
		t.Fatal(err)
	}
	run := func(text string) (string, error) {
		cmd := exec.Command(checker[0], checker[1:]...)
		cmd.Stdin = strings.NewReader(text)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("%v: %s", err, stderr.String())
		}
		return string(out), nil
	}
	out, err := run(src.String())
	if err != nil {
		t.Fatalf("Mermaid rejected the output: %v\n%s", err, src.String())
	}
	var parsed struct {
		Type     string      `json:"type"`
		Vertices [][2]string `json:"vertices"`
		Edges    [][3]string `json:"edges"`
	}
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatal(err)
	}
	sg := kvgraph.Subgraph{Edges: edges}
	// The expected labels, in output order.
	nodes := map[string]string{}
	re := regexp.MustCompile(`(?m)^  (n\d+)\["(.*)"\]$`)
	for _, m := range re.FindAllStringSubmatch(src.String(), -1) {
		nodes[m[1]] = mermaidDecode(m[2])
	}
	if len(parsed.Vertices) != len(nodes) || len(nodes) != 2*len(nasty) {
		t.Fatalf("Mermaid read %d nodes, the output has %d, want %d", len(parsed.Vertices), len(nodes), 2*len(nasty))
	}
	labels := map[string]bool{}
	for _, x := range append(sg.Nodes, collectNodes(edges)...) {
		labels[strings.ReplaceAll(x.String(), "\r", "")] = true
	}
	for _, v := range parsed.Vertices {
		got := mermaidDecode(v[1])
		if got != nodes[v[0]] || !labels[got] {
			t.Fatalf("node %s: Mermaid read %q, wrote %q", v[0], got, nodes[v[0]])
		}
	}
	if len(parsed.Edges) != len(edges) {
		t.Fatalf("Mermaid read %d edges, want %d", len(parsed.Edges), len(edges))
	}
	wantEdge := map[string]bool{}
	for _, e := range edges {
		l := e.Type + "\n" + string(e.Properties)
		wantEdge[strings.ReplaceAll(l, "\r", "")] = true
	}
	for _, e := range parsed.Edges {
		if got := mermaidDecode(e[2]); !wantEdge[got] {
			t.Fatalf("edge %s->%s: Mermaid read label %q, which was not written", e[0], e[1], got)
		}
	}
	// The checker itself rejects broken input.
	if _, err := run("flowchart LR\n  n0[\"a\"b\"]\n"); err == nil {
		t.Fatal("the Mermaid checker accepted a broken label")
	}
}

func collectNodes(edges []kvgraph.Edge) []kvgraph.NodeRef {
	var out []kvgraph.NodeRef
	for _, e := range edges {
		out = append(out, e.From, e.To)
	}
	return out
}

func TestParseHelpers(t *testing.T) {
	for _, s := range []string{"", "  "} {
		p, err := kvgraph.ParseProperties(s)
		if err != nil || p != nil {
			t.Fatalf("ParseProperties(%q) = %s, %v", s, p, err)
		}
	}
	p, err := kvgraph.ParseProperties(`{ "a": 1 }`)
	if err != nil || string(p) != `{"a":1}` {
		t.Fatalf("ParseProperties: %s %v", p, err)
	}
	for _, bad := range []string{`[1]`, `1`, `{"a":`, `"x"`} {
		if _, err := kvgraph.ParseProperties(bad); !errors.Is(err, kvcore.ErrInvalidArgument) {
			t.Fatalf("ParseProperties(%q): %v", bad, err)
		}
	}
	for in, want := range map[string]kvgraph.Direction{"": kvgraph.Out, "out": kvgraph.Out, "IN": kvgraph.In, "both": kvgraph.Both} {
		d, err := kvgraph.ParseDirection(in)
		if err != nil || d != want {
			t.Fatalf("ParseDirection(%q) = %v, %v", in, d, err)
		}
	}
	if _, err := kvgraph.ParseDirection("up"); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("ParseDirection(up): %v", err)
	}
	for in, want := range map[string]kvgraph.Format{"": kvgraph.FormatDOT, "dot": kvgraph.FormatDOT, "Mermaid": kvgraph.FormatMermaid, "mmd": kvgraph.FormatMermaid} {
		f, err := kvgraph.ParseFormat(in)
		if err != nil || f != want {
			t.Fatalf("ParseFormat(%q) = %v, %v", in, f, err)
		}
	}
	if _, err := kvgraph.ParseFormat("png"); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("ParseFormat(png): %v", err)
	}
	v, err := kvgraph.ParseViewNode("*", "*")
	if err != nil || v.NodeType != "" || v.NodeID != "" {
		t.Fatalf("ParseViewNode(*, *) = %+v, %v", v, err)
	}
	v, err = kvgraph.ParseViewNode("User", "alice")
	if err != nil || v.NodeType != "User" || v.NodeID != "alice" {
		t.Fatalf("ParseViewNode(User, alice) = %+v, %v", v, err)
	}
	if _, err := kvgraph.ParseViewNode("*", "alice"); !errors.Is(err, kvcore.ErrInvalidArgument) {
		t.Fatalf("ParseViewNode(*, alice): %v", err)
	}
}
