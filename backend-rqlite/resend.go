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
)

// ErrOutcomeUnknown: a write's request failed after it was sent (a timeout,
// or a connection broken before the answer), so rqlite may or may not have
// applied it. The driver did not send it again. Read the data to learn the
// outcome before retrying a conditional write.
var ErrOutcomeUnknown = errors.New("outcome unknown: the write may or may not have been applied")

// errNotResent is what sendOnceTransport answers instead of sending a write
// again; gorqlite reports it as that node's failure.
var errNotResent = errors.New("rqlitekv: not sent again: an earlier attempt may have been applied")

// gorqlite sends a failed request to the next node of the cluster after any
// failure, which applies a write twice if the first attempt was applied
// although its answer was lost. It has no option against that, so the
// driver's HTTP transport stops it: every write request carries a sendOnce
// in its context, and an attempt is passed on to another node only while
// every failure so far proves the write was not applied (see notApplied).

// sendOnceKey is the context key of a write's *sendOnce.
type sendOnceKey struct{}

// sendOnce is the state of one write request across gorqlite's attempts.
type sendOnce struct {
	unknown atomic.Bool // an attempt failed after it may have been applied
}

// withSendOnce marks ctx's requests as one write that must not be re-sent
// after an unknown outcome.
func withSendOnce(ctx context.Context) (context.Context, *sendOnce) {
	s := new(sendOnce)
	return context.WithValue(ctx, sendOnceKey{}, s), s
}

// sendOnceTransport passes requests to next, except a write's further
// attempts after an attempt whose outcome is unknown.
type sendOnceTransport struct{ next http.RoundTripper }

// RoundTrip sends req unless it is a write whose earlier attempt's outcome
// is unknown, and records whether this attempt's outcome is.
func (t sendOnceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s, _ := req.Context().Value(sendOnceKey{}).(*sendOnce)
	if s == nil {
		return t.next.RoundTrip(req)
	}
	if s.unknown.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNotResent
	}
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			s.unknown.Store(true) // it may have reached the node
		}
	case resp.StatusCode >= 500:
		// rqlite refuses a write it did not apply with 503 (no leader) or
		// an error naming a connection it could not make; anything else
		// from a server error on is unknown. The body is read here and
		// handed on unchanged.
		body, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if rerr != nil || !notApplied(resp.Status+" "+string(body)) {
			s.unknown.Store(true)
		}
	}
	return resp, err
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

// sendOnceClient returns a copy of c whose transport is wrapped in
// sendOnceTransport.
func sendOnceClient(c *http.Client) *http.Client {
	out := *c
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out.Transport = sendOnceTransport{next: next}
	return &out
}
