package rqlitekv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// The driver's HTTP transport, under gorqlite. It does three things
// gorqlite has no option for:
//   - a read's consistency level chosen for one call (WithReadConsistency)
//     replaces the connection's in the request;
//   - a write is not sent again after an attempt whose outcome is unknown,
//     unless it is a recorded request (recorded.go), which rqlite applies
//     at most once: gorqlite sends a failed request to the next node after
//     any failure;
//   - with cluster discovery off and several nodes named, requests go to
//     one of them, the next one after a failure.

// ErrOutcomeUnknown: a write's request failed after it was sent (a timeout,
// or a connection broken before the answer), so rqlite may or may not have
// applied it, and the driver could not learn which. Read the data to learn
// the outcome before retrying a conditional write.
var ErrOutcomeUnknown = errors.New("outcome unknown: the write may or may not have been applied")

// errNotResent is what the transport answers instead of sending a write
// again; gorqlite reports it as that node's failure.
var errNotResent = errors.New("rqlitekv: not sent again: an earlier attempt may have been applied")

// sendOnceKey is the context key of a write's *sendOnce.
type sendOnceKey struct{}

// sendOnce is the state of one write request across its attempts.
type sendOnce struct {
	unknown atomic.Bool // an attempt failed after it may have been applied
	// resend allows attempts after an unknown outcome (a recorded
	// request) until since+resendWindow.
	resend bool
	since  time.Time
}

// withSendOnce marks ctx's requests as one write, not sent again after an
// unknown outcome unless the returned sendOnce allows it.
func withSendOnce(ctx context.Context) (context.Context, *sendOnce) {
	s := new(sendOnce)
	return context.WithValue(ctx, sendOnceKey{}, s), s
}

// blocked reports whether another attempt of the write must not be sent.
func (s *sendOnce) blocked() bool {
	if s.resend {
		return time.Since(s.since) > resendWindow
	}
	return s.unknown.Load()
}

// transport passes requests to next as described at the top of this file.
type transport struct {
	next  http.RoundTripper
	nodes *nodeRing // nil unless discovery is off and several nodes are named
}

// RoundTrip sends req (with the call's consistency level, to the current
// node) unless it is a write that must not be sent again, and records
// whether a write's outcome is unknown.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	s, _ := ctx.Value(sendOnceKey{}).(*sendOnce)
	if s != nil && s.blocked() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNotResent
	}
	if lvl, ok := ctx.Value(levelKey{}).(Consistency); ok && req.URL.Path == "/db/query" {
		req = withQueryParam(req, "level", string(lvl))
	}
	node := -1
	if t.nodes != nil {
		req, node = t.nodes.route(req)
	}
	resp, err := t.next.RoundTrip(req)
	refused := false // the node refused the request without applying it
	switch {
	case err != nil:
		var op *net.OpError
		refused = errors.As(err, &op) && op.Op == "dial"
		if s != nil && !refused {
			s.unknown.Store(true) // it may have reached the node
		}
	case resp.StatusCode >= 500:
		// rqlite refuses a request it did not apply with 503 (no leader)
		// or an error naming a connection it could not make; anything
		// else from a server error on is unknown. The body is read here
		// and handed on unchanged.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		refused = rerr == nil && notApplied(resp.Status+" "+string(body))
		if s != nil && !refused {
			s.unknown.Store(true)
		}
	}
	if node >= 0 && (err != nil || resp.StatusCode >= 500) {
		t.nodes.failed(node)
	}
	return resp, err
}

// withQueryParam returns a copy of req whose URL has the parameter name
// set to value. gorqlite writes flags without values (?timings&level=weak):
// the other parameters are kept exactly as they are.
func withQueryParam(req *http.Request, name, value string) *http.Request {
	out := req.Clone(req.Context())
	parts := strings.Split(req.URL.RawQuery, "&")
	kept := parts[:0]
	for _, p := range parts {
		if p != name && !strings.HasPrefix(p, name+"=") && p != "" {
			kept = append(kept, p)
		}
	}
	out.URL.RawQuery = strings.Join(append(kept, name+"="+value), "&")
	return out
}

// notApplied reports whether a failure described by msg proves that rqlite
// did not apply the write: no connection (to the node, or from the node to
// the leader it knew), or no leader (rqlite's 503 "leader not found").
func notApplied(msg string) bool {
	for _, s := range []string{"connection refused", "leader not found", "503 Service Unavailable", "not leader"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// newClient returns a copy of c whose transport is wrapped in the driver's
// (nodes: see nodeRing).
func newClient(c *http.Client, nodes *nodeRing) *http.Client {
	out := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = &transport{next: next, nodes: nodes}
	return &out
}

// nodeRing is the nodes of a connection string, when cluster discovery is
// off: gorqlite then sends every request to the first, and the transport
// sends it to the current one instead, moving to the next after a failure.
type nodeRing struct {
	hosts []string // host:port
	cur   atomic.Int64
}

// route returns req sent to the current node, and that node's index.
func (r *nodeRing) route(req *http.Request) (*http.Request, int) {
	i := int(r.cur.Load() % int64(len(r.hosts)))
	if req.URL.Host == r.hosts[i] {
		return req, i
	}
	out := req.Clone(req.Context())
	out.URL.Host, out.Host = r.hosts[i], r.hosts[i]
	return out, i
}

// failed moves on from node i, unless another request already did.
func (r *nodeRing) failed(i int) {
	cur := r.cur.Load()
	if int(cur%int64(len(r.hosts))) == i {
		r.cur.CompareAndSwap(cur, cur+1)
	}
}
