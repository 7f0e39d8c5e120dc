package reliability

import (
	"fmt"

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
)

// String names the kind.
func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpCAS:
		return "cas"
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
	Found    bool   // OpGet: the key existed
	Version  int64  // OpGet: the version read
	Value    string // OpGet: the value read
	Mismatch bool   // OpCAS: the write was refused with ErrVersionMismatch
}

// registerState is the sequential state of one key: whether it exists, its
// version and its value. It is comparable, so porcupine's default equality
// applies.
type registerState struct {
	exists  bool
	version int64
	value   string
}

// RegisterModel is the sequential specification kvcore promises for one key
// at a time: a register with a version that starts at 1 when the key is
// created and grows by one on every write. A Get returns the current
// version and value; a Put always writes; a CAS writes if and only if the
// expected version holds (0: the key does not exist) and otherwise reports
// a mismatch and changes nothing. Histories are partitioned by key, since
// operations on different keys commute.
func RegisterModel() porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() any { return registerState{} },
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
			}
			return fmt.Sprintf("put(%s, %s)", i.Key, i.Value)
		},
		DescribeState: func(s any) string {
			st := s.(registerState)
			if !st.exists {
				return "missing"
			}
			return fmt.Sprintf("v%d %s", st.version, st.value)
		},
	}
}

// step applies one operation to the state of its key.
func step(state, in, out any) (bool, any) {
	st, i, o := state.(registerState), in.(Input), out.(Output)
	written := registerState{exists: true, version: st.version + 1, value: i.Value}
	switch i.Kind {
	case OpGet:
		if o.Found != st.exists {
			return false, st
		}
		return !o.Found || (o.Version == st.version && o.Value == st.value), st
	case OpPut:
		return !o.Mismatch, written
	case OpCAS:
		holds := (i.Version == 0 && !st.exists) || (i.Version > 0 && st.exists && i.Version == st.version)
		if holds {
			return !o.Mismatch, written
		}
		return o.Mismatch, st
	}
	return false, st
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
