package kvtask

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/robfig/cron/v3"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvtask/driver"
)

// Schedule is a recurring task: a copy of Template is added at every tick
// of Spec, a cron expression (five fields, or a descriptor such as @hourly
// or @every 10m), evaluated in UTC.
type Schedule struct {
	Name string `json:"name"`
	Spec string `json:"spec"`
	// Template is the task added at each tick (with a new ID each time).
	Template Task `json:"template"`
	// Next is the next tick: the schedule fires at the first FireDue at or
	// after it.
	Next time.Time `json:"next"`
}

func parseSpec(spec string) (cs cron.Schedule, err error) {
	defer func() {
		// robfig/cron v3.0.1 panics on some bad specs, such as "TZ=UTC"
		// (a time zone with no fields after it).
		if p := recover(); p != nil {
			cs, err = nil, fmt.Errorf("%w: cron expression %q: cannot be parsed (want five fields or a descriptor such as @hourly, after an optional TZ=<zone> and a space)", ErrInvalidArgument, spec)
		}
	}()
	cs, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: cron expression %q: %v", ErrInvalidArgument, spec, err)
	}
	return cs, nil
}

// ValidateSpec reports whether spec is a cron expression Schedule accepts,
// with an error wrapping ErrInvalidArgument that says why not.
func ValidateSpec(spec string) error {
	_, _, err := specNext(spec, time.Now())
	return err
}

// specNext parses spec and returns it with its first tick after now. It
// refuses a spec that parses but makes no sense: an @every interval under
// one second (cron rounds it up to one second, so "@every -1m" would fire
// every second), or a spec with no tick after now (such as February 30th,
// which would otherwise fire at every FireDue).
func specNext(spec string, now time.Time) (cron.Schedule, time.Time, error) {
	cs, err := parseSpec(spec)
	if err != nil {
		return nil, time.Time{}, err
	}
	if d, ok := everyInterval(spec); ok && d < time.Second {
		return nil, time.Time{}, fmt.Errorf("%w: cron expression %q: the @every interval must be at least 1s", ErrInvalidArgument, spec)
	}
	next := cs.Next(now).UTC().Truncate(time.Microsecond)
	if next.IsZero() {
		return nil, time.Time{}, fmt.Errorf("%w: cron expression %q never fires", ErrInvalidArgument, spec)
	}
	return cs, next, nil
}

// everyInterval returns the interval of an "@every <duration>" spec (after
// an optional TZ= or CRON_TZ= prefix), and false for any other spec.
func everyInterval(spec string) (time.Duration, bool) {
	f := strings.Fields(spec)
	if len(f) > 0 && (strings.HasPrefix(f[0], "TZ=") || strings.HasPrefix(f[0], "CRON_TZ=")) {
		f = f[1:]
	}
	if len(f) != 2 || f[0] != "@every" {
		return 0, false
	}
	d, err := time.ParseDuration(f[1])
	return d, err == nil
}

// Schedule creates or replaces the schedule name: template (its ID is
// ignored: each tick's task gets a new one) is added at every tick of spec,
// starting with the first tick after now.
func (s *Scheduler) Schedule(ctx context.Context, name, spec string, template Task) error {
	if err := kvcore.ValidateName("schedule name", name); err != nil {
		return err
	}
	now := s.Now()
	_, next, err := specNext(spec, now)
	if err != nil {
		return err
	}
	template.ID = "template"
	dt, err := prepare(template, now)
	if err != nil {
		return err
	}
	if err := s.q.PutSchedule(ctx, driver.Schedule{Name: name, Spec: spec, Template: dt, Next: next}); err != nil {
		return fmt.Errorf("kv schedule %q: %w", name, err)
	}
	return nil
}

// Unschedule deletes a schedule and reports whether it existed.
func (s *Scheduler) Unschedule(ctx context.Context, name string) (bool, error) {
	if err := kvcore.ValidateName("schedule name", name); err != nil {
		return false, err
	}
	ok, err := s.q.DeleteSchedule(ctx, name)
	if err != nil {
		return false, fmt.Errorf("kv unschedule %q: %w", name, err)
	}
	return ok, nil
}

// Schedules returns every schedule, ordered by name.
func (s *Scheduler) Schedules(ctx context.Context) ([]Schedule, error) {
	ds, err := s.q.Schedules(ctx)
	if err != nil {
		return nil, fmt.Errorf("kv schedules: %w", err)
	}
	out := make([]Schedule, len(ds))
	for i, d := range ds {
		out[i] = Schedule{Name: d.Name, Spec: d.Spec, Template: taskFrom(d.Template), Next: d.Next.UTC()}
	}
	return out, nil
}

// FireDue adds the task of every schedule whose tick has come and moves the
// schedule to its next tick after now (ticks missed while no runner was up
// fire once, not once each). Any number of schedulers may call it at once:
// each tick fires once. It returns how many schedules this call fired. A
// stored schedule whose spec no longer parses does not stop the others: its
// error is joined to the result.
func (s *Scheduler) FireDue(ctx context.Context) (int, error) {
	ds, err := s.q.Schedules(ctx)
	if err != nil {
		return 0, fmt.Errorf("kv schedules: %w", err)
	}
	now := s.Now()
	fired := 0
	var bad []error
	for _, d := range ds {
		if d.Next.After(now) {
			continue
		}
		_, next, err := specNext(d.Spec, now)
		if err != nil {
			// Stored before the spec's check, or written past it: reported,
			// never fired (a never-firing spec would fire at every call).
			bad = append(bad, fmt.Errorf("kv schedule %q: %w", d.Name, err))
			continue
		}
		t := d.Template
		t.ID = uuid.NewString()
		t.Created = now
		t.ScheduledFor = d.Next
		ok, err := s.q.Fire(ctx, d.Name, d.Next, next, t)
		if err != nil {
			return fired, fmt.Errorf("kv schedule %q: %w", d.Name, err)
		}
		if ok {
			fired++
		}
	}
	return fired, errors.Join(bad...)
}
