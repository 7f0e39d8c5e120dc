package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/peterbourgon/ff/v3"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/cli/internal/redact"
	"github.com/kvsuite/kv/kvcore"
)

// Defaults of the global flags. defaultConnection is SQLite's only: with
// another --type the connection string must be given (connectionFor).
const (
	defaultType       = "sqlite"
	defaultConnection = "file:data.db?mode=rwc"
)

// globalFlags are the flags every command accepts, before or after its name.
type globalFlags struct {
	typ        string
	connection string
	namespace  string
	namespaces []string // every --namespace given, in order (kv export)
	config     string
	logFormat  string
	logLevel   string
}

// globalFlagNames are the names of the global flags, in the order of help.
var globalFlagNames = []string{"type", "connection", "namespace", "config", "log-format", "log-level"}

func isGlobalFlag(name string) bool {
	for _, n := range globalFlagNames {
		if n == name {
			return true
		}
	}
	return false
}

// defineGlobalFlags adds the global flags to fs, bound to g.
func defineGlobalFlags(fs *flag.FlagSet, g *globalFlags) {
	fs.StringVar(&g.typ, "type", defaultType, "the type of KV store to use: sqlite, postgres or rqlite (env KV_TYPE)")
	fs.StringVar(&g.connection, "connection", defaultConnection, "the connection string to use (env KV_CONNECTION); the default is SQLite's, postgres and rqlite need one")
	fs.Var(namespaceFlag{g}, "namespace", "the namespace (separate keyspace) to use, a `string`; \"\" is the default one; kv export and kv status take several, and without it use every namespace (env KV_NAMESPACE)")
	fs.StringVar(&g.config, "config", "", "read global flags from this `file`: one \"name value\" per line, # starts a comment (env KV_CONFIG)")
	fs.StringVar(&g.logFormat, "log-format", "text", "the `format` of the log on stderr (kv task run, kv consumer stream): text or json (env KV_LOG_FORMAT)")
	fs.StringVar(&g.logLevel, "log-level", "info", "log messages of this `level` and above: debug, info, warn or error (env KV_LOG_LEVEL)")
}

// namespaceFlag is --namespace: the last one given is the namespace, and
// every one given is kept in order for kv export.
type namespaceFlag struct{ g *globalFlags }

func (f namespaceFlag) String() string {
	if f.g == nil {
		return ""
	}
	return f.g.namespace
}

func (f namespaceFlag) Set(v string) error {
	f.g.namespace = v
	f.g.namespaces = append(f.g.namespaces, v)
	return nil
}

// resolveGlobals settles the global settings: a flag given on the command
// line (anywhere in it) wins, then the KV_* environment variable, then the
// config file, then the default. ff does the environment and the file: the
// explicit flags are replayed into one flag set that it parses.
func (a *app) resolveGlobals() error {
	explicit := map[string]string{}
	for _, fs := range a.flagSets {
		fs.Visit(func(f *flag.Flag) {
			if isGlobalFlag(f.Name) {
				explicit[f.Name] = f.Value.String()
			}
		})
	}
	var args []string
	for _, name := range globalFlagNames {
		if v, ok := explicit[name]; ok {
			args = append(args, "-"+name+"="+v)
		}
	}
	var g globalFlags
	fs := flag.NewFlagSet("kv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	defineGlobalFlags(fs, &g)
	err := ff.Parse(fs, args,
		ff.WithEnvVarPrefix("KV"),
		ff.WithConfigFileFlag("config"),
		ff.WithConfigFileParser(configParser),
	)
	// Whatever ff set before an error may be a connection string: stderr
	// masks its secrets from now on.
	a.secrets.Store(&[]string{g.connection, a.cl.connection})
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			return usagef("", "config file %s line %d: %s", redact.Value(g.config), ce.line, ce.msg)
		}
		// ff's errors may quote what it read: say only where it came from.
		if g.config != "" {
			return usagef("", "config file %s: %s", redact.Value(g.config), configReadError(err))
		}
		return usagef("", "global flags from KV_* variables: cannot read them")
	}
	a.cfg = open.Config{Type: g.typ, Connection: connectionFor(fs, g.typ, g.connection), Namespace: g.namespace}
	if err := open.CheckType(g.typ); err != nil {
		return usagef("", "--type: %v", err)
	}
	a.namespaces = []string{g.namespace}
	a.namespaceChosen = len(g.namespaces) > 0 // ff sets it from the flag, env or file
	if len(a.cl.namespaces) > 0 {
		a.namespaces = a.cl.namespaces
	}
	for _, ns := range a.namespaces {
		if err := kvcore.ValidateNamespace(ns); err != nil {
			return usagef("", "--namespace: %v", err)
		}
	}
	log, err := newLogger(a.stderr, g.logFormat, g.logLevel)
	if err != nil {
		return usagef("", "%v", err)
	}
	a.log = log
	return nil
}

// connectionFor returns the connection string of a store of type typ:
// conn, unless no flag, KV_CONNECTION or config file line set it (fs,
// which ff parsed, did not see it) and typ has no default connection, in
// which case it is "" (an error when the store is opened, not SQLite's
// default file given to another backend).
func connectionFor(fs *flag.FlagSet, typ, conn string) string {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "connection" })
	if !given && typ != defaultType {
		return ""
	}
	return conn
}

// configError is a line of the config file that configParser refuses. Its
// message never quotes the line: a line that is not what it should be may
// hold a connection string.
type configError struct {
	line int
	msg  string
}

func (e *configError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// configParser reads kv's config file for ff, in ff's plain format: one
// global flag a line, "name value" (the value is the rest of the line, as
// it is; " #" starts a comment), lines starting with # are comments. Its
// errors name the line and what is wrong with it without repeating it.
func configParser(r io.Reader, set func(name, value string) error) error {
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		value = strings.TrimSpace(value)
		if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		name = strings.TrimLeft(name, "-")
		if !isGlobalFlag(name) {
			if before, _, ok := strings.Cut(name, "="); ok && isGlobalFlag(strings.TrimLeft(before, "-")) {
				return &configError{n, fmt.Sprintf("want %q followed by a space and the value, not \"=\"", strings.TrimLeft(before, "-"))}
			}
			return &configError{n, "not \"name value\" with a known name (want one of " + strings.Join(globalFlagNames, ", ") + ")"}
		}
		if value == "" {
			return &configError{n, fmt.Sprintf("%s has no value", name)}
		}
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			return &configError{n, fmt.Sprintf("the value of %s is quoted: the rest of the line is the value as it is, without quotes", name)}
		}
		if err := set(name, value); err != nil {
			return &configError{n, fmt.Sprintf("%s cannot be set", name)}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

// configReadError says why ff could not read the config file, without
// what it read.
func configReadError(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "it does not exist"
	}
	if errors.Is(err, fs.ErrPermission) {
		return "permission denied"
	}
	return "it cannot be read, or a KV_* variable cannot be"
}
