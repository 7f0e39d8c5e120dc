package reliability

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// OpKind is what a recorded operation did.
type OpKind int

// The operations the register model knows.
const (
	// OpGet reads a key (kvcore GetRecord).
	OpGet OpKind = iota + 1
	// OpPut writes a key whatever its version (kvcore Put with version -1).
	OpPut
	// OpCAS writes a key only if it is at Input.Version (kvcore Put with
	// version N; 0 means "only if it does not exist").
	OpCAS
	// OpExpire makes a key expire at once: kvcore Touch with ExpireTTL,
	// the shortest TTL the store keeps. Output.Found says whether the key
	// existed (a missing key is ErrNotFound and changes nothing).
	OpExpire
)

// ExpireTTL is the TTL of OpExpire: one microsecond, the precision of
// stored times, so the record has expired for every read that begins
// after the touch returned.
const ExpireTTL = time.Microsecond

// String names the kind.
func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpCAS:
		return "cas"
	case OpExpire:
		return "expire"
	}
	return fmt.Sprintf("OpKind(%d)", int(k))
}

// Input is the input of one recorded operation on one key.
type Input struct {
	Kind    OpKind
	Key     string
	Version int64  // OpCAS: the expected version
	Value   string // OpPut, OpCAS: the value written
}

// Output is what one recorded operation returned.
type Output struct {
	Found    bool   // OpGet, OpExpire: the key existed
	Version  int64  // OpGet: the version read
	Value    string // OpGet: the value read
	Mismatch bool   // OpCAS: the write was refused with ErrVersionMismatch
}

// registerState is the sequential state of one key: whether it exists, its
// version and its value, and, once it has expired, the version it had
// (ghost; 0 if it never expired since its last write). It is comparable,
// so porcupine's default equality applies.
type registerState struct {
	exists  bool
	version int64
	value   string
	ghost   int64
}

// RegisterModel is the sequential specification kvcore promises for one key
// at a time: a register with a version that starts at 1 when the key is
// created and grows by one on every write. A Get returns the current
// version and value; a Put always writes; a CAS writes if and only if the
// expected version holds (0: the key does not exist) and otherwise reports
// a mismatch and changes nothing. Histories are partitioned by key, since
// operations on different keys commute.
//
// An Expire of an existing key reports it found, and the key is missing
// for every later read. Expiry is a matter of time, not of commit order: a
// write evaluates it at its own clock reading, taken before it commits, so
// a write that began before the touch committed may still find the record
// live, and continue its version (with no expiry: the write sets none). So
// the first write after an expiry may either create the key at version 1
// or write over the expired record, as if it had come first; the model
// allows both (it is nondeterministic), and the reads that follow tell
// which.
func RegisterModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: partitionByKey,
		Init:      func() []any { return []any{registerState{}} },
		Step:      step,
		DescribeOperation: func(in, out any) string {
			i, o := in.(Input), out.(Output)
			switch i.Kind {
			case OpGet:
				if !o.Found {
					return fmt.Sprintf("get(%s) -> missing", i.Key)
				}
				return fmt.Sprintf("get(%s) -> v%d %s", i.Key, o.Version, o.Value)
			case OpCAS:
				return fmt.Sprintf("cas(%s, v%d, %s) mismatch=%t", i.Key, i.Version, i.Value, o.Mismatch)
			case OpExpire:
				return fmt.Sprintf("expire(%s) found=%t", i.Key, o.Found)
			}
			return fmt.Sprintf("put(%s, %s)", i.Key, i.Value)
		},
		DescribeState: func(s any) string {
			st := s.(registerState)
			switch {
			case st.exists:
				return fmt.Sprintf("v%d %s", st.version, st.value)
			case st.ghost > 0:
				return fmt.Sprintf("missing (expired at v%d)", st.ghost)
			}
			return "missing"
		},
	}
	return nm.ToModel()
}

// step returns the states one operation may leave its key in (none if the
// operation's output is impossible from st).
func step(state, in, out any) []any {
	st, i, o := state.(registerState), in.(Input), out.(Output)
	written := func(version int64) registerState {
		return registerState{exists: true, version: version, value: i.Value}
	}
	var next []any
	add := func(cond bool, s registerState) {
		if cond {
			next = append(next, s)
		}
	}
	switch {
	case i.Kind == OpGet:
		add(o.Found == st.exists && (!o.Found || (o.Version == st.version && o.Value == st.value)), st)
	case st.exists:
		switch i.Kind {
		case OpPut:
			add(!o.Mismatch, written(st.version+1))
		case OpCAS:
			holds := i.Version == st.version
			add(holds && !o.Mismatch, written(st.version+1))
			add(!holds && o.Mismatch, st)
		case OpExpire:
			add(o.Found, registerState{ghost: st.version})
		}
	default:
		// Missing; if it expired, a write may still find it live at its
		// last version (ghost), as if it had come before the expiry.
		switch i.Kind {
		case OpPut:
			add(!o.Mismatch, written(1))
			add(!o.Mismatch && st.ghost > 0, written(st.ghost+1))
		case OpCAS:
			add(i.Version == 0 && !o.Mismatch, written(1))
			add(st.ghost > 0 && i.Version == st.ghost && !o.Mismatch, written(st.ghost+1))
			add(o.Mismatch && (i.Version != 0 || (st.ghost > 0 && i.Version != st.ghost)), st)
		case OpExpire:
			// Found: it found the expired record live and set another
			// expiry that has passed.
			add(!o.Found || st.ghost > 0, st)
		}
	}
	return next
}

// partitionByKey splits a history into one history per key, keeping order.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	idx := map[string]int{}
	var out [][]porcupine.Operation
	for _, op := range history {
		k := op.Input.(Input).Key
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], op)
	}
	return out
}
