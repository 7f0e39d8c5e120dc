package kvstate

import (
	"fmt"
	"strings"

	"github.com/kvsuite/kv/kvcore"
)

// The key layout (see the package documentation). Every record of one
// entity is under its entity prefix, kvstate/<kind>/<id>/; kinds and ids
// cannot contain '/', so no entity's prefix holds another's records.
const (
	rootPrefix   = "kvstate/"
	stateSuffix  = "state"
	eventsSuffix = "events/"
	inSuffix     = "/in"
	outSuffix    = "/out"
	// seqDigits is the width of an event's sequence number in its key:
	// every positive int64 fits, so key order is number order.
	seqDigits = 19
)

// layoutBytes is what the longest key of an entity (an outbound event's)
// adds to its kind and id.
const layoutBytes = len(rootPrefix) + len("/") + len("/") + len(eventsSuffix) + seqDigits + len(outSuffix)

// keys builds the keys of one entity.
type keys struct {
	entity string // kvstate/<kind>/<id>/
}

// entityKeys validates kind and id and returns the entity's keys.
func entityKeys(kind, id string) (keys, error) {
	if err := checkSegment("id", id); err != nil {
		return keys{}, err
	}
	if n := len(kind) + len(id) + layoutBytes; n > kvcore.MaxKeyLen {
		return keys{}, fmt.Errorf("%w: id %.64q is too long: %d bytes, at most %d for kind %.64q (keys are at most %d bytes)",
			ErrInvalidArgument, id, len(id), kvcore.MaxKeyLen-layoutBytes-len(kind), kind, kvcore.MaxKeyLen)
	}
	return keys{entity: rootPrefix + kind + "/" + id + "/"}, nil
}

// checkKind validates a kind: a name that leaves room for ids.
func checkKind(kind string) error {
	if err := checkSegment("kind", kind); err != nil {
		return err
	}
	if max := kvcore.MaxKeyLen - layoutBytes - 1; len(kind) > max {
		return fmt.Errorf("%w: kind %.64q is too long: %d bytes, at most %d", ErrInvalidArgument, kind, len(kind), max)
	}
	return nil
}

// checkSegment is the rule for kinds and ids: kvcore's rule for names
// (non-empty UTF-8 without NUL) and no '/'.
func checkSegment(what, s string) error {
	if err := kvcore.ValidateName(what, s); err != nil {
		return err
	}
	if strings.Contains(s, "/") {
		return fmt.Errorf("%w: %s %.64q contains '/'", ErrInvalidArgument, what, s)
	}
	return nil
}

func (k keys) state() string { return k.entity + stateSuffix }

func (k keys) events() string { return k.entity + eventsSuffix }

// eventsEnd is the end of the events' range: the smallest key after every
// key that starts with events() ('0' follows '/').
func (k keys) eventsEnd() string { return k.entity + eventsSuffix[:len(eventsSuffix)-1] + "0" }

// event is the key of event number seq (seq >= 1).
func (k keys) event(seq int64, outbound bool) string {
	b := make([]byte, 0, len(k.entity)+len(eventsSuffix)+seqDigits+len(outSuffix))
	b = append(b, k.entity...)
	b = append(b, eventsSuffix...)
	b = appendSeq(b, seq)
	if outbound {
		return string(append(b, outSuffix...))
	}
	return string(append(b, inSuffix...))
}

// appendSeq appends seq (>= 0) as seqDigits decimal digits.
func appendSeq(b []byte, seq int64) []byte {
	var d [seqDigits]byte
	for i := seqDigits - 1; i >= 0; i-- {
		d[i] = byte('0' + seq%10)
		seq /= 10
	}
	return append(b, d[:]...)
}

// parseEventSuffix parses what follows an entity's events prefix:
// "<seq>/in" or "<seq>/out".
func parseEventSuffix(rest string) (seq int64, outbound, ok bool) {
	if len(rest) < seqDigits {
		return 0, false, false
	}
	for _, c := range []byte(rest[:seqDigits]) {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		next := seq*10 + int64(c-'0')
		if next < 0 {
			return 0, false, false // beyond int64 (19 digits cannot wrap past it)
		}
		seq = next
	}
	switch rest[seqDigits:] {
	case inSuffix:
		return seq, false, seq > 0
	case outSuffix:
		return seq, true, seq > 0
	}
	return 0, false, false
}

// EventRef is what an event record's key says: which entity of which kind
// the event belongs to, its number in the entity and its direction.
type EventRef struct {
	Kind     string
	ID       string
	Seq      int64
	Outbound bool
}

// ParseEventKey reads an event record's key, such as one a kvstream
// consumer receives. It reports false for any key that is not an event's.
func ParseEventKey(key string) (EventRef, bool) {
	rest, ok := strings.CutPrefix(key, rootPrefix)
	if !ok {
		return EventRef{}, false
	}
	kind, rest, ok := strings.Cut(rest, "/")
	if !ok || kind == "" {
		return EventRef{}, false
	}
	id, rest, ok := strings.Cut(rest, "/")
	if !ok || id == "" {
		return EventRef{}, false
	}
	rest, ok = strings.CutPrefix(rest, eventsSuffix)
	if !ok {
		return EventRef{}, false
	}
	seq, out, ok := parseEventSuffix(rest)
	if !ok {
		return EventRef{}, false
	}
	return EventRef{Kind: kind, ID: id, Seq: seq, Outbound: out}, true
}
