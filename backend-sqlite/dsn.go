package sqlitekv

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/kvsuite/kv/kvcore"
)

// Access modes of a file database, as SQLite's URI parameter "mode" names them.
const (
	modeRWC    = "rwc" // read-write, create if missing (the default)
	modeRW     = "rw"  // read-write, the file must exist
	modeRO     = "ro"  // read-only, the file must exist
	modeMemory = "memory"
)

// target is a parsed DSN.
type target struct {
	path   string // the database file; "" in memory mode
	mode   string
	params url.Values // other parameters, passed on to the driver
	// mustExist: the mode was rwc and WithMustExist made it rw.
	mustExist bool
}

func (t target) memory() bool { return t.mode == modeMemory }

// reservedParams are DSN parameters that the backend sets itself; giving
// them would break its guarantees, so they are refused with the option to use.
var reservedParams = map[string]string{
	"_txlock":       "the writer always uses BEGIN IMMEDIATE",
	"_query_only":   "readers are always query-only",
	"_journal_mode": "the database always runs in WAL mode",
	"_journal":      "the database always runs in WAL mode",
	"_synchronous":  "use WithSynchronous",
	"_sync":         "use WithSynchronous",
	"_busy_timeout": "use WithBusyTimeout",
	"_timeout":      "use WithBusyTimeout",
	"cache":         "shared cache is not supported",
}

func dsnError(format string, args ...any) error {
	return fmt.Errorf("sqlitekv: %w: DSN: %s", kvcore.ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// parseDSN reads the forms Open accepts: a plain path ("data.db"), a SQLite
// URI ("file:data.db?mode=ro", "file:///abs/data.db"), ":memory:" and
// "file::memory:". Its errors never repeat the DSN's parameters.
func parseDSN(dsn string) (target, error) {
	var t target
	if strings.TrimSpace(dsn) == "" {
		return t, dsnError("empty (want a path such as data.db, file:data.db?mode=rwc or :memory:)")
	}
	if dsn == ":memory:" {
		t.mode = modeMemory
		return t, nil
	}
	rest, isURI := strings.CutPrefix(dsn, "file:")
	if isURI {
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			rest = rest[:i]
		}
	}
	path, query, _ := strings.Cut(rest, "?")
	if isURI {
		if after, ok := strings.CutPrefix(path, "//"); ok {
			authority, p, _ := strings.Cut(after, "/")
			if authority != "" && authority != "localhost" {
				return t, dsnError("file URI names host %q (only local files are supported)", authority)
			}
			path = "/" + p
		}
		p, err := url.PathUnescape(path)
		if err != nil {
			return t, dsnError("bad escape in the file path")
		}
		path = p
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return t, dsnError("malformed parameters after '?'")
	}
	mode := params.Get("mode")
	params.Del("mode")
	for k := range params {
		if why, ok := reservedParams[k]; ok {
			return t, dsnError("parameter %q is not accepted: %s", k, why)
		}
	}
	t.params = params
	switch {
	case path == ":memory:" || mode == modeMemory:
		t.mode = modeMemory
		return t, nil
	case path == "":
		return t, dsnError("no file path")
	case strings.IndexByte(path, 0) >= 0:
		return t, dsnError("file path contains a NUL byte")
	}
	switch mode {
	case "", modeRWC:
		t.mode = modeRWC
	case modeRW, modeRO:
		t.mode = mode
	default:
		return t, dsnError("mode %q: want rwc, rw, ro or memory", mode)
	}
	t.path = path
	return t, nil
}

// uri builds the URI that the driver opens for path with mode and params.
func uri(path, mode string, params url.Values) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	var b strings.Builder
	b.WriteString("file:")
	if strings.HasPrefix(path, "/") {
		b.WriteString("//") // empty authority: the path is absolute
	}
	b.WriteString(esc)
	b.WriteString("?mode=")
	b.WriteString(mode)
	if len(params) > 0 {
		b.WriteByte('&')
		b.WriteString(params.Encode())
	}
	return b.String()
}
