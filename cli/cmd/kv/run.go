package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line (or a KV_* variable, or the config file) is wrong
)

// app is one invocation of kv: its streams, its command tree and the
// global settings that the command line, environment and config file give.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	// stderr masks the secrets of every connection string kv was given
	// (see scrubWriter); rawStderr is the stream itself, for progress
	// lines on a terminal.
	stderr, rawStderr io.Writer
	secrets           atomic.Pointer[[]string] // the connection strings stderr masks
	args              []string                 // the whole command line, for parseArgs

	cl  globalFlags // global flags as the command line set them
	cfg open.Config // global settings after env and config file
	// namespaces are the namespaces kv export reads: every --namespace
	// given, else the one namespace of cfg.
	namespaces []string
	log        *slog.Logger    // the log on stderr (--log-format, --log-level)
	flagSets   []*flag.FlagSet // every command's flags, to find explicit globals
	root       *ffcli.Command
	specs      map[*ffcli.Command]spec // every command's spec (its path, args, help)
	helpFor    *ffcli.Command          // the last command whose usage was asked for

	// namespaceChosen: a namespace was chosen (--namespace, KV_NAMESPACE or
	// the config file), so kv export and kv status use namespaces rather
	// than every namespace.
	namespaceChosen bool
}

// run runs kv with args (without the program name) and returns the exit
// status. It reads environment variables (KV_TYPE, KV_CONNECTION,
// KV_NAMESPACE, KV_CONFIG) from the process environment, as ff does.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	a := &app{
		stdin:     stdin,
		stdout:    out,
		rawStderr: stderr,
		args:      args,
		specs:     map[*ffcli.Command]spec{},
	}
	a.stderr = scrubWriter{w: stderr, secrets: &a.secrets}
	a.secrets.Store(&[]string{})
	root := a.rootCommand()
	err := root.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		// A flag the command line got wrong.
		msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
		if n, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok && negativeNumber.MatchString(n) {
			msg = fmt.Sprintf("%s is negative: offsets, limits and seqs must be 0 or more (a key that starts with \"-\" goes after --)", n)
		} else {
			msg = flagMessage(msg)
		}
		err = &usageError{path: a.specs[a.helpFor].path, msg: msg}
	}
	if err == nil {
		err = root.Run(ctx)
	}
	code := a.exit(err)
	if ferr := out.Flush(); ferr != nil && code == exitOK {
		fmt.Fprintf(stderr, "kv: write output: %v\n", ferr)
		code = exitError
	}
	return code
}

// exit reports err and returns the exit status for it.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(a.stdout, a.usage(a.helpFor))
		return exitOK
	}
	if errors.Is(err, errNoCommand) {
		fmt.Fprint(a.stderr, a.rootUsage())
		return exitUsage
	}
	if f, ok := a.stdout.(*bufio.Writer); ok {
		_ = f.Flush()
	}
	// kvcore's errors start with "kv <operation>:"; say "kv: " once.
	fmt.Fprintln(a.stderr, "kv: "+strings.TrimPrefix(err.Error(), "kv "))
	var ue *usageError
	if errors.As(err, &ue) {
		if ue.path != "" {
			fmt.Fprintf(a.stderr, "Run 'kv %s --help' for usage.\n", ue.path)
		} else {
			fmt.Fprintln(a.stderr, "Run 'kv --help' for usage.")
		}
		return exitUsage
	}
	if errors.Is(err, open.ErrUnknownType) || errors.Is(err, open.ErrNoConnection) {
		return exitUsage
	}
	return exitError
}

// usageError is a mistake in the command line. path names the command whose
// help explains it ("" for kv itself).
type usageError struct {
	path string
	msg  string
}

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError for the command at path.
func usagef(path, format string, args ...any) error {
	return &usageError{path: path, msg: fmt.Sprintf(format, args...)}
}

// scrubWriter is kv's stderr: every write (an error, a log line) has the
// secrets of the connection strings in secrets masked by redact.Scrub.
// Each message is written in one Write call, so no secret is split
// between two.
type scrubWriter struct {
	w       io.Writer
	secrets *atomic.Pointer[[]string]
}

func (s scrubWriter) Write(p []byte) (int, error) {
	text := string(p)
	for _, conn := range *s.secrets.Load() {
		text = redact.Scrub(text, conn)
	}
	if _, err := io.WriteString(s.w, text); err != nil {
		return 0, err
	}
	return len(p), nil
}
