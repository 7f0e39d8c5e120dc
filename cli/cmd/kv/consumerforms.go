package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/kvsuite/kv/kvcore"
	"github.com/kvsuite/kv/kvstream"
)

// commitHint tells a person at a terminal that kv consumer get printed
// records up to seq without committing them, and how to commit them. It
// says nothing when stderr is not a terminal (a script knows what it
// asked for).
func (a *app) commitHint(name string, seq int64) {
	if _, ok := terminal(a.rawStderr); !ok {
		return
	}
	word := shellWord(name)
	switch {
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		word = "<name>" // not echoed to a terminal
	case strings.HasPrefix(name, "-"):
		word = "-- " + word
	}
	fmt.Fprintf(a.stderr, "kv: consumer get: not committed; once handled: kv consumer commit %s %d\n", word, seq)
}

// plainWord matches a word a POSIX shell reads as it is.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// shellWord returns s as one word a POSIX shell reads back as s: as it is
// if it is plain, otherwise in single quotes.
func shellWord(s string) string {
	if plainWord.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// consumerStreamArgs reads kv consumer stream's <name> [<owner>] and
// --owner (flagOwner): the consumer's name and this instance's owner id
// ("" for the default). An <owner> that differs from --owner is a usage
// error, and so is a <name> that is a namespace pattern: "*" is not a
// consumer name but what --stream takes.
func consumerStreamArgs(path string, args []string, flagOwner string) (name, owner string, err error) {
	if err := checkArgs(path, args, 1, 2, "<name> [<owner>]"); err != nil {
		return "", "", err
	}
	name, owner = args[0], flagOwner
	if name == allNamespaces || name == "" {
		return "", "", usagef(path, "%s: %q is not a consumer name: the first argument names the consumer, the second (optional) this instance; to follow one namespace give --stream <namespace> (every namespace is the default)", path, name)
	}
	if len(args) == 2 {
		if flagOwner != "" && flagOwner != args[1] {
			return "", "", usagef(path, "%s: --owner and the <owner> argument differ: give the owner once", path)
		}
		owner = args[1]
	}
	return name, owner, nil
}

// logFollowing logs, at info level, what kv consumer stream follows: the
// consumer and its owner, the namespaces and types it keeps, its commit
// mode and where it starts. A namespace filter that names a namespace with
// no live key is logged as a warning too: the consumer may then print
// nothing for a long time, and it should not do so silently.
func (a *app) logFollowing(ctx context.Context, st *kvcore.Store, s *kvstream.Stream, name, owner, stream, ofType string, m kvstream.CommitMode) error {
	ns, typ := "every namespace", "every type"
	if stream != allNamespaces {
		ns = fmt.Sprintf("namespace %q", stream)
	}
	if ofType != "" && ofType != allTypes {
		typ = fmt.Sprintf("type %q", ofType)
	}
	from := "new: from the start of the stream"
	cs, err := s.ConsumerStatus(ctx, name)
	switch {
	case err == nil:
		from = fmt.Sprintf("after seq %d", cs.Position)
	case !errors.Is(err, kvstream.ErrNotFound):
		return err
	}
	if owner == "" {
		owner = "(default)"
	}
	a.log.Info("consumer follows the stream", "consumer", name, "owner", owner,
		"namespaces", ns, "types", typ, "commit", string(m), "position", from)
	if stream == allNamespaces {
		return nil
	}
	other, err := st.Namespace(stream)
	if err != nil {
		return err
	}
	n, err := other.Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		a.log.Warn(fmt.Sprintf("consumer stream: namespace %q holds no key: only changes made in it are printed (--stream names a namespace; \"*\", the default, follows them all)", stream))
	}
	return nil
}
