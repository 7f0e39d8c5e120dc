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
	stdin          io.Reader
	stdout, stderr io.Writer
	args           []string // the whole command line, for parseArgs

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
		stdin:  stdin,
		stdout: out,
		stderr: stderr,
		args:   args,
		specs:  map[*ffcli.Command]spec{},
	}
	root := a.rootCommand()
	err := root.Parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		// A flag the command line got wrong.
		msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
		if n, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok && negativeNumber.MatchString(n) {
			msg = fmt.Sprintf("%s is negative: offsets, limits and seqs must be 0 or more (a key that starts with \"-\" goes after --)", n)
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
	msg := "kv: " + strings.TrimPrefix(err.Error(), "kv ")
	msg = redact.Scrub(msg, a.cfg.Connection)
	msg = redact.Scrub(msg, a.cl.connection)
	fmt.Fprintln(a.stderr, msg)
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
