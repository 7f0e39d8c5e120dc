package postgreskv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	postgreskv "github.com/kvsuite/kv/backend-postgres"
	"github.com/kvsuite/kv/kvcore"
	streamdriver "github.com/kvsuite/kv/kvstream/driver"
	taskdriver "github.com/kvsuite/kv/kvtask/driver"
)

// benchEnv is a kv store and, beside it, a plain table of the same shape
// for the raw pgx baseline, on one pool big enough for every writer.
type benchEnv struct {
	pool  *pgxpool.Pool
	db    *postgreskv.DB
	store *kvcore.Store
	raw   string // quoted name of the baseline table
}

// rawUpsert is the baseline's write: the same INSERT ... ON CONFLICT that
// kv sends for a Put with version -1, without the stream entry.
const rawUpsert = `INSERT INTO %[1]s AS r (namespace, key, version, value, type, created, updated, expires)
VALUES ($1, $2, 1, $3, $4, $5, $5, NULL)
ON CONFLICT (namespace, key) DO UPDATE SET version = r.version + 1, value = EXCLUDED.value,
type = EXCLUDED.type, updated = EXCLUDED.updated, expires = EXCLUDED.expires`

// rawSelect is the baseline's read.
const rawSelect = `SELECT namespace, key, version, value, type, created, updated, expires FROM %[1]s
WHERE namespace = $1 AND key = $2 AND (expires IS NULL OR expires > $3)`

func newBenchEnv(b *testing.B, opts ...postgreskv.Option) *benchEnv {
	b.Helper()
	ctx := context.Background()
	cfg := testBase.Copy()
	cfg.MaxConns = 20
	// KV_BENCH_SYNCHRONOUS_COMMIT=off measures the client and SQL cost
	// without the commit's disk flush (which dominates on a busy disk).
	if v := os.Getenv("KV_BENCH_SYNCHRONOUS_COMMIT"); v != "" {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = v
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(b, err)
	b.Cleanup(pool.Close)
	schema := newSchemaName(b)
	db := postgreskv.New(pool, append([]postgreskv.Option{postgreskv.WithSchema(schema)}, opts...)...)
	require.NoError(b, db.Init(ctx))
	store, err := db.Store(kvcore.WithSweepInterval(0))
	require.NoError(b, err)
	b.Cleanup(func() { _ = store.Close() })
	raw := pgx.Identifier{schema, "raw_records"}.Sanitize()
	_, err = pool.Exec(ctx, "CREATE TABLE "+raw+" (LIKE "+pgx.Identifier{schema, "kv_records"}.Sanitize()+" INCLUDING ALL)")
	require.NoError(b, err)
	return &benchEnv{pool: pool, db: db, store: store, raw: raw}
}

// parallel runs b.N calls of fn spread over n goroutines.
func parallel(b *testing.B, n int, fn func(g, i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	b.ReportAllocs()
	b.ResetTimer()
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				if err := fn(g, i); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	b.StopTimer()
	if sec := b.Elapsed().Seconds(); sec > 0 {
		b.ReportMetric(float64(b.N)/sec, "ops/s")
	}
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkPut compares kvcore.Store.Put (as configured by default: group
// commit, notifications after commit; "kv-nogroup" with WithoutGroupCommit;
// "kv-nonotify" with WithoutNotify; "kv-tail" while a reader follows the
// stream, "kv-tail4" while four do, see tail) with the raw upsert in its own
// transaction, for 1, 4, 16, 32 and 64 writers (on one pool of 20
// connections: raw pgx runs at most 20 transactions at once). Every put
// writes a new key. ops/s is puts per second; the ratio kv/raw of the same
// writer count is the figure to compare across machines.
func BenchmarkPut(b *testing.B) {
	needServer(b)
	ctx := context.Background()
	value := json.RawMessage(`{"name":"Alice","age":30,"tags":["a","b"]}`)
	// put is the i-th put of a kv benchmark on e: a new key each.
	put := func(e *benchEnv) func(g, i int) error {
		return func(g, i int) error {
			return e.store.Put(ctx, fmt.Sprintf("k/%08d", i), -1, value, kvcore.WithType("Person"))
		}
	}
	for _, writers := range []int{1, 4, 16, 32, 64} {
		for _, kv := range []struct {
			name string
			opts []postgreskv.Option
		}{
			{"kv", nil},
			{"kv-nogroup", []postgreskv.Option{postgreskv.WithoutGroupCommit()}},
			{"kv-nonotify", []postgreskv.Option{postgreskv.WithoutNotify()}},
		} {
			b.Run(fmt.Sprintf("%s/writers=%d", kv.name, writers), func(b *testing.B) {
				e := newBenchEnv(b, kv.opts...)
				parallel(b, writers, put(e))
			})
		}
		for _, readers := range []int{1, 4} {
			name := "kv-tail"
			if readers > 1 {
				name = fmt.Sprintf("kv-tail%d", readers)
			}
			b.Run(fmt.Sprintf("%s/writers=%d", name, writers), func(b *testing.B) {
				e := newBenchEnv(b)
				stop := tail(b, e, readers)
				parallel(b, writers, put(e))
				if read := stop(); read < int64(b.N) {
					b.Fatalf("a reader saw %d of %d entries", read, b.N)
				}
			})
		}
		b.Run(fmt.Sprintf("raw/writers=%d", writers), func(b *testing.B) {
			e := newBenchEnv(b)
			sql := fmt.Sprintf(rawUpsert, e.raw)
			parallel(b, writers, func(g, i int) error {
				now := time.Now().UTC().Truncate(time.Microsecond)
				_, err := e.pool.Exec(ctx, sql, "", fmt.Sprintf("k/%08d", i), []byte(value), "Person", now)
				return err
			})
		})
	}
}

// BenchmarkPutStatement measures the statement a group commit sends for
// its plain puts (PutManySQL) with 1, 8 and 32 puts, beside the raw
// baseline's one-put transaction, each sent by two goroutines (one per
// core of a small machine: the server's CPU is what is measured), without
// kv's client. ops/s is puts per second. The ratio of putMany/puts=8 to raw
// is about the most a group of 8 can gain over one transaction per put
// with any client; 16 writers make groups of about 8 (see group.go).
func BenchmarkPutStatement(b *testing.B) {
	needServer(b)
	ctx := context.Background()
	value := []byte(`{"name":"Alice","age":30,"tags":["a","b"]}`)
	b.Run("raw", func(b *testing.B) {
		e := newBenchEnv(b)
		sql := fmt.Sprintf(rawUpsert, e.raw)
		parallel(b, 2, func(g, i int) error {
			_, err := e.pool.Exec(ctx, sql, "", fmt.Sprintf("k/%08d", i), value, "Person", time.Now())
			return err
		})
	})
	for _, puts := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("putMany/puts=%d", puts), func(b *testing.B) {
			e := newBenchEnv(b)
			sql := postgreskv.PutManySQL(e.db)
			// Call i sends statement i; the calls past the last statement
			// (b.N puts in all) do nothing.
			statements := (b.N + puts - 1) / puts
			parallel(b, 2, func(g, i int) error {
				if i >= statements {
					return nil
				}
				ns, keys, values, types, nows := make([]string, puts), make([]string, puts),
					make([][]byte, puts), make([]string, puts), make([]time.Time, puts)
				for j := range puts {
					keys[j], values[j], types[j], nows[j] = fmt.Sprintf("k/%08d", i*puts+j), value, "Person", time.Now()
				}
				rows, err := e.pool.Query(ctx, sql, ns, keys, values, types, nows)
				if err != nil {
					return err
				}
				rows.Close()
				return rows.Err()
			})
		})
	}
}

// tail starts readers that each follow e's stream as a consumer would:
// woken by each notification, a reader reads pages of up to 1000 entries
// until it has caught up. stop ends them after each has read what was
// committed and returns the fewest entries one of them read.
func tail(b *testing.B, e *benchEnv, readers int) (stop func() int64) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		read int64
		err  error
	}
	done := make(chan result, readers)
	for range readers {
		wake, err := e.db.Subscribe(ctx)
		require.NoError(b, err)
		go func() {
			var read, after int64
			catchUp := func(ctx context.Context) error {
				for {
					rs, _, _, err := e.db.Read(ctx, streamdriver.Query{After: after, Limit: 1000})
					if err != nil || len(rs) == 0 {
						return err
					}
					after = rs[len(rs)-1].Seq
					read += int64(len(rs))
				}
			}
			for {
				select {
				case <-ctx.Done():
					err := catchUp(context.Background())
					done <- result{read, err}
					return
				case <-wake:
				}
				if err := catchUp(ctx); err != nil && ctx.Err() == nil {
					done <- result{read, err}
					return
				}
			}
		}()
	}
	return func() int64 {
		cancel()
		least := int64(-1)
		for range readers {
			r := <-done
			require.NoError(b, r.err)
			if least < 0 || r.read < least {
				least = r.read
			}
		}
		return least
	}
}

// BenchmarkGet compares kvcore.Store.Get with the raw SELECT, for 1 and 4
// readers, over 1000 keys.
func BenchmarkGet(b *testing.B) {
	needServer(b)
	ctx := context.Background()
	const keys = 1000
	value := json.RawMessage(`{"name":"Alice","age":30,"tags":["a","b"]}`)
	for _, readers := range []int{1, 4} {
		b.Run(fmt.Sprintf("kv/readers=%d", readers), func(b *testing.B) {
			e := newBenchEnv(b)
			var ms []kvcore.Mutation
			for i := 0; i < keys; i++ {
				ms = append(ms, kvcore.Put(fmt.Sprintf("k/%08d", i), -1, value))
			}
			_, err := e.store.MutateAll(ctx, ms...)
			require.NoError(b, err)
			parallel(b, readers, func(g, i int) error {
				_, ok, err := e.store.Get(ctx, fmt.Sprintf("k/%08d", i%keys), nil)
				if err == nil && !ok {
					err = fmt.Errorf("key %d not found", i%keys)
				}
				return err
			})
		})
		b.Run(fmt.Sprintf("raw/readers=%d", readers), func(b *testing.B) {
			e := newBenchEnv(b)
			now := time.Now().UTC().Truncate(time.Microsecond)
			_, err := e.pool.Exec(ctx, "INSERT INTO "+e.raw+` (namespace, key, version, value, type, created, updated)
				SELECT '', 'k/' || lpad(i::text, 8, '0'), 1, $1, '', $2, $2 FROM generate_series(0, $3 - 1) i`, []byte(value), now, keys)
			require.NoError(b, err)
			sql := fmt.Sprintf(rawSelect, e.raw)
			parallel(b, readers, func(g, i int) error {
				var r struct {
					ns, key, typ     string
					version          int64
					value            []byte
					created, updated time.Time
					expires          *time.Time
				}
				return e.pool.QueryRow(ctx, sql, "", fmt.Sprintf("k/%08d", i%keys), time.Now()).
					Scan(&r.ns, &r.key, &r.version, &r.value, &r.typ, &r.created, &r.updated, &r.expires)
			})
		})
	}
}

// BenchmarkStreamRead measures kvstream reads: "idle" reads after the last
// entry with nothing new (the sequencer's index probe and the read);
// "catchup" reads 100 entries that already have positions; "fresh" writes
// 100 entries in one batch and reads them, which includes the sequencer step
// that gives them positions (per op: 100 entries).
func BenchmarkStreamRead(b *testing.B) {
	needServer(b)
	ctx := context.Background()
	const n = 10000
	fill := func(b *testing.B, e *benchEnv, prefix string, count int) {
		for i := 0; i < count; i += 1000 {
			var ms []kvcore.Mutation
			for j := i; j < min(i+1000, count); j++ {
				ms = append(ms, kvcore.Put(fmt.Sprintf("%s/%08d", prefix, j), -1, j))
			}
			_, err := e.store.MutateAll(ctx, ms...)
			require.NoError(b, err)
		}
	}
	// setup fills a fresh store with n entries, gives them positions and
	// returns the last.
	setup := func(b *testing.B) (*benchEnv, int64) {
		e := newBenchEnv(b)
		fill(b, e, "k", n)
		_, last, err := e.db.Bounds(ctx)
		require.NoError(b, err)
		b.ResetTimer()
		return e, last
	}
	b.Run("idle", func(b *testing.B) {
		e, last := setup(b)
		for i := 0; i < b.N; i++ {
			rs, _, _, err := e.db.Read(ctx, streamdriver.Query{After: last, Limit: 100})
			require.NoError(b, err)
			require.Empty(b, rs)
		}
	})
	b.Run("catchup", func(b *testing.B) {
		e, _ := setup(b)
		for i := 0; i < b.N; i++ {
			after := int64(i*100) % (n - 100)
			rs, _, _, err := e.db.Read(ctx, streamdriver.Query{After: after, Limit: 100})
			require.NoError(b, err)
			require.Len(b, rs, 100)
		}
	})
	b.Run("fresh", func(b *testing.B) {
		e, last := setup(b)
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			fill(b, e, fmt.Sprintf("f%d", i), 100)
			b.StartTimer()
			rs, _, _, err := e.db.Read(ctx, streamdriver.Query{After: last, Limit: 100})
			require.NoError(b, err)
			require.Len(b, rs, 100)
			last = rs[99].Seq
		}
	})
}

// BenchmarkTaskInsert measures Insert by 1 and 16 concurrent writers, with
// the task queue's notification (its commit takes PostgreSQL's cluster-wide
// notify lock) and without (WithoutTaskNotify).
func BenchmarkTaskInsert(b *testing.B) {
	needServer(b)
	for _, mode := range []struct {
		name string
		opts []postgreskv.Option
	}{{"notify", nil}, {"quiet", []postgreskv.Option{postgreskv.WithoutTaskNotify()}}} {
		for _, writers := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode.name, writers), func(b *testing.B) {
				env := newBenchEnv(b, mode.opts...)
				ctx := context.Background()
				parallel(b, writers, func(g, i int) error {
					_, _, err := insertOne(ctx, env.db, newTask(fmt.Sprintf("t%d", i)))
					return err
				})
			})
		}
	}
}

// BenchmarkTaskClaim measures one claim of one task and its completion
// (two statements) by 1 and 8 concurrent runners over a backlog.
func BenchmarkTaskClaim(b *testing.B) {
	needServer(b)
	for _, runners := range []int{1, 8} {
		b.Run(fmt.Sprintf("runners=%d", runners), func(b *testing.B) {
			env := newBenchEnv(b)
			ctx := context.Background()
			insertTasks(b, env.pool, env.db, `SELECT 't' || i, 'job', 'null', 'pending', 0, $1, $1, 0, 0, 0, '', '', NULL, 0, false
	FROM generate_series(1, $2::int) i`, taskNow, b.N+runners)
			parallel(b, runners, func(g, i int) error {
				runner := fmt.Sprintf("r%d", g)
				ts, err := env.db.Claim(ctx, taskdriver.Claim{Runner: runner, Now: taskNow, Lease: time.Minute, Limit: 1})
				if err != nil {
					return err
				}
				if len(ts) != 1 {
					return fmt.Errorf("claimed %d tasks", len(ts))
				}
				return taskdriver.FinishOne(ctx, env.db, ts[0].ID, runner, ts[0].Token, taskdriver.Outcome{Status: taskdriver.Completed}, taskNow)
			})
		})
	}
}

// BenchmarkClaimIdle measures a claim that finds nothing due (a runner
// polling an idle queue) on an empty queue and on one holding 55,000 tasks
// none of which is due (see fillFutureTasks: 49,500 pending an hour ahead
// over 5 priorities, 5,500 running with live leases). The ratio
// future/empty is the cost of the tasks that are not due: near 1 when
// Claim does not walk them.
func BenchmarkClaimIdle(b *testing.B) {
	needServer(b)
	for _, future := range []int{0, 55000} {
		b.Run(fmt.Sprintf("future=%d", future), func(b *testing.B) {
			env := newBenchEnv(b)
			ctx := context.Background()
			fillFutureTasks(b, env.pool, env.db, future)
			parallel(b, 1, func(g, i int) error {
				ts, err := env.db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10})
				if err == nil && len(ts) != 0 {
					err = fmt.Errorf("claimed %d tasks", len(ts))
				}
				return err
			})
		})
	}
}

// BenchmarkClaimBusy measures claims of 10 tasks from a queue whose tasks
// are all due, spread over 4 and over 1,000 priorities: the ratio of the
// two is the cost of priorities the claim does not take from (near 1 when
// Claim stops walking the priorities once it has its tasks).
func BenchmarkClaimBusy(b *testing.B) {
	needServer(b)
	for _, prios := range []int{4, 1000} {
		b.Run(fmt.Sprintf("priorities=%d", prios), func(b *testing.B) {
			env := newBenchEnv(b)
			ctx := context.Background()
			insertTasks(b, env.pool, env.db, `SELECT 't' || i, 'job', 'null', 'pending', i % $3::int, $1, $1, 0, 0, 0, '', '', NULL, 0, false
	FROM generate_series(1, $2::int) i`, taskNow, 10*b.N+60000, prios)
			_, err := env.pool.Exec(ctx, "VACUUM "+pgx.Identifier{env.db.Schema(), "kv_tasks"}.Sanitize())
			require.NoError(b, err)
			parallel(b, 1, func(g, i int) error {
				ts, err := env.db.Claim(ctx, taskdriver.Claim{Runner: "r", Now: taskNow, Lease: time.Minute, Limit: 10})
				if err == nil && len(ts) != 10 {
					err = fmt.Errorf("claimed %d tasks", len(ts))
				}
				return err
			})
		})
	}
}
