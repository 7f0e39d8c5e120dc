package kvnats

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvsuite/kv/kvstream"
)

// Connect connects to the NATS server at url as a Publisher needs: it
// never buffers messages while reconnecting (nats.ReconnectBufSize(-1))
// and reconnects for as long as it takes (nats.MaxReconnects(-1)). opts
// come first, so they cannot undo either. Credentials may be in url
// (nats://user:password@host:4222) or in opts.
func Connect(url string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append(opts, nats.ReconnectBufSize(-1), nats.MaxReconnects(-1))
	return nats.Connect(url, opts...)
}

// CreateStream creates the JetStream stream name for the subjects
// "<prefix>.>" (file storage, kept until deleted, duplicate window
// window, or DefaultDuplicateWindow if window is 0) unless a stream of
// that name exists; it reports whether it created one. An existing
// stream is left as it is (Run checks it).
func CreateStream(ctx context.Context, nc *nats.Conn, name, prefix string, window time.Duration) (bool, error) {
	if nc == nil {
		return false, fmt.Errorf("%w: nil NATS connection", ErrInvalidArgument)
	}
	if err := ValidatePrefix(prefix); err != nil {
		return false, err
	}
	if window < 0 {
		return false, fmt.Errorf("%w: duplicate window %v is negative", ErrInvalidArgument, window)
	}
	if window == 0 {
		window = DefaultDuplicateWindow
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return false, fmt.Errorf("kvnats: %w", err)
	}
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{prefix + ".>"},
		Storage: jetstream.FileStorage, Duplicates: window})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrStreamNameAlreadyInUse):
		return false, nil
	}
	return false, fmt.Errorf("kvnats: create JetStream stream %q: %w", name, err)
}

// errStreamMissing: no JetStream stream takes the subjects (yet): Run
// waits for one.
var errStreamMissing = errors.New("JetStream stream missing")

// checkStream finds the JetStream stream and checks that it acknowledges
// and keeps message ids at least p.window.
func (p *Publisher) checkStream(ctx context.Context) error {
	name := p.jsStream
	if name == "" {
		var err error
		if name, err = p.findStream(ctx); err != nil {
			return err
		}
	}
	s, err := p.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) && p.create {
		created, cerr := CreateStream(ctx, p.nc, name, p.prefix, p.window)
		if cerr != nil {
			return cerr
		}
		if created {
			p.log.InfoContext(ctx, "kvnats: created the JetStream stream", "jetstream_stream", name, "subjects", p.prefix+".>")
		}
		s, err = p.js.Stream(ctx, name)
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("kvnats: JetStream stream %q does not exist: %w", name, errStreamMissing)
	}
	if err != nil {
		return fmt.Errorf("kvnats: JetStream stream %q: %w", name, err)
	}
	cfg := s.CachedInfo().Config
	if cfg.NoAck {
		return fmt.Errorf("kvnats: %w: JetStream stream %q does not acknowledge messages (no_ack)", ErrStream, name)
	}
	if p.window > 0 && cfg.Duplicates < p.window {
		return fmt.Errorf("kvnats: %w: JetStream stream %q keeps message ids for %v, less than the %v required (raise its duplicate window, e.g. nats stream edit %s --dupe-window %v, or lower the bound)",
			ErrDuplicateWindow, name, cfg.Duplicates, p.window, name, p.window)
	}
	p.target, p.maxMsgSize = name, cfg.MaxMsgSize
	return nil
}

// findStream returns the one JetStream stream whose subjects overlap
// "<prefix>.>".
func (p *Publisher) findStream(ctx context.Context) (string, error) {
	l := p.js.StreamNames(ctx, jetstream.WithStreamListSubject(p.prefix+".>"))
	var names []string
	for n := range l.Name() {
		names = append(names, n)
	}
	if err := l.Err(); err != nil {
		return "", fmt.Errorf("kvnats: list JetStream streams: %w", err)
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("kvnats: no JetStream stream takes subjects %s.> (create one: kv nats push --create-stream NAME): %w", p.prefix, errStreamMissing)
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("kvnats: %w: JetStream streams %q all take subjects under %s.: name one (JetStreamStream)", ErrStream, names, p.prefix)
}

// JetStream API error codes that no retry overcomes.
const (
	codeMessageTooLarge = 10054 // message size exceeds the stream's max_msg_size
	codeStreamNotMatch  = 10060 // Nats-Expected-Stream names another stream than the one taking the subject
	codeStreamSealed    = 10109 // the stream is sealed
)

// permanent reports whether err, from publishing or from finding the
// stream, will not go away by retrying.
func permanent(err error) bool {
	for _, p := range []error{ErrDuplicateWindow, ErrUnpublishable, ErrStream, nats.ErrConnectionClosed,
		nats.ErrBadSubject, nats.ErrHeadersNotSupported, nats.ErrMaxPayload,
		jetstream.ErrJetStreamNotEnabled, jetstream.ErrJetStreamNotEnabledForAccount} {
		if errors.Is(err, p) {
			return true
		}
	}
	return kvstream.IsPermanent(err)
}

// refusal turns the error JetStream or NATS gave for publishing m, the
// message of r, into the error Run reports: what could not be published
// and why, wrapping ErrUnpublishable or ErrStream when no retry will help.
func (p *Publisher) refusal(r kvstream.Record, m *nats.Msg, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrMaxPayload):
		err = fmt.Errorf("%w: its message is %d bytes, more than the NATS server accepts (max_payload %d): %w",
			ErrUnpublishable, size(m), p.nc.MaxPayload(), err)
	case errors.As(err, &apiErr) && apiErr.ErrorCode == codeMessageTooLarge:
		err = fmt.Errorf("%w: %w", ErrUnpublishable, err)
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == codeStreamNotMatch || apiErr.ErrorCode == codeStreamSealed):
		err = fmt.Errorf("%w: JetStream stream %q: %w", ErrStream, p.target, err)
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		err = fmt.Errorf("no JetStream stream took subject %q (missing?): %w", m.Subject, err)
	}
	return fmt.Errorf("kvnats: publish key %q (namespace %q): %w", r.Key, r.Namespace, err)
}
