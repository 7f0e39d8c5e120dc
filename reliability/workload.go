package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kvsuite/kv/kvcore"
)

// Workload shapes RunWorkload. Zero fields take the defaults.
type Workload struct {
	// Clients is how many goroutines run operations at once (default 8).
	Clients int
	// Keys is how many keys they share (default 4).
	Keys int
	// OpsPerClient is how many operations each client runs (default 200).
	OpsPerClient int
	// KeyPrefix starts every key (default "lin/").
	KeyPrefix string
}

func (w Workload) withDefaults() Workload {
	if w.Clients <= 0 {
		w.Clients = 8
	}
	if w.Keys <= 0 {
		w.Keys = 4
	}
	if w.OpsPerClient <= 0 {
		w.OpsPerClient = 200
	}
	if w.KeyPrefix == "" {
		w.KeyPrefix = "lin/"
	}
	return w
}

// RunWorkload runs w.Clients clients at once against s, each doing
// w.OpsPerClient random operations on w.Keys shared keys: reads
// (GetRecord), blind writes (Put with version -1) and compare-and-set
// writes (Put with version N: mostly right after a read of the key, with
// the version read; otherwise with the version the client last saw, or a
// nearby one that may well be wrong). Every write stores a value no other write stores. It returns the
// history, with call and return times on one monotonic clock, ready for
// porcupine with RegisterModel. Any error other than a version mismatch or
// a missing key stops the run and is returned.
func RunWorkload(ctx context.Context, s *kvcore.Store, w Workload) ([]porcupine.Operation, error) {
	w = w.withDefaults()
	start := time.Now()
	clock := func() int64 { return time.Since(start).Nanoseconds() }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	histories := make([][]porcupine.Operation, w.Clients)
	errs := make([]error, w.Clients)
	var wg sync.WaitGroup
	for c := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			histories[c], errs[c] = runClient(ctx, s, w, c, clock)
			if errs[c] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var all []porcupine.Operation
	for _, h := range histories {
		all = append(all, h...)
	}
	return all, errors.Join(errs...)
}

// runClient runs one client's operations and returns its history.
func runClient(ctx context.Context, s *kvcore.Store, w Workload, c int, clock func() int64) ([]porcupine.Operation, error) {
	rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
	seen := map[string]int64{} // the version this client last saw per key
	ops := make([]porcupine.Operation, 0, w.OpsPerClient)
	for n := range w.OpsPerClient {
		key := fmt.Sprintf("%s%d", w.KeyPrefix, rng.IntN(w.Keys))
		in := Input{Key: key}
		switch r := rng.IntN(100); {
		case r < 40:
			in.Kind = OpGet
		case r < 65:
			in.Kind = OpPut
			in.Value = fmt.Sprintf(`"c%d-%d"`, c, n)
		default:
			in.Kind = OpCAS
			in.Value = fmt.Sprintf(`"c%d-%d"`, c, n)
			in.Version = seen[key]
			if rng.IntN(5) == 0 { // sometimes a version that may well be wrong
				in.Version = max(0, in.Version+int64(rng.IntN(3))-1)
			}
		}
		if in.Kind == OpCAS && rng.IntN(4) != 0 {
			// Mostly read-modify-write: read the key (a recorded get) and
			// write with the version just read.
			out, err := record(ctx, s, c, Input{Kind: OpGet, Key: key}, clock, &ops)
			if err != nil {
				return ops, fmt.Errorf("client %d op %d (get %s): %w", c, n, key, err)
			}
			in.Version = out.Version // 0 if the key was missing
		}
		out, err := record(ctx, s, c, in, clock, &ops)
		if err != nil {
			return ops, fmt.Errorf("client %d op %d (%s %s): %w", c, n, in.Kind, key, err)
		}
		switch {
		case in.Kind == OpGet && out.Found:
			seen[key] = out.Version
		case in.Kind == OpCAS && !out.Mismatch:
			seen[key] = in.Version + 1
		}
	}
	return ops, nil
}

// record runs one operation and appends it, timed, to ops.
func record(ctx context.Context, s *kvcore.Store, c int, in Input, clock func() int64, ops *[]porcupine.Operation) (Output, error) {
	call := clock()
	out, err := apply(ctx, s, in)
	ret := clock()
	if err == nil {
		*ops = append(*ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
	}
	return out, err
}

// apply runs one operation against s.
func apply(ctx context.Context, s *kvcore.Store, in Input) (Output, error) {
	switch in.Kind {
	case OpGet:
		rec, err := s.GetRecord(ctx, in.Key)
		if errors.Is(err, kvcore.ErrNotFound) {
			return Output{}, nil
		}
		if err != nil {
			return Output{}, err
		}
		return Output{Found: true, Version: rec.Version, Value: string(rec.Value)}, nil
	case OpPut:
		return Output{}, s.Put(ctx, in.Key, -1, json.RawMessage(in.Value))
	case OpCAS:
		err := s.Put(ctx, in.Key, in.Version, json.RawMessage(in.Value))
		if errors.Is(err, kvcore.ErrVersionMismatch) {
			return Output{Mismatch: true}, nil
		}
		return Output{}, err
	}
	return Output{}, fmt.Errorf("unknown operation kind %v", in.Kind)
}
