package taskbench

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmark's shape, settable on the command line after -args.
var (
	benchTasks = flag.Int("taskbench.tasks", 3000, "tasks drained per benchmark iteration")
	benchConc  = flag.String("taskbench.conc", "8,100", "comma-separated handler concurrencies per runner (kvtask Runner.Concurrency = River MaxWorkers)")
)

// runnerCounts are the numbers of runners (kvtask Runners, River Clients)
// every scenario is measured with.
var runnerCounts = []int{1, 4}

// BenchmarkThroughput drains pre-inserted no-op tasks with 1 and 4 runners
// on River (PostgreSQL) and on every kv backend, for each concurrency of
// -taskbench.conc. It reports tasks/s (claimed and completed per second,
// from starting the runners until every task is completed), insert/s (the
// untimed insert before; River inserts with one InsertManyFast, kvtask
// with one EnqueueMany; see BenchmarkInsert), and for each kv backend
// x_river: its tasks/s over River's in the same conc/runners group of this
// run. River runs first in each group; a filter that leaves it out leaves
// out x_river.
//
//	go test -run '^$' -bench Throughput -benchtime 1x
func BenchmarkThroughput(b *testing.B) {
	levels, err := parseCounts(*benchConc)
	if err != nil {
		b.Fatal(err)
	}
	if *benchTasks <= 0 {
		b.Fatalf("-taskbench.tasks %d must be positive", *benchTasks)
	}
	for _, conc := range levels {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			for _, runners := range runnerCounts {
				b.Run(fmt.Sprintf("runners=%d", runners), func(b *testing.B) {
					sc := scenario{runners: runners, concurrency: conc, tasks: *benchTasks}
					var riverRate float64
					for _, sys := range systems() {
						b.Run(sys.name, func(b *testing.B) {
							r := benchDrain(b, sys, sc)
							if sys.name == "river" {
								riverRate = r
							} else if riverRate > 0 {
								b.ReportMetric(r/riverRate, "x_river")
							}
						})
					}
				})
			}
		})
	}
}

// benchDrain runs b.N drains of sc on sys, reports its metrics and returns
// its tasks/s.
func benchDrain(b *testing.B, sys system, sc scenario) float64 {
	b.StopTimer()
	var drain, insert time.Duration
	var driverCalls int64
	for range b.N {
		_, res, err := sys.drain(b, sc)
		if err != nil {
			b.Fatalf("%s: %v", sys.name, err)
		}
		drain += res.drain
		insert += res.insert
		driverCalls += res.driverCalls
	}
	total := sc.tasks * b.N
	r := rate(total, drain)
	b.ReportMetric(float64(drain.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(r, "tasks/s")
	b.ReportMetric(rate(total, insert), "insert/s")
	if driverCalls > 0 {
		b.ReportMetric(float64(driverCalls)/float64(total), "calls/task")
	}
	return r
}

// parseCounts parses a comma-separated list of positive integers.
func parseCounts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-taskbench.conc %q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}
