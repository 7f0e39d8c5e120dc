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
	// ReadPercent is the share of operations that are plain reads (default
	// 40); the others are expiries (ExpirePercent), then blind writes and
	// compare-and-set writes, 25 to 35.
	ReadPercent int
	// ExpirePercent is the share of operations that make their key expire
	// at once with Touch (OpExpire; default 0). ReadPercent plus
	// ExpirePercent is at most 100.
	ExpirePercent int
	// FirstClient is the first client's id (default 0): the clients are
	// FirstClient to FirstClient+Clients-1. Workloads whose histories are
	// checked together (run by several processes) take distinct ranges, so
	// that no two writes store the same value.
	FirstClient int
	// Until, if set, stops each client once it has passed (before its
	// OpsPerClient operations if they take longer).
	Until time.Time
	// Clock gives the call and return times (default: nanoseconds since
	// the run began, on this process's monotonic clock). Histories of
	// several processes checked together need one clock that all of them
	// read.
	Clock func() int64
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
	if w.ReadPercent <= 0 || w.ReadPercent > 100 {
		w.ReadPercent = 40
	}
	if w.ExpirePercent < 0 || w.ReadPercent+w.ExpirePercent > 100 {
		w.ExpirePercent = 0
	}
	return w
}

// Target is what a workload runs against: a *kvcore.Store, or anything
// that reads and writes one the same way (such as a kvcache.Cache).
type Target interface {
	GetRecord(ctx context.Context, key string) (kvcore.Record, error)
	Put(ctx context.Context, key string, version int64, value any, opts ...kvcore.WriteOption) error
	Touch(ctx context.Context, key string, ttl time.Duration) error
}

// RunWorkload runs w.Clients clients at once against s, each doing
// w.OpsPerClient random operations on w.Keys shared keys: reads
// (GetRecord), expiries (Touch with ExpireTTL, if w.ExpirePercent is
// set), blind writes (Put with version -1) and compare-and-set
// writes (Put with version N: mostly right after a read of the key, with
// the version read; otherwise with the version the client last saw, or a
// nearby one that may well be wrong). Every write stores a value no other write stores. It returns the
// history, with call and return times on one monotonic clock, ready for
// porcupine with RegisterModel. Any error other than a version mismatch or
// a missing key stops the run and is returned.
func RunWorkload(ctx context.Context, s Target, w Workload) ([]porcupine.Operation, error) {
	w = w.withDefaults()
	start := time.Now()
	clock := w.Clock
	if clock == nil {
		clock = func() int64 { return time.Since(start).Nanoseconds() }
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	histories := make([][]porcupine.Operation, w.Clients)
	errs := make([]error, w.Clients)
	var wg sync.WaitGroup
	for i := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := w.FirstClient + i
			histories[i], errs[i] = runClient(ctx, s, w, c, clock)
			if errs[i] != nil {
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
func runClient(ctx context.Context, s Target, w Workload, c int, clock func() int64) ([]porcupine.Operation, error) {
	rng := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
	seen := map[string]int64{} // the version this client last saw per key
	ops := make([]porcupine.Operation, 0, min(w.OpsPerClient, 4096))
	expire := w.ReadPercent + w.ExpirePercent // below: an expiry
	blind := expire + (100-expire)*25/60      // below: a blind write
	for n := range w.OpsPerClient {
		if !w.Until.IsZero() && time.Now().After(w.Until) {
			break
		}
		key := fmt.Sprintf("%s%d", w.KeyPrefix, rng.IntN(w.Keys))
		in := Input{Key: key}
		switch r := rng.IntN(100); {
		case r < w.ReadPercent:
			in.Kind = OpGet
		case r < expire:
			in.Kind = OpExpire
		case r < blind:
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
		case in.Kind == OpExpire:
			seen[key] = 0
		}
	}
	return ops, nil
}

// record runs one operation and appends it, timed, to ops.
func record(ctx context.Context, s Target, c int, in Input, clock func() int64, ops *[]porcupine.Operation) (Output, error) {
	call := clock()
	out, err := apply(ctx, s, in)
	ret := clock()
	if err == nil {
		*ops = append(*ops, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
	}
	return out, err
}

// apply runs one operation against s.
func apply(ctx context.Context, s Target, in Input) (Output, error) {
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
	case OpExpire:
		err := s.Touch(ctx, in.Key, ExpireTTL)
		if errors.Is(err, kvcore.ErrNotFound) {
			return Output{}, nil
		}
		return Output{Found: err == nil}, err
	}
	return Output{}, fmt.Errorf("unknown operation kind %v", in.Kind)
}
