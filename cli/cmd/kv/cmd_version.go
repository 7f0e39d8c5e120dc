package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/peterbourgon/ff/v3/ffcli"
)

// versionJSON is what kv version shows.
type versionJSON struct {
	Version   string `json:"version"`    // the module version, "(devel)" for a build from a work tree
	Revision  string `json:"revision"`   // the VCS revision, "" if unknown
	Time      string `json:"time"`       // the revision's commit time, "" if unknown
	Modified  bool   `json:"modified"`   // the work tree had uncommitted changes
	GoVersion string `json:"go_version"` // the Go toolchain that built kv
}

// buildInfo reads kv's version from the build information.
func buildInfo() versionJSON {
	v := versionJSON{Version: "unknown", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (a *app) versionCommand() *ffcli.Command {
	const path = "version"
	var asJSON bool
	return a.command(spec{
		path:  path,
		short: "Show kv's version, VCS revision and Go version.",
		long: `Prints the module version ("(devel)" when built from a work tree), the
VCS revision and its time (when built from a git checkout; "+modified" if
it had uncommitted changes) and the Go version. It opens no store.
--json prints {"version":...,"revision":...,"time":...,"modified":...,
"go_version":...}.`,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print one JSON object")
		},
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			v := buildInfo()
			if asJSON {
				return a.printJSON(v)
			}
			line := "kv " + v.Version
			if v.Revision != "" {
				line += " (" + v.Revision
				if v.Time != "" {
					line += " " + v.Time
				}
				if v.Modified {
					line += " +modified"
				}
				line += ")"
			}
			if _, err := fmt.Fprintf(a.stdout, "%s %s\n", line, v.GoVersion); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	})
}
