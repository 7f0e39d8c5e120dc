package kvweb

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvgraph"
	"github.com/kvsuite/kv/kvtask"
)

// params are a request's query parameters, checked: every name known to
// the page, none given twice.
type params struct {
	v url.Values
}

// parseQuery parses r's query string, accepting only the names allowed.
func parseQuery(r *http.Request, allowed ...string) (params, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return params{}, badRequest("malformed query string: %v", err)
	}
	return checkParams(v, "query parameter", allowed)
}

// checkParams checks that v holds only the names allowed, each once.
func checkParams(v url.Values, what string, allowed []string) (params, error) {
	for name, vals := range v {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			return params{}, badRequest("unknown %s %q", what, name)
		}
		if len(vals) > 1 {
			return params{}, badRequest("%s %q given %d times", what, name, len(vals))
		}
	}
	return params{v: v}, nil
}

// has reports whether name was given.
func (p params) has(name string) bool { return p.v.Has(name) }

// str returns name's value ("" if not given).
func (p params) str(name string) string { return p.v.Get(name) }

// int returns name's value as an integer from lo to hi, or def if it is
// not given or empty.
func (p params) int(name string, def, lo, hi int64) (int64, error) {
	s := p.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("parameter %q is %q: want a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// namespace returns the namespace in name ("" if not given), checked as
// kvcore checks one.
func (p params) namespace(store *kvcore.Store, name string) (*kvcore.Store, error) {
	s, err := store.Namespace(p.v.Get(name))
	if err != nil {
		return nil, badRequest("parameter %q: %v", name, err)
	}
	return s, nil
}

// key returns name's value checked as a key (required if need).
func (p params) key(name string, need bool) (string, error) {
	s := p.v.Get(name)
	if s == "" && !need {
		return "", nil
	}
	if err := kvcore.ValidateKey(s); err != nil {
		return "", badRequest("parameter %q: %v", name, err)
	}
	return s, nil
}

// prefix returns name's value checked as a key prefix.
func (p params) prefix(name string) (string, error) {
	s := p.v.Get(name)
	if err := kvcore.ValidatePrefix(s); err != nil {
		return "", badRequest("parameter %q: %v", name, err)
	}
	return s, nil
}

// name returns name's value checked as a name (a type, task name, task
// id), or "" if it is not given.
func (p params) name(name string) (string, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", nil
	}
	if err := kvcore.ValidateName(name, s); err != nil {
		return "", badRequest("parameter %q: %v", name, err)
	}
	return s, nil
}

// graphName returns name's value checked as a node type or id, or "" if
// it is not given.
func (p params) graphName(name string) (string, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", nil
	}
	if err := kvgraph.ValidateName(name, s); err != nil {
		return "", badRequest("parameter %q: %v", name, err)
	}
	return s, nil
}

// status returns name's value as a task status, or "" (any) if it is not
// given.
func (p params) status(name string) (kvtask.Status, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", nil
	}
	st, err := kvtask.ParseStatus(s)
	if err != nil {
		return "", badRequest("parameter %q: %v", name, err)
	}
	return st, nil
}

// form is an action's form: its fields checked as params, and its CSRF
// token.
type form struct {
	params
	csrf string
}

// maxForm bounds an action's form: a task payload and a little more.
const maxForm = kvtask.MaxPayloadSize + 64<<10

// parseForm reads r's form (URL-encoded, in the body; the query string
// must be empty).
func parseForm(w http.ResponseWriter, r *http.Request) (*form, error) {
	if r.URL.RawQuery != "" {
		return nil, badRequest("an action takes its fields in the form, not the query string")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusRequestEntityTooLarge, "the form is over %d bytes", maxForm)
		}
		return nil, badRequest("malformed form: %v", err)
	}
	csrf := r.PostForm.Get("csrf")
	r.PostForm.Del("csrf")
	fields := []string{"ns", "key", "version", "id", "name", "payload", "priority", "max_retries", "unique_key"}
	p, err := checkParams(r.PostForm, "form field", fields)
	if err != nil {
		return nil, err
	}
	return &form{params: p, csrf: csrf}, nil
}

// sameToken compares two secrets in constant time (of their hashes, so
// that not even their lengths leak).
func sameToken(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return want != "" && subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
