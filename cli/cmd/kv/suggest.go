package main

import (
	"strconv"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/kvsuite/kv/cli/internal/redact"
)

// nearest returns the name of the subcommand of c closest to word (in
// Damerau-Levenshtein distance, at most 2 edits and fewer than word has
// letters), or "" if none is that close.
func nearest(c *ffcli.Command, word string) string {
	best, bestD := "", 3
	for _, sub := range c.Subcommands {
		if d := editDistance(word, sub.Name); d < bestD && d < len([]rune(word)) {
			best, bestD = sub.Name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent letters.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	d := make([][]int, len(s)+1)
	for i := range d {
		d[i] = make([]int, len(t)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(s)][len(t)]
}

// didYouMean is "; did you mean <name>?" for the subcommand of c nearest to
// word, or "" if there is none.
func didYouMean(c *ffcli.Command, word string) string {
	if n := nearest(c, word); n != "" {
		return "; did you mean " + n + "?"
	}
	return ""
}

// shown is a word of the command line as an error message shows it: as
// textName shows a name, unless it may be a connection string with a
// secret, which is shown as redact.Value shows it.
func shown(word string) string {
	if v := redact.Value(word); v != strconv.Quote(word) {
		return v
	}
	return textName(word)
}
