package main

import (
	"flag"
	"io"

	"github.com/peterbourgon/ff/v3"

	"github.com/kvsuite/kv/cli/internal/open"
	"github.com/kvsuite/kv/kvcore"
)

// Defaults of the global flags.
const (
	defaultType       = "sqlite"
	defaultConnection = "file:data.db?mode=rwc"
)

// globalFlags are the flags every command accepts, before or after its name.
type globalFlags struct {
	typ        string
	connection string
	namespace  string
	config     string
}

// globalFlagNames are the names of the global flags, in the order of help.
var globalFlagNames = []string{"type", "connection", "namespace", "config"}

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
	fs.StringVar(&g.connection, "connection", defaultConnection, "the connection string to use (env KV_CONNECTION)")
	fs.StringVar(&g.namespace, "namespace", "", "the namespace (separate keyspace) to use; \"\" is the default one (env KV_NAMESPACE)")
	fs.StringVar(&g.config, "config", "", "read global flags from this `file`: one \"name value\" per line, # starts a comment (env KV_CONFIG)")
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
		ff.WithConfigFileParser(ff.PlainParser),
	)
	if err != nil {
		if g.config != "" {
			return usagef("", "global flags from KV_* variables or config file %q: %v", g.config, err)
		}
		return usagef("", "global flags from KV_* variables: %v", err)
	}
	a.cfg = open.Config{Type: g.typ, Connection: g.connection, Namespace: g.namespace}
	if err := open.CheckType(g.typ); err != nil {
		return usagef("", "--type: %v", err)
	}
	if g.namespace != "" {
		if err := kvcore.ValidateKey(g.namespace); err != nil {
			return usagef("", "--namespace: %v", err)
		}
	}
	return nil
}
