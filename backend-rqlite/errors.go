package rqlitekv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rqlite/gorqlite"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvcore/driver"
)

// wrapErr turns an error from gorqlite into one of the driver's: the
// driver's and context's sentinel errors stay testable with errors.Is, and
// the text never holds the password.
func (db *DB) wrapErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorqlite.ErrClosed):
		return driver.ErrClosed
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("rqlitekv: %s: %w", op, context.Canceled)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("rqlitekv: %s: %w", op, context.DeadlineExceeded)
	}
	msg := db.scrub(err.Error())
	if strings.Contains(msg, "no such table") {
		return fmt.Errorf("rqlitekv: %s: %w (%s)", op, driver.ErrNotInitialized, msg)
	}
	return fmt.Errorf("rqlitekv: %s: %s", op, msg)
}

// invalidArg is the error of op for an argument the driver refuses: it
// wraps kvcore.ErrInvalidArgument.
func invalidArg(op, format string, args ...any) error {
	return fmt.Errorf("rqlitekv: %s: %s: %w", op, fmt.Sprintf(format, args...), kvcore.ErrInvalidArgument)
}

// ctxErr reports a canceled or expired context as the error of a request
// that failed while it was done (gorqlite reports such failures as text).
func (db *DB) ctxErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("rqlitekv: %s: %w", op, cerr)
	}
	return db.wrapErr(op, err)
}

// scrub removes the password, in every encoding a URL may give it, from msg.
func (db *DB) scrub(msg string) string {
	secret := db.cfg.password
	if secret == "" {
		return msg
	}
	for _, s := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), url.UserPassword("u", secret).String()[2:]} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// isStatementErrors reports whether err is gorqlite's report of failed
// statements (as opposed to a failed HTTP call).
func isStatementErrors(err error) bool {
	_, ok := err.(gorqlite.StatementErrors)
	return ok
}

// retryable reports whether a failed call can be sent again. gorqlite
// tries every known node and reports "tried all peers unsuccessfully" with
// one line per node; a node that could not forward a request to the leader
// answers with an error of its own. A write is retried only if it was
// refused in a way that proves it was not applied: no connection (to the
// node, or from the node to the leader it knew), or rqlite's 503 "leader
// not found" (an election is under way): see notApplied. A read (or a
// recorded write, which is applied at most once) is also retried after
// timeouts, broken connections, a gateway's 502 or 504 in front of a node,
// and an answer with no results (errNoResults).
func retryable(err error, read bool) bool {
	isSafe := func(line string) bool {
		if notApplied(line) {
			return true
		}
		for _, s := range []string{"EOF", "connection reset", "Client.Timeout", "i/o timeout", "502 Bad Gateway", "504 Gateway Timeout"} {
			if read && strings.Contains(line, s) {
				return true
			}
		}
		return false
	}
	if errors.Is(err, errNoResults) {
		return read
	}
	msg := err.Error()
	if !strings.Contains(msg, "tried all peers unsuccessfully") {
		return isSafe(msg)
	}
	n := 0
	for _, line := range strings.Split(msg, "\n") {
		if !strings.Contains(line, "failed due to") {
			continue
		}
		n++
		if !isSafe(line) {
			return false
		}
	}
	return n > 0
}

// retry runs call until it succeeds, fails in a way that cannot be
// retried, ctx is done or the leader wait is over.
func (db *DB) retry(ctx context.Context, read bool, call func() error) error {
	deadline := time.Now().Add(db.cfg.leaderWait)
	wait := 20 * time.Millisecond
	for {
		err := call()
		if err == nil || isStatementErrors(err) || errors.Is(err, ErrOutcomeUnknown) || ctx.Err() != nil ||
			!retryable(err, read) || !time.Now().Add(wait).Before(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		if db.cfg.discovery {
			// Learn the new leader (and drop nodes that are gone); if the
			// cluster cannot say yet, the old list is kept.
			_, _ = db.conn.Leader()
		}
		if wait < 500*time.Millisecond {
			wait *= 2
		}
	}
}
