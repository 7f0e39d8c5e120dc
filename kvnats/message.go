package kvnats

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvstream"
)

// The headers of every message. HeaderNamespace, HeaderKey and HeaderType
// are escaped (see ParseHeader); the others never need it.
const (
	HeaderAction    = "Kv-Action"    // create, update, delete or touch (kvstream.Action*)
	HeaderNamespace = "Kv-Namespace" // the entry's namespace ("" for the default one)
	HeaderKey       = "Kv-Key"       // the record's key
	HeaderVersion   = "Kv-Version"   // the record's version after the change, in decimal
	HeaderType      = "Kv-Type"      // the record's type
	HeaderSeq       = "Kv-Seq"       // the entry's position in kv's stream, in decimal
	HeaderTime      = "Kv-Time"      // when the change was committed, RFC 3339 in UTC with nanoseconds
)

// MsgID returns the Nats-Msg-Id of the entry seq of the kv stream whose
// identity is source, published under prefix: "<source>/<prefix>/<seq>".
// JetStream drops a message whose id it has seen within the stream's
// duplicate window, so an entry published again (after a crash, a lost
// acknowledgement or a restart of NATS) is stored once.
func MsgID(source, prefix string, seq int64) string {
	return source + "/" + prefix + "/" + strconv.FormatInt(seq, 10)
}

// message is the NATS message of r: its subject, headers and payload (the
// value of a create or an update; empty for a delete and a touch).
func message(source, prefix, stream string, r kvstream.Record) *nats.Msg {
	h := nats.Header{}
	h.Set(HeaderAction, r.Action)
	h.Set(HeaderNamespace, headerValue(r.Namespace))
	h.Set(HeaderKey, headerValue(r.Key))
	h.Set(HeaderVersion, strconv.FormatInt(r.Version, 10))
	h.Set(HeaderType, headerValue(r.Type))
	h.Set(HeaderSeq, strconv.FormatInt(r.Seq, 10))
	h.Set(HeaderTime, r.Time.UTC().Format(time.RFC3339Nano))
	h.Set(jetstream.MsgIDHeader, MsgID(source, prefix, r.Seq))
	if stream != "" {
		h.Set(jetstream.ExpectedStreamHeader, stream)
	}
	var data []byte
	if r.Action == kvstream.ActionCreate || r.Action == kvstream.ActionUpdate {
		data = r.Value
	}
	return &nats.Msg{Subject: subject(prefix, r.Namespace, r.Key), Header: h, Data: data}
}

// size is the number of bytes a JetStream stream counts for m: its payload
// and its headers as NATS encodes them.
func size(m *nats.Msg) int {
	n := len(m.Data)
	if len(m.Header) > 0 {
		n += len("NATS/1.0\r\n") + len("\r\n")
		for k, vs := range m.Header {
			for _, v := range vs {
				n += len(k) + len(": ") + len(v) + len("\r\n")
			}
		}
	}
	return n
}

// maxSubject is the longest subject kvnats publishes. NATS refuses a
// protocol line longer than its max_control_line (4096 bytes by default),
// which holds the subject, the reply subject and the sizes; a key of
// mostly escaped bytes can make a longer subject (each escaped byte takes
// three).
const maxSubject = 4000

// publishable reports why m cannot be published to a JetStream stream
// that stores messages of at most maxMsgSize bytes (<= 0: no limit), or
// nil.
func publishable(m *nats.Msg, maxMsgSize int32) error {
	if len(m.Subject) > maxSubject {
		return fmt.Errorf("%w: its subject is %d bytes, more than NATS accepts (%d)", ErrUnpublishable, len(m.Subject), maxSubject)
	}
	if n := size(m); maxMsgSize > 0 && n > int(maxMsgSize) {
		return fmt.Errorf("%w: its message is %d bytes, more than the JetStream stream's max message size (%d)", ErrUnpublishable, n, maxMsgSize)
	}
	return nil
}
