package kvnats

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvstream"
)

func TestMessage(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 30, 0, 123456000, time.FixedZone("x", 3600))
	r := kvstream.Record{Seq: 42, Namespace: "ns 1", Key: "user/42", Action: "update", Version: 3,
		Type: "Person", Value: json.RawMessage(`{"name":"Ann"}`), Time: at}
	m := message("src", "kv", "KV", r)
	if m.Subject != "kv.ns%201.user.42" {
		t.Errorf("subject %q", m.Subject)
	}
	if string(m.Data) != `{"name":"Ann"}` {
		t.Errorf("payload %q", m.Data)
	}
	want := map[string]string{
		HeaderAction: "update", HeaderNamespace: "ns%201", HeaderKey: "user/42", HeaderVersion: "3",
		HeaderType: "Person", HeaderSeq: "42", HeaderTime: "2025-03-01T11:30:00.123456Z",
		jetstream.MsgIDHeader: "src/kv/42", jetstream.ExpectedStreamHeader: "KV",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if len(m.Header) != len(want) {
		t.Errorf("headers %v, want %d of them", m.Header, len(want))
	}
	// A delete has no payload.
	r.Action, r.Value = "delete", json.RawMessage(`null`)
	if m := message("src", "kv", "KV", r); m.Data != nil || m.Header.Get(HeaderAction) != "delete" {
		t.Errorf("delete: payload %q, action %q", m.Data, m.Header.Get(HeaderAction))
	}
	// Nor does a touch, whose action says that the record still exists.
	r.Action, r.Value = kvstream.ActionTouch, nil
	if m := message("src", "kv", "KV", r); m.Data != nil || m.Header.Get(HeaderAction) != "touch" || m.Header.Get(HeaderVersion) != "3" {
		t.Errorf("touch: payload %q, action %q, version %q", m.Data, m.Header.Get(HeaderAction), m.Header.Get(HeaderVersion))
	}
}

func TestMsgID(t *testing.T) {
	if got := MsgID("0123abcd", "acme.kv", 9007199254740993); got != "0123abcd/acme.kv/9007199254740993" {
		t.Errorf("MsgID = %q", got)
	}
	// Different databases, prefixes and seqs give different ids.
	ids := map[string]bool{}
	for _, src := range []string{"a", "b"} {
		for _, p := range []string{"kv", "kv2"} {
			for _, seq := range []int64{1, 2} {
				ids[MsgID(src, p, seq)] = true
			}
		}
	}
	if len(ids) != 8 {
		t.Errorf("%d distinct ids of 8", len(ids))
	}
}

func TestPublishable(t *testing.T) {
	small := message("src", "kv", "KV", kvstream.Record{Seq: 1, Key: "k", Action: "create", Value: json.RawMessage(`1`)})
	if err := publishable(small, 0); err != nil {
		t.Errorf("small message: %v", err)
	}
	if err := publishable(small, int32(size(small))); err != nil {
		t.Errorf("message of exactly the max size: %v", err)
	}
	if err := publishable(small, int32(size(small)-1)); !errors.Is(err, ErrUnpublishable) {
		t.Errorf("message one byte over the max size: %v", err)
	}
	// Each escaped byte takes three in the subject.
	long := message("src", "kv", "KV", kvstream.Record{Seq: 1, Key: strings.Repeat("é", 700), Action: "create"})
	if err := publishable(long, 0); !errors.Is(err, ErrUnpublishable) || !strings.Contains(err.Error(), "subject") {
		t.Errorf("key of 1400 escaped bytes: %v", err)
	}
}

// TestSize: size counts what a JetStream stream counts for a message: the
// payload and the encoded headers, as the nats client encodes them.
func TestSize(t *testing.T) {
	m := &nats.Msg{Subject: "a", Data: []byte("12345"), Header: nats.Header{"A": {"1"}, "Bb": {"x", "yz"}}}
	// "NATS/1.0\r\n" + "A: 1\r\n" + "Bb: x\r\n" + "Bb: yz\r\n" + "\r\n"
	if got, want := size(m), 5+10+6+7+8+2; got != want {
		t.Errorf("size = %d, want %d", got, want)
	}
	if got := size(&nats.Msg{Data: []byte("12")}); got != 2 {
		t.Errorf("size without headers = %d", got)
	}
}
