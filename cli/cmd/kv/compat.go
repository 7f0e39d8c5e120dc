package main

import "flag"

// keyFlag is --key: a command's <key> given as a flag (kv put --key k)
// rather than as its argument. Both may be given only if they agree.
type keyFlag struct {
	key string
	set bool
}

func (k *keyFlag) String() string {
	if k == nil {
		return ""
	}
	return k.key
}

func (k *keyFlag) Set(v string) error {
	k.key, k.set = v, true
	return nil
}

// define adds --key to fs.
func (k *keyFlag) define(fs *flag.FlagSet) {
	fs.Var(k, "key", "the `key`, instead of the <key> argument (give one or the other, or both the same)")
}

// args returns the positional arguments of the command at path with the
// key of --key first: args as they are if --key was not given, or the key
// alone if no argument was. A <key> argument that differs from --key is a
// usage error (the keys are not echoed: either may be long).
func (k *keyFlag) args(path string, args []string) ([]string, error) {
	switch {
	case !k.set:
		return args, nil
	case len(args) == 0:
		return []string{k.key}, nil
	case args[0] != k.key:
		return nil, usagef(path, "%s: --key and the <key> argument name different keys: give the key once", path)
	}
	return args, nil
}

// defineStreamFilters adds the flags that filter the change stream to fs:
// --of-type (a record type; "all", a-h/kv's default, or none: every
// type) and --stream (a namespace; "*", the default: every
// namespace), bound to ofType and stream.
func defineStreamFilters(fs *flag.FlagSet, ofType, stream *string) {
	fs.StringVar(ofType, "of-type", "", "only records of this `type` (as put --record-type set it); \"all\" or none: every type")
	fs.StringVar(stream, "stream", allNamespaces, "only the changes of this `namespace` (\"\" the default one, \"*\" every namespace)")
}

// negativeHint completes the error of a negative <limit> (a-h/kv's CLI
// took -1 for "no limit") with what to give instead.
func negativeHint(what string) string {
	if what != "limit" {
		return ""
	}
	return ": for no limit, leave <limit> out or give 0 (every record is printed, read in pages)"
}
