package postgreskv

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kvsuite/kv/kvcore/driver"
)

// Group commit: concurrent Apply calls share one transaction, so that many
// writers pay for one commit (and its WAL flush) instead of one each.
//
// An Apply that finds no group in flight becomes a committer at once: it
// takes the batches waiting in the queue (up to maxGroupMembers), adds its
// own and commits them as one group. Otherwise it queues its batch and
// waits for a group to take it. A lone Apply therefore never waits: it runs
// alone, as one implicit transaction, exactly as without grouping.
//
// Groups are pipelined, and take turns. A group that has sent its COMMIT
// only waits for the WAL flush, which takes no CPU, and the next group may
// run beside it (up to DB.maxCommitters groups in flight). The next group
// starts as soon as as many batches wait as the groups in flight hold
// (with steady writers: the batches of the group before, which come back
// once their commit is done), or else when a group ends; beside a single
// group it starts even while that one still executes. Steady writers thus
// split into two groups of equal size that take turns: one executes on the
// server while the other's commit is flushed and its callers make their
// next writes, so the server, the disk and the client all keep working and
// each group still pays one round trip, one BEGIN and one COMMIT for many
// batches. (Starting the second group only once the first had sent its
// COMMIT kept the writers in one convoy that took turns with itself: 16
// writers 10,500 against 14,700 puts/s, 4 writers 4,200 against 5,700;
// BenchmarkPut.) Every group that ends, and every group that sends its
// COMMIT, starts the next one if it may (from a goroutine of its own: a
// caller returns once its own group is done).
//
// A group that starts beside executing groups takes only the waiting
// batches that write none of their keys (see free); the others keep their
// place in the queue. Two groups that execute at once therefore never wait
// for each other's row locks: a group runs its plain puts in one statement
// before its other batches, so the keys of two groups are not locked in one
// global order, and without this rule contended writers deadlocked (found
// by PostgreSQL only after deadlock_timeout, a second by default;
// TestGroupCommitNoDeadlock). A group that has sent its COMMIT waits for no
// lock, so batches that write its keys may start and wait for its commit.
//
// Otherwise a group starts beside the groups in flight only when waiting
// in line would cost more than running beside: when a full group is waiting, or
// when the newest group in flight has run for longer than groupStall
// (waiting on a row lock, say, or a large batch), so that one slow group
// does not hold up every writer. An Apply checks this when it arrives and,
// while it waits in the queue, every groupStall.
//
// A group of several batches, one of which may fail by its own conditions
// (an expected version, a fence), runs as BEGIN and the batches'
// statements, sent as one pgx batch (one round trip), then COMMIT (a second
// one: the point where the next group may start). Each batch that may fail
// runs inside a SAVEPOINT. If such a batch fails, PostgreSQL skips the rest
// of the pipeline; the committer rolls back to that batch's savepoint,
// which undoes only its ops, hands the batch its own error, and sends the
// batches after it in two more round trips (the rollback first: until it
// has run, PostgreSQL does not even prepare statements). Each batch gets
// its own results, or the commit's error if the COMMIT fails. A batch that
// cannot fail by its conditions (a put with version -1, say) runs without a
// savepoint, which spares the server a subtransaction per batch; if it
// fails all the same, the whole transaction is rolled back, that batch gets
// its error and the others are queued again. A group of batches none of
// which may fail by its conditions (the usual group of puts) has no
// savepoint to return to: it runs as one implicit transaction, its
// statements and their commit in one round trip, rolled back by PostgreSQL
// itself if a statement fails (4 writers: 5,100 against 6,700 puts/s with
// BEGIN and COMMIT; BenchmarkPut).
//
// A group that loses a deadlock, or fails to serialize (under a default
// isolation of REPEATABLE READ or SERIALIZABLE), at a statement or at its
// commit, is rolled back whole, and all its batches are queued again (see
// retry.go); the batch that failed (every batch, if the commit did) uses
// up one of its txAttempts attempts, and gets the error once none is left.
// Groups hold the locks of all their batches until the commit, so two
// groups can deadlock where their batches alone would not. To make that
// rare, a group runs its batches ordered by the first key they write, so
// single-key batches take their row locks in one global order.
//
// The stream sequencer (stream.go) is unaffected: every stream row is still
// inserted by the transaction that makes the change, with a seq drawn while
// it holds the record's row lock, and is given a position only once it is
// visible.

const (
	// committersCap caps the groups in flight at once (also at most half
	// the pool). Beyond the first, a group starts only as described above.
	committersCap = 4
	// groupStall is how long the newest group in flight may run before an
	// Apply that arrives starts a group of its own beside it.
	groupStall = 20 * time.Millisecond
	// maxGroupMembers caps the batches in one group. Each batch runs in a
	// subtransaction; PostgreSQL caches 64 subtransaction ids per
	// transaction, and every snapshot taken while one has more gets slower.
	maxGroupMembers = 32
	// maxGroupStatements caps the statements in one group (a larger batch
	// still runs, alone).
	maxGroupStatements = 1024
)

// applyReq is one Apply on its way to a commit.
type applyReq struct {
	ctx     context.Context
	stmts   []stmt // nil for a plain put until made (see DB.statements)
	results []driver.Result
	mayFail bool       // it has a fence or a condition that may not hold
	lockKey string     // namespace and first key it writes: the group's order
	keys    []string   // namespace and key of each op after the first
	anyKey  bool       // it may write keys not named by lockKey and keys (a range delete)
	put     *driver.Op // its one op, a plain put that a group may write with others in one statement (nil: none, or not any more)
	now     time.Time  // the batch's time (for put's statement)
	retries int
	err     error
	done    chan struct{} // closed when results and err are final
}

// eachKey calls fn with each key (namespace and key) that r names.
func (r *applyReq) eachKey(fn func(string)) {
	fn(r.lockKey)
	for _, k := range r.keys {
		fn(k)
	}
}

// size is how many statements r counts for in a group.
func (r *applyReq) size() int { return max(1, len(r.stmts)) }

// committers is the queue of a DB's group commit.
type committers struct {
	mu        sync.Mutex
	queue     []*applyReq
	active    int            // groups in flight (committers running)
	executing int            // groups in flight that have not sent their COMMIT
	members   int            // batches in the groups in flight
	busy      map[string]int // keys the executing groups write, with how many write each
	busyAny   int            // executing groups with a batch that may write any key
	newest    time.Time      // when the newest group in flight started
	stall     *time.Timer    // runs stallCheck; armed while batches wait beside groups in flight
	armed     bool           // stall is armed
}

// WithoutGroupCommit makes every Apply run in a transaction of its own, as
// one round trip, instead of sharing a transaction with concurrent Apply
// calls (see group.go). Grouping raises throughput under many concurrent
// writers; a lone writer runs alone either way.
func WithoutGroupCommit() Option {
	return func(c *config) error {
		c.noGroupCommit = true
		return nil
	}
}

// commitGrouped runs r in a group and returns its results.
func (db *DB) commitGrouped(r *applyReq) ([]driver.Result, error) {
	g := &db.group
	g.mu.Lock()
	if g.free(r) && g.mayStartFree(db.maxCommitters, 1) {
		db.lead(r)
		// r is done, unless it lost a deadlock and was queued again.
	} else {
		g.queue = append(g.queue, r)
		db.armStall()
		g.mu.Unlock()
	}
	return db.awaitGroup(r)
}

// armStall arms the stall timer, unless it is armed, to fire when the
// newest group in flight has run for groupStall. g.mu is held.
func (db *DB) armStall() {
	g := &db.group
	if g.armed {
		return
	}
	g.armed = true
	d := max(groupStall-time.Since(g.newest), time.Millisecond)
	if g.stall == nil {
		g.stall = time.AfterFunc(d, db.stallCheck)
	} else {
		g.stall.Reset(d)
	}
}

// nextGroup starts the next group if batches wait and one may start, and
// returns its batches; if none may start, batches that wait get the stall
// timer. g.mu is held.
func (db *DB) nextGroup() []*applyReq {
	g := &db.group
	group := g.next(db.maxCommitters)
	if group == nil && len(g.queue) > 0 {
		db.armStall()
	}
	return group
}

// stallCheck starts a group of the waiting batches if one may start now
// (the groups in flight may be stuck), or arms the timer again while
// batches still wait.
func (db *DB) stallCheck() {
	g := &db.group
	g.mu.Lock()
	g.armed = false
	group := db.nextGroup()
	g.mu.Unlock()
	if group != nil {
		db.commitGroup(group)
	}
}

// lead makes the caller a committer: it commits r and the batches queued
// behind it as a group. g.mu is held on entry; lead releases it.
func (db *DB) lead(r *applyReq) {
	group := db.group.start(r)
	db.group.mu.Unlock()
	db.commitGroup(group)
}

// awaitGroup waits until r is done or its context ends. While r is
// queued, the stall timer (armStall) starts a group for it if the groups in
// flight stall.
func (db *DB) awaitGroup(r *applyReq) ([]driver.Result, error) {
	select {
	case <-r.done:
		return r.results, r.err
	case <-r.ctx.Done():
	}
	g := &db.group
	g.mu.Lock()
	if i := slices.Index(g.queue, r); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.results, r.err
	default:
		// Queued: nothing ran. In flight: it may still commit.
		return nil, r.ctx.Err()
	}
}

// mayStart reports whether a group starts now rather than waiting in the
// queue for the groups in flight, given how many batches (the new group's
// first included) would wait. g.mu is held.
func (g *committers) mayStart(limit, waiting int) bool {
	switch {
	case g.active == 0:
		return true
	case g.active >= limit:
		return false
	case waiting >= g.members && (g.active == 1 || g.executing == 0):
		// As many batches wait as the groups in flight hold, and those
		// are one group or only wait for their commits: start a group as
		// large, to take turns with them.
		return true
	}
	return waiting >= maxGroupMembers || time.Since(g.newest) > groupStall
}

// start counts a new group in flight and returns its batches: first (if not
// nil) and the queue's first free ones. g.mu is held.
func (g *committers) start(first *applyReq) []*applyReq {
	group := g.take(first)
	g.active++
	g.executing++
	g.members += len(group)
	g.mark(group, 1)
	return group
}

// free reports whether r writes no key that an executing group writes: only
// such a batch runs beside the executing groups, so that two groups never
// wait for each other's row locks (a deadlock, which PostgreSQL only finds
// after deadlock_timeout, a second by default). A group that has sent its
// COMMIT waits for no lock, so a batch may wait for its locks. g.mu is held.
func (g *committers) free(r *applyReq) bool {
	if g.executing == 0 {
		return true
	}
	if r.anyKey || g.busyAny > 0 || g.busy[r.lockKey] > 0 {
		return false
	}
	for _, k := range r.keys {
		if g.busy[k] > 0 {
			return false
		}
	}
	return true
}

// mayStartFree reports whether a group of the queue's free batches and
// extra more (free, not queued) may start now (see mayStart). It counts
// the free batches only if the whole queue would let a group start, and
// only as far as mayStart compares, so an Apply pays for the count only
// when it matters. g.mu is held.
func (g *committers) mayStartFree(limit, extra int) bool {
	waiting := len(g.queue) + extra
	if waiting == 0 || !g.mayStart(limit, waiting) {
		return false
	}
	if g.executing == 0 {
		return true // every batch is free
	}
	enough := max(g.members, maxGroupMembers) // mayStart compares waiting with no more
	n := extra
	for _, r := range g.queue {
		if n >= enough {
			break
		}
		if g.free(r) {
			n++
		}
	}
	return n > 0 && g.mayStart(limit, n)
}

// mark counts the keys of group's batches as written by an executing group
// (d = 1) or no longer (d = -1). g.mu is held.
func (g *committers) mark(group []*applyReq, d int) {
	if g.busy == nil {
		g.busy = make(map[string]int)
	}
	anyKey := false
	for _, r := range group {
		anyKey = anyKey || r.anyKey
		r.eachKey(func(k string) {
			if g.busy[k] += d; g.busy[k] == 0 {
				delete(g.busy, k)
			}
		})
	}
	if anyKey {
		g.busyAny += d
	}
}

// take removes from the queue the free batches of the next group (after
// first, if not nil, which is free) and returns them. g.mu is held.
func (g *committers) take(first *applyReq) []*applyReq {
	var group []*applyReq
	n := 0
	if first != nil {
		group = append(group, first)
		n = first.size()
	}
	left := g.queue[:0]
	for i, next := range g.queue {
		if len(group) >= maxGroupMembers || len(group) > 0 && n+next.size() > maxGroupStatements {
			left = append(left, g.queue[i:]...)
			break
		}
		if !g.free(next) {
			left = append(left, next)
			continue
		}
		group = append(group, next)
		n += next.size()
	}
	clear(g.queue[len(left):])
	g.queue = left
	g.newest = time.Now()
	return group
}

// next starts the next group if free batches are queued and one may start,
// and returns its batches (nil if none). g.mu is held.
func (g *committers) next(limit int) []*applyReq {
	if !g.mayStartFree(limit, 0) {
		return nil
	}
	return g.start(nil)
}

// commitGroup commits group (counted in flight by start). Then, if a group
// may start, a goroutine commits it; so does one when group has sent its
// COMMIT (see executed).
func (db *DB) commitGroup(group []*applyReq) {
	g := &db.group
	running := true // group has not sent its COMMIT
	size := len(group)
	again := db.runGroup(group, func() {
		running = false
		db.executed(group)
	})
	g.mu.Lock()
	g.queue = append(again, g.queue...) // deadlock losers go first
	if running {
		g.executing--
		g.mark(group, -1)
	}
	g.active--
	g.members -= size
	next := db.nextGroup()
	g.mu.Unlock()
	if next != nil {
		go db.commitGroup(next)
	}
}

// executed is called when group has run its statements and sent its
// COMMIT: the next group may start executing while the commit is flushed,
// and write group's keys.
func (db *DB) executed(group []*applyReq) {
	g := &db.group
	g.mu.Lock()
	g.executing--
	g.mark(group, -1)
	next := db.nextGroup()
	g.mu.Unlock()
	if next != nil {
		go db.commitGroup(next)
	}
}

// setFailed is readGroup's index of a failed statement of plain puts.
const setFailed = -2

// readGroup reads a group's results from br: the BEGIN (if begin), the
// statement of set's plain puts (if any), then each batch of rest (in its
// savepoint if it may fail). On an error it returns the index in rest of
// the batch that failed (-1 if none did: the BEGIN; setFailed: set's
// statement), the op of the statement that failed, and the error.
func readGroup(br pgx.BatchResults, begin bool, set, rest []*applyReq) (int, int, error) {
	if begin {
		if _, err := br.Exec(); err != nil {
			return -1, -1, err
		}
	}
	if set != nil {
		if err := readPlainPuts(br, set); err != nil {
			return setFailed, -1, err
		}
	}
	for i, r := range rest {
		if r.mayFail {
			if _, err := br.Exec(); err != nil {
				return i, -1, err
			}
		}
		if op, err := r.read(br); err != nil {
			return i, op, err
		}
		if r.mayFail {
			if _, err := br.Exec(); err != nil {
				return i, -1, err
			}
		}
	}
	return -1, -1, nil
}

// groupContext returns the context a group's transaction runs under: it
// ends when every batch's caller has given up, not when the first has.
func groupContext(group []*applyReq) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(group[0].ctx))
	var left atomic.Int32
	left.Store(int32(len(group)))
	stops := make([]func() bool, len(group))
	for i, r := range group {
		stops[i] = context.AfterFunc(r.ctx, func() {
			if left.Add(-1) == 0 {
				cancel()
			}
		})
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}
