package kvcore

import "time"

// Observer is told of each operation of a Store when it returns: op is the
// operation's name as its errors give it ("get", "get batch", "get prefix",
// "get range", "get type", "list", "count", "count prefix", "count range",
// "count type", "scan" for each page an iterator reads, "put", "patch",
// "delete", "delete prefix", "delete range", "delete all", "touch",
// "mutate"), d how long it took, and err what it returned (nil on success;
// a Get that finds no key succeeds). It is called in the caller's
// goroutine, by every namespace view of the store, so it must be quick and
// safe for concurrent use. kvcore depends on no metrics library: an
// Observer adapts the calls to one (package kvweb/kvmetrics does it for
// Prometheus).
type Observer func(op string, d time.Duration, err error)

// WithObserver sets the store's Observer. Without one, an operation pays
// one nil check for it.
func WithObserver(o Observer) Option {
	return func(o2 *options) error {
		if o == nil {
			return invalidArg("nil observer")
		}
		o2.observer = o
		return nil
	}
}

// track starts timing op and returns the function that reports it, with
// the error *err holds by then, to the observer: defer s.track(op, &err)().
// Without an observer it reads no clock and returns a function that does
// nothing.
func (s *Store) track(op string, err *error) func() {
	obs := s.observer
	if obs == nil {
		return func() {}
	}
	start := time.Now()
	return func() { obs(op, time.Since(start), *err) }
}
