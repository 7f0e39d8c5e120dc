package main

import "github.com/peterbourgon/ff/v3/ffcli"

func (a *app) graphGetIncomingCommand() *ffcli.Command {
	return a.graphAdjacentCommand("graph get-incoming", "Get incoming edges to an entity.", false)
}
