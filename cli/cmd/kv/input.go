package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/kvsuite/kv/kvcore"
)

// maxInput is the most kv reads from stdin: room for a value of the largest
// size kvcore accepts, with generous whitespace.
const maxInput = 4 * kvcore.DefaultMaxValueSize

// readJSON reads one JSON document from stdin for the command at path.
func (a *app) readJSON(path string) (json.RawMessage, error) {
	if a.stdin == nil {
		return nil, fmt.Errorf("%s reads a JSON document from stdin, but there is no stdin", path)
	}
	a.stdinHint(path)
	b, err := a.readStdin()
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("stdin is empty: %s reads a JSON document from stdin (e.g. echo '{\"hello\": \"world\"}' | kv %s ...)", path, path)
	}
	if !json.Valid(b) {
		var v json.RawMessage
		err := json.Unmarshal(b, &v)
		if se, ok := err.(*json.SyntaxError); ok {
			return nil, fmt.Errorf("stdin is not a JSON document: %v (at byte %d)", se, se.Offset)
		}
		return nil, fmt.Errorf("stdin is not a JSON document: %v", err)
	}
	return json.RawMessage(b), nil
}

// readStdin reads all of stdin (at most maxInput bytes; more is an error)
// and returns it without leading and trailing white space.
func (a *app) readStdin() ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(a.stdin, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read stdin: %w", err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("stdin: more than %d bytes (the largest value is %d bytes)", maxInput, kvcore.DefaultMaxValueSize)
	}
	return bytes.TrimSpace(b), nil
}

// stdinHint tells a person whose stdin is a terminal that the command at
// path waits for a JSON document there: otherwise kv put <key>, typed
// with nothing piped in, seems to hang.
func (a *app) stdinHint(path string) {
	if _, ok := terminal(a.stdin); !ok {
		return
	}
	fmt.Fprintf(a.stderr, "kv %s: reading a JSON document from stdin: type it and end with Ctrl+D on a line of its own, or pipe it in (echo '{\"hello\": \"world\"}' | kv %s ...)\n", path, path)
}
