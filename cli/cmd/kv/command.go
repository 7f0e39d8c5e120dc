package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/redact"
)

// spec describes one kv command.
type spec struct {
	path  string                                         // e.g. "get key"; "" for kv itself
	args  string                                         // its positional arguments, e.g. "<key>"
	short string                                         // one line for the command list
	long  string                                         // more help for --help
	flags func(fs *flag.FlagSet)                         // defines the command's own flags
	run   func(ctx context.Context, args []string) error // nil for a group of subcommands
	subs  []*ffcli.Command
	// reads marks a command that only reads the store: with SQLite it
	// opens an existing database file and never creates one. Every other
	// command creates it, as kv init does (kv import decides for itself:
	// see importFile).
	reads bool
}

// errNoCommand: kv was run without a command.
var errNoCommand = errors.New("no command given")

// command builds the ffcli command for s. Every command accepts the global
// flags too, and its own flags anywhere among its arguments.
func (a *app) command(s spec) *ffcli.Command {
	fs := flag.NewFlagSet(strings.TrimSpace("kv "+s.path), flag.ContinueOnError)
	fs.SetOutput(io.Discard) // kv reports flag errors itself
	if s.flags != nil {
		s.flags(fs)
	}
	strictFlags(fs)
	defineGlobalFlags(fs, &a.cl)
	a.flagSets = append(a.flagSets, fs)

	words := strings.Fields(s.path)
	name := "kv"
	if len(words) > 0 {
		name = words[len(words)-1]
	}
	c := &ffcli.Command{
		Name:        name,
		ShortUsage:  strings.TrimSpace("kv " + s.path + " " + s.args),
		ShortHelp:   s.short,
		LongHelp:    s.long,
		FlagSet:     fs,
		Subcommands: s.subs,
	}
	c.UsageFunc = func(c *ffcli.Command) string {
		// Called by the flag package on -h and on a flag error: remember
		// which command it was about; exit prints kv's own usage text.
		a.helpFor = c
		return ""
	}
	a.specs[c] = s
	c.Exec = func(ctx context.Context, args []string) error {
		a.helpFor = c
		if s.run == nil {
			return a.noSubcommand(c, s, args)
		}
		pos, err := parseArgs(fs, a.args, args)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usagef(s.path, "%s", flagMessage(err.Error()))
		}
		if err := a.resolveGlobals(); err != nil {
			return err
		}
		a.cfg.MustExist = s.reads
		return s.run(ctx, pos)
	}
	return c
}

// noSubcommand is the action of a group run without a known subcommand.
func (a *app) noSubcommand(c *ffcli.Command, s spec, args []string) error {
	var names []string
	for _, sub := range c.Subcommands {
		names = append(names, sub.Name)
	}
	if s.path == "" {
		if len(args) == 0 {
			return errNoCommand
		}
		return usagef("", "kv %s: unknown command%s", shown(args[0]), didYouMean(c, args[0]))
	}
	if len(args) == 0 {
		return usagef(s.path, "%s: missing subcommand: want one of %s", s.path, strings.Join(names, ", "))
	}
	word := redact.Value(args[0])
	hint := didYouMean(c, args[0])
	tail := ""
	if hint == "" && slices.Contains(names, "key") {
		// kv get x, as if the key came first: show the form that names it.
		tail = fmt.Sprintf("; for the key %s: kv %s key %s", word, s.path, word)
	}
	return usagef(s.path, "%s: unknown subcommand %s%s: want one of %s%s", s.path, word, hint, strings.Join(names, ", "), tail)
}

// usage returns the help text of c.
func (a *app) usage(c *ffcli.Command) string {
	if c == nil || a.specs[c].path == "" {
		return a.rootUsage()
	}
	s := a.specs[c]
	var b strings.Builder
	flagsWord := " [flags]"
	if s.run == nil {
		flagsWord = " <subcommand>"
	}
	fmt.Fprintf(&b, "Usage: kv %s%s", s.path, flagsWord)
	if s.args != "" {
		fmt.Fprintf(&b, " %s", s.args)
	}
	fmt.Fprintf(&b, "\n\n%s\n", s.short)
	if s.long != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(s.long))
	}
	if len(c.Subcommands) > 0 {
		fmt.Fprintf(&b, "\nSubcommands:\n")
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, sub := range c.Subcommands {
			ss := a.specs[sub]
			fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(sub.Name+" "+ss.args), ss.short)
		}
		tw.Flush()
	}
	own := false
	c.FlagSet.VisitAll(func(f *flag.Flag) { own = own || !isGlobalFlag(f.Name) })
	if own {
		fmt.Fprintf(&b, "\nFlags:\n")
		writeFlags(&b, c.FlagSet, func(name string) bool { return !isGlobalFlag(name) })
	}
	fmt.Fprintf(&b, "\nGlobal flags (before or after the command):\n")
	writeFlags(&b, c.FlagSet, isGlobalFlag)
	if len(c.Subcommands) > 0 {
		fmt.Fprintf(&b, "\nRun 'kv %s <subcommand> --help' for more information on a subcommand.\n", s.path)
	}
	return b.String()
}

// writeFlags lists the flags of fs that keep selects, in the order of
// globalFlagNames for global flags and by name otherwise.
func writeFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var fl []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f.Name) && !isGlobalFlag(f.Name) {
			fl = append(fl, f)
		}
	})
	for _, name := range globalFlagNames {
		if f := fs.Lookup(name); f != nil && keep(name) {
			fl = append(fl, f)
		}
	}
	for _, f := range fl {
		arg, help := flag.UnquoteUsage(f)
		if t, ok := f.Value.(interface{ typeName() string }); ok && arg == "value" {
			arg = t.typeName()
		}
		if arg != "" {
			arg = " " + arg
		}
		switch _, numErr := strconv.ParseFloat(f.DefValue, 64); {
		case f.DefValue == "", f.DefValue == "0", f.DefValue == "0s", f.DefValue == "false":
		case numErr == nil:
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		default:
			help += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", f.Name, arg, help)
	}
	tw.Flush()
}
