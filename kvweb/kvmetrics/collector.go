// Package kvmetrics exposes kv to Prometheus: a Collector that reads the
// state of a kv database at each scrape (the stream's extent, each
// consumer's position and lag, tasks by name and status, leases held), and
// adapters of kv's observer hooks that count operations as they happen
// (StoreMetrics for kvcore.WithObserver, TaskMetrics for
// kvtask.Runner.Observer).
//
// Register them with any prometheus.Registerer and serve the registry with
// promhttp; kv serve does it at /metrics. The metric names and labels are
// listed in kv's README.
package kvmetrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kvsuite/kv/kvlock"
	"github.com/kvsuite/kv/kvstream"
	"github.com/kvsuite/kv/kvtask"
)

// Sources are what a Collector reads. A nil field leaves its metrics out.
type Sources struct {
	Stream *kvstream.Stream
	Tasks  *kvtask.Scheduler
	Locker *kvlock.Locker
	// Timeout bounds the reads of one scrape (default 10s).
	Timeout time.Duration
}

// Collector is a prometheus.Collector that reads kv's state at each
// scrape. A read that fails is reported to the scrape as an invalid metric
// (promhttp then answers with the error, or, with
// promhttp.ContinueOnError, the other metrics).
type Collector struct {
	src Sources

	streamFirst, streamHead          *prometheus.Desc
	consumerPos, consumerLag, holder *prometheus.Desc
	tasks, leases                    *prometheus.Desc
}

// NewCollector returns a Collector of what src holds.
func NewCollector(src Sources) *Collector {
	if src.Timeout <= 0 {
		src.Timeout = 10 * time.Second
	}
	return &Collector{
		src:         src,
		streamFirst: prometheus.NewDesc("kv_stream_first_seq", "The first seq the change stream can still return (after trimming).", nil, nil),
		streamHead:  prometheus.NewDesc("kv_stream_head_seq", "The last seq of the change stream: the newest change a reader can see.", nil, nil),
		consumerPos: prometheus.NewDesc("kv_stream_consumer_position", "A named consumer's committed position (a seq).", []string{"consumer"}, nil),
		consumerLag: prometheus.NewDesc("kv_stream_consumer_lag", "Stream entries after a named consumer's committed position.", []string{"consumer"}, nil),
		holder:      prometheus.NewDesc("kv_stream_consumer_lease_held", "1 while an instance of the consumer holds its lease, else 0.", []string{"consumer"}, nil),
		tasks:       prometheus.NewDesc("kv_tasks", "Tasks by name and status (every status of each name that has tasks).", []string{"name", "status"}, nil),
		leases:      prometheus.NewDesc("kv_leases_held", "Leases held now (consumers' leases included).", nil, nil),
	}
}

// Describe sends the descriptions of the metrics the collector's sources
// give.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.src.Stream != nil {
		for _, d := range []*prometheus.Desc{c.streamFirst, c.streamHead, c.consumerPos, c.consumerLag, c.holder} {
			ch <- d
		}
	}
	if c.src.Tasks != nil {
		ch <- c.tasks
	}
	if c.src.Locker != nil {
		ch <- c.leases
	}
}

// Collect reads the sources and sends their metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.src.Timeout)
	defer cancel()
	if c.src.Stream != nil {
		c.collectStream(ctx, ch)
	}
	if c.src.Tasks != nil {
		c.collectTasks(ctx, ch)
	}
	if c.src.Locker != nil {
		ls, err := c.src.Locker.Leases(ctx, "")
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.leases, err)
		} else {
			ch <- prometheus.MustNewConstMetric(c.leases, prometheus.GaugeValue, float64(len(ls)))
		}
	}
}

func (c *Collector) collectStream(ctx context.Context, ch chan<- prometheus.Metric) {
	first, last, err := c.src.Stream.Bounds(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.streamHead, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.streamFirst, prometheus.GaugeValue, float64(first))
	ch <- prometheus.MustNewConstMetric(c.streamHead, prometheus.GaugeValue, float64(last))
	cs, err := c.src.Stream.Consumers(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.consumerLag, err)
		return
	}
	for _, cs := range cs {
		held := 0.0
		if cs.Held {
			held = 1
		}
		ch <- prometheus.MustNewConstMetric(c.consumerPos, prometheus.GaugeValue, float64(cs.Position), cs.Name)
		ch <- prometheus.MustNewConstMetric(c.consumerLag, prometheus.GaugeValue, float64(cs.Lag), cs.Name)
		ch <- prometheus.MustNewConstMetric(c.holder, prometheus.GaugeValue, held, cs.Name)
	}
}

func (c *Collector) collectTasks(ctx context.Context, ch chan<- prometheus.Metric) {
	counts, err := c.src.Tasks.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.tasks, err)
		return
	}
	// Every status of each name, so that a series drops to 0 rather than
	// vanishing when its last task changes status.
	byName := map[string]map[kvtask.Status]int{}
	var names []string
	for _, n := range counts {
		if byName[n.Name] == nil {
			byName[n.Name] = map[kvtask.Status]int{}
			names = append(names, n.Name)
		}
		byName[n.Name][n.Status] += n.Tasks
	}
	for _, name := range names {
		for _, st := range kvtask.Statuses() {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(byName[name][st]), name, string(st))
		}
	}
}
