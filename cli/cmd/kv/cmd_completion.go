package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) completionCommand() *ffcli.Command {
	const path = "completion"
	return a.command(spec{
		path:  path,
		args:  "bash|zsh",
		short: "Print a shell completion script for kv.",
		long: `Prints a script that completes kv's commands, subcommands and flags (not
keys or other arguments). Load it in the shell's startup file:
  bash:  source <(kv completion bash)
  zsh:   source <(kv completion zsh)     (it uses zsh's bashcompinit)`,
		run: func(ctx context.Context, args []string) error {
			if err := checkArgs(path, args, 1, 1, "bash or zsh"); err != nil {
				return err
			}
			var script string
			switch args[0] {
			case "bash":
				script = a.bashCompletion()
			case "zsh":
				script = "autoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n" + a.bashCompletion()
			default:
				return usagef(path, "completion: shell %s: want bash or zsh", shown(args[0]))
			}
			if _, err := fmt.Fprint(a.stdout, script); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			return nil
		},
	})
}

// bashCompletion returns a bash completion function for kv, made from the
// command tree: for each command path, its subcommands and flags.
func (a *app) bashCompletion() string {
	var b strings.Builder
	b.WriteString("# kv completion for bash: source <(kv completion bash)\n_kv() {\n")
	b.WriteString("  local cur=${COMP_WORDS[COMP_CWORD]} path w i\n")
	b.WriteString("  declare -A words\n")
	var walk func(c *ffcli.Command)
	walk = func(c *ffcli.Command) {
		var ws []string
		for _, sub := range c.Subcommands {
			ws = append(ws, sub.Name)
		}
		c.FlagSet.VisitAll(func(f *flag.Flag) { ws = append(ws, "--"+f.Name) })
		fmt.Fprintf(&b, "  words[%q]=%q\n", strings.TrimSpace("kv "+a.specs[c].path), strings.Join(ws, " "))
		for _, sub := range c.Subcommands {
			walk(sub)
		}
	}
	walk(a.root)
	b.WriteString(`  path=kv
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $w != -* && -n ${words["$path $w"]+x} ]]; then path="$path $w"; fi
  done
  COMPREPLY=($(compgen -W "${words[$path]}" -- "$cur"))
}
complete -F _kv kv
`)
	return b.String()
}
