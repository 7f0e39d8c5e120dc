package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvnats"
	"github.com/kvsuite/kv/kvstream"
)

// Defaults of kv nats push.
const (
	defaultNATSURL      = "nats://127.0.0.1:4222"
	defaultNATSConsumer = "natspusher"
)

func (a *app) natsPushCommand() *ffcli.Command {
	const path = "nats push"
	var (
		url, prefix, consumer, ofType, ns, create, owner, source string
		window, lease                                            time.Duration
		batch                                                    int
	)
	return a.command(spec{
		path:  path,
		short: "Publish the change stream to NATS JetStream, each entry exactly once.",
		long: `Follows the change stream as the consumer --consumer and publishes every entry
to the NATS server at --url, into the JetStream stream that takes the subjects
"<subject prefix>.>" (or the one --create-stream names, created if missing).
It runs until interrupted (Ctrl+C or SIGTERM), then commits what JetStream
acknowledged, releases the consumer's lease and exits with status 0.

An entry of namespace NS and key K is published on
<subject prefix>.<NS>.<the parts of K between slashes>, each token escaped so
that different keys never share a subject: A-Z, a-z, 0-9, '-' and '_' stand
for themselves, every other byte is %XX (upper-case hex), the default
namespace and an empty part are "_", and "_" itself is %5F. The key
"user/42" of the default namespace is kv._.user.42. The payload is the value
(empty for a delete and for a touch, which changed only the record's
expiry: go by Kv-Action, never by an empty payload); the headers Kv-Action,
Kv-Namespace, Kv-Key, Kv-Version, Kv-Type, Kv-Seq and Kv-Time carry the
rest (namespace, key and type escaped as %XX where they hold '%', spaces or
control bytes).

Exactly once: each batch is published at once, and the consumer commits
only after JetStream acknowledged every message of it. Each message carries
a Nats-Msg-Id made of the database's stream identity, the subject prefix
and the seq, so a batch published again after a crash or a NATS restart is
dropped by JetStream's duplicate window. That window must be at least
--duplicate-window (which must cover --lease-duration plus a restart): a
stream with a shorter one is refused. NATS unreachable, the stream missing
or a publish refused are retried with backoff; an entry too large for NATS
or the stream stops the command with an error naming it.

--stream and --of-type publish only the entries of one namespace ("" the
default one, "*" every namespace) or one type. Keep them the same for a
given consumer. Only one instance of a consumer runs at a time. Credentials
in --url (nats://user:password@host:4222, or a token) are never printed.
It logs to stderr per the global --log-format and --log-level.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&url, "url", defaultNATSURL, "the NATS server `URL` (or a comma-separated list)")
			fs.StringVar(&prefix, "subject-prefix", kvnats.DefaultSubjectPrefix, "the first `tokens` of every subject")
			fs.StringVar(&consumer, "consumer", defaultNATSConsumer, "the `name` of the consumer whose position is kept")
			fs.StringVar(&ofType, "of-type", "", "publish only records of this `type`")
			fs.StringVar(&ns, "stream", allNamespaces, "publish only this `namespace` (\"*\": every namespace)")
			fs.StringVar(&create, "create-stream", "", "publish into the JetStream stream `NAME`, created for <subject prefix>.> if missing")
			fs.DurationVar(&window, "duplicate-window", kvnats.DefaultDuplicateWindow, "the shortest JetStream duplicate `window` accepted (and that of a created stream)")
			fs.IntVar(&batch, "batch-size", kvnats.DefaultBatchSize, "publish at most this many entries at once")
			fs.DurationVar(&lease, "lease-duration", defaultLeaseDuration, "the consumer's lease lasts this long between renewals; a killed run holds it until then")
			fs.StringVar(&owner, "owner", "", "the `id` of this instance in the consumer's lease (default host-pid-time)")
			fs.StringVar(&source, "source", "", "the stream `identity` in message ids (default: the one kept in the database)")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, ""); err != nil {
				return err
			}
			if err := checkLimit(path, "batch-size", batch); err != nil {
				return err
			}
			copts, _, err := consumerOptions(path, consumer, ofType, string(kvstream.CommitBatch), owner, ns, batch)
			if err != nil {
				return err
			}
			if err := checkDuration(path, "lease-duration", lease); err != nil {
				return err
			}
			if err := kvnats.ValidatePrefix(prefix); err != nil {
				return usagef(path, "--subject-prefix: %v", err)
			}
			if window <= 0 {
				return usagef(path, "--duplicate-window %v: want a positive duration (e.g. 2m)", window)
			}
			opts := []kvnats.Option{kvnats.SubjectPrefix(prefix), kvnats.DuplicateWindow(window), kvnats.Logger(a.log),
				kvnats.ConsumerOptions(append(copts, kvstream.LeaseDuration(lease))...)}
			if create != "" {
				opts = append(opts, kvnats.JetStreamStream(create), kvnats.CreateIfMissing())
			}
			if source != "" {
				if err := kvnats.ValidateSource(source); err != nil {
					return usagef(path, "--source: %v", err)
				}
				opts = append(opts, kvnats.Source(source))
			}
			return scrubNATS(url, a.natsPush(ctx, url, consumer, opts))
		},
	})
}

// natsPush connects to url and runs a publisher until ctx ends.
func (a *app) natsPush(ctx context.Context, url, consumer string, opts []kvnats.Option) error {
	// Connecting is retried in the background, like every later failure:
	// the publisher waits for the server.
	nc, err := kvnats.Connect(url, nats.Name("kv nats push"), nats.RetryOnFailedConnect(true))
	if err != nil {
		return fmt.Errorf("nats push: connect to %s: %w", redact.NATSURL(url), err)
	}
	defer nc.Close()
	return a.withStream(ctx, func(s *kvstream.Stream) error {
		p, err := kvnats.New(s, nc, consumer, opts...)
		if err != nil {
			return err
		}
		a.log.InfoContext(ctx, "kv nats push: publishing", "nats", redact.NATSURL(url), "consumer", consumer)
		return p.Run(ctx)
	}, kvstream.WithLogger(a.log))
}

// natsScrubbed is an error whose message has the NATS credentials
// scrubbed; it still wraps the error it was made of.
type natsScrubbed struct {
	err error
	msg string
}

func (e *natsScrubbed) Error() string { return e.msg }
func (e *natsScrubbed) Unwrap() error { return e.err }

// scrubNATS returns err with every credential of the NATS URLs urls
// scrubbed from its message.
func scrubNATS(urls string, err error) error {
	if err == nil {
		return nil
	}
	return &natsScrubbed{err: err, msg: redact.ScrubNATS(err.Error(), urls)}
}
