// Package redact is the kv CLI's one rule for connection strings in
// messages: what of a connection string may be shown, and what must be
// masked wherever it appears.
//
// The rule is an allow-list. A connection string is read as one of the
// forms kv's backends take (a URL such as postgres://user:pw@host/db or
// http://host:4001?user=u&password=pw, a PostgreSQL keyword/value string
// such as "host=db password='p w'", or a SQLite path or file: URI); only
// its scheme, user name, host, port, path and the parameters known not to
// hold secrets are shown, each other part is replaced by Mask. A string
// that has none of these forms is not shown at all: its error (Check) says
// which part of the form is wrong without repeating any of it.
package redact

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask replaces every secret in what Connection and Scrub return.
const Mask = "xxxxx"

// Hidden is what Connection returns for a string it cannot read, and
// Value for a value it does not show.
const Hidden = "(not shown)"

// ErrMalformed is wrapped by Check's errors: the connection string has none
// of the forms kv reads.
var ErrMalformed = errors.New("malformed connection string")

// minWindow is the shortest run of a secret's bytes that Scrub masks
// wherever it appears in a text.
const minWindow = 4

// The parameters (of a URL's query, a keyword/value string or a SQLite URI)
// that Connection shows with their values, compared without case. Any other
// parameter is masked, its name included: a password with an unescaped & or
// a space can spill into what reads as a parameter name.
var publicParams = setOf(
	// PostgreSQL (libpq and pgx)
	"host", "hostaddr", "port", "dbname", "user", "connect_timeout", "sslmode",
	"sslcert", "sslkey", "sslrootcert", "sslcrl", "sslsni", "sslnegotiation",
	"application_name", "fallback_application_name", "target_session_attrs",
	"options", "search_path", "timezone", "client_encoding", "datestyle",
	"service", "servicefile", "passfile", "krbsrvname", "gssencmode",
	"channel_binding", "keepalives", "keepalives_idle", "keepalives_interval",
	"keepalives_count", "statement_timeout", "lock_timeout",
	"idle_in_transaction_session_timeout", "pool_max_conns", "pool_min_conns",
	"pool_min_idle_conns", "pool_max_conn_lifetime", "pool_max_conn_lifetime_jitter",
	"pool_max_conn_idle_time", "pool_health_check_period", "default_query_exec_mode",
	"statement_cache_capacity", "description_cache_capacity", "min_read_buffer_size",
	// rqlite
	"username", "level", "consistency", "disableclusterdiscovery", "timeout",
	// SQLite
	"mode", "cache", "vfs", "immutable", "nolock", "psow", "_pragma", "_txlock",
	"_time_format", "_time_integer_format", "_busy_timeout", "_timeout",
	"_journal_mode", "_journal", "_synchronous", "_sync", "_query_only",
)

// secretParams are parameters whose values are secrets: Connection shows
// their names and masks their values.
var secretParams = setOf(
	"password", "pass", "passwd", "pwd", "secret", "token", "auth_token",
	"authtoken", "sslpassword", "api_key", "apikey", "access_token",
)

// vocabulary are words of the forms themselves: Scrub does not mask them
// as parts of a string it could not read.
var vocabulary = setOf("postgres", "postgresql", "http", "https", "file", "sqlite", "rqlite", "localhost", "memory")

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// urlScheme matches the start of a URL: a scheme and "://".
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// oneSlash matches a scheme followed by a single slash ("http:/host").
var oneSlash = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:/[^/]`)

// keywordStart matches the start of a keyword/value string: a keyword and =.
var keywordStart = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\s*=`)

// parsed is what parse learns of a connection string.
type parsed struct {
	shown   string   // the string with every secret part masked
	secrets []string // the masked parts, raw and decoded
}

func (p *parsed) hide(parts ...string) {
	for _, s := range parts {
		if s != "" && s != Mask {
			p.secrets = append(p.secrets, s)
		}
	}
}

// malformed is the error of a string parse cannot read. Its reason never
// holds any part of the string.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w (not shown): %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// parse reads conn as a URL, a keyword/value string or a SQLite path.
func parse(conn string) (parsed, error) {
	switch {
	case conn == "":
		return parsed{}, malformed("it is empty")
	case !utf8.ValidString(conn):
		return parsed{}, malformed("it is not valid UTF-8")
	case strings.IndexFunc(conn, unicode.IsControl) >= 0:
		return parsed{}, malformed("it holds a control character (a tab, a line break...)")
	case unicode.IsSpace(rune(conn[0])):
		return parsed{}, malformed("it starts with white space")
	case unicode.IsSpace(rune(conn[len(conn)-1])):
		return parsed{}, malformed("it ends with white space")
	case conn[0] == '"' || conn[0] == '\'':
		return parsed{}, malformed("it is quoted: give it without the quotes")
	case strings.HasPrefix(conn, "file:"):
		return parseSQLite(conn, true)
	case urlScheme.MatchString(conn):
		return parseURL(conn)
	case keywordStart.MatchString(conn):
		return parseKeywords(conn)
	}
	return parseSQLite(conn, false)
}

// parseURL reads a URL: scheme://[user[:password]@]host[/path][?query].
func parseURL(conn string) (parsed, error) {
	scheme, rest, _ := strings.Cut(conn, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strayAt(tail) {
		return parsed{}, malformed("the user info (user:password@) holds a /, ? or #, or an @ is out of place: percent-encode them in a password (/ as %%2F, ? as %%3F, # as %%23, @ as %%40)")
	}
	u, err := url.Parse(conn)
	if err != nil {
		return parsed{}, urlError(err)
	}
	var p parsed
	var b strings.Builder
	b.WriteString(scheme + "://")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		rawUser, rawPass, hasPass := strings.Cut(authority[:at], ":")
		user := u.User.Username()
		if strings.Contains(user, "@") {
			// An @ inside the user name is more likely a mistyped ":".
			b.WriteString(Mask)
			p.hide(rawUser, user)
		} else {
			b.WriteString(rawUser)
		}
		if hasPass {
			pass, _ := u.User.Password()
			b.WriteString(":" + Mask)
			p.hide(rawPass, pass, ":"+rawPass+"@")
		}
		b.WriteString("@")
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if u.ForceQuery || u.RawQuery != "" {
		q, err := params(u.RawQuery, "&", &p)
		if err != nil {
			return parsed{}, err
		}
		b.WriteString("?" + q)
	}
	if u.Fragment != "" || strings.Contains(tail, "#") {
		b.WriteString("#" + Mask)
		p.hide(u.Fragment, u.EscapedFragment(), "#"+u.EscapedFragment())
	}
	p.shown = b.String()
	return p, nil
}

// strayAt reports whether the part of a URL after its authority holds an
// @ anywhere but in a query parameter's value: the sign of a password
// whose /, ? or # ended the authority early.
func strayAt(tail string) bool {
	rest, fragment, _ := strings.Cut(tail, "#")
	path, query, _ := strings.Cut(rest, "?")
	if strings.Contains(path, "@") || strings.Contains(fragment, "@") {
		return true
	}
	for _, pair := range strings.Split(query, "&") {
		name, _, _ := strings.Cut(pair, "=")
		if strings.Contains(name, "@") {
			return true
		}
	}
	return false
}

// urlError turns url.Parse's error, which repeats the string, into one
// that names only the part that is wrong.
func urlError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "invalid userinfo"):
		return malformed("the user info (user:password@) holds a character that must be percent-encoded (a space as %%20, \" as %%22, \\ as %%5C...)")
	case strings.Contains(msg, "invalid URL escape"):
		return malformed("a %% is not followed by two hexadecimal digits (write a %% itself as %%25)")
	case strings.Contains(msg, "invalid port"):
		return malformed("the port (after the host's :) is not a number; if a password holds /, ? or #, percent-encode them")
	case strings.Contains(msg, "invalid character"), strings.Contains(msg, "invalid IP"):
		return malformed("the host holds a character a host name cannot have")
	}
	return malformed("it is not a valid URL")
}

// params renders a query (or SQLite URI parameters) split by sep, showing
// public parameters, masking the values of secret ones and the whole of
// any other.
func params(raw, sep string, p *parsed) (string, error) {
	var out []string
	for _, pair := range strings.Split(raw, sep) {
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return "", malformed("a parameter holds a %% that is not followed by two hexadecimal digits (write a %% itself as %%25)")
		}
		switch key := strings.ToLower(name); {
		case secretParams[key]:
			out = append(out, rawName+"="+Mask)
			p.hide(rawValue, value, "="+rawValue+sep)
		case publicParams[key] && !(key == "_pragma" && strings.Contains(strings.ToLower(value), "key")):
			out = append(out, pair)
		default:
			out = append(out, Mask)
			p.hide(rawName, name, rawValue, value, sep+pair+sep)
		}
	}
	return strings.Join(out, sep), nil
}

// parseKeywords reads a keyword/value string as libpq does: words
// keyword=value, a value either bare (a backslash escapes the next
// character) or in single quotes.
func parseKeywords(conn string) (parsed, error) {
	var p parsed
	var out []string
	word := 0
	i := 0
	skipSpace := func() {
		for i < len(conn) && conn[i] == ' ' {
			i++
		}
	}
	for {
		skipSpace()
		if i == len(conn) {
			break
		}
		word++
		start := i
		for i < len(conn) && (conn[i] == '_' || conn[i] >= '0' && conn[i] <= '9' || conn[i] >= 'a' && conn[i] <= 'z' || conn[i] >= 'A' && conn[i] <= 'Z') {
			i++
		}
		key := conn[start:i]
		skipSpace()
		if key == "" || i == len(conn) || conn[i] != '=' {
			return parsed{}, malformed("word %d of the keyword/value string is not keyword=value", word)
		}
		i++
		skipSpace()
		what := "the value of word " + strconv.Itoa(word)
		lower := strings.ToLower(key)
		if publicParams[lower] || secretParams[lower] {
			what = "the value of " + key
		}
		valueStart := i
		var value strings.Builder
		switch {
		case i < len(conn) && conn[i] == '"':
			return parsed{}, malformed("%s starts with a double quote: quote values with single quotes ('...')", what)
		case i < len(conn) && conn[i] == '\'':
			i++
			closed := false
			for i < len(conn) && !closed {
				switch c := conn[i]; {
				case c == '\\' && i+1 < len(conn):
					value.WriteByte(conn[i+1])
					i += 2
				case c == '\'':
					closed = true
					i++
				default:
					value.WriteByte(c)
					i++
				}
			}
			if !closed {
				return parsed{}, malformed("%s has no closing quote", what)
			}
		default:
			for i < len(conn) && conn[i] != ' ' {
				if conn[i] == '\\' && i+1 < len(conn) {
					i++
				}
				value.WriteByte(conn[i])
				i++
			}
		}
		raw := conn[valueStart:i]
		switch {
		case secretParams[lower]:
			out = append(out, key+"="+Mask)
			p.hide(raw, value.String(), strings.Trim(raw, "'"), "="+raw+" ")
		case publicParams[lower]:
			out = append(out, key+"="+raw)
		default:
			out = append(out, Mask)
			p.hide(key, raw, value.String(), " "+conn[start:i]+" ")
		}
	}
	p.shown = strings.Join(out, " ")
	return p, nil
}

// parseSQLite reads a SQLite path or file: URI, with parameters after a ?.
// An @ in it is refused: it is most likely a URL's user info whose scheme
// is missing or mistyped.
func parseSQLite(conn string, uri bool) (parsed, error) {
	if strings.Contains(conn, "@") {
		switch {
		case strings.HasPrefix(conn, "//"):
			return parsed{}, malformed("it has user info (user:password@) but no scheme before the //: a URL starts with postgres://, http:// or https://")
		case oneSlash.MatchString(conn):
			return parsed{}, malformed("the scheme is followed by one slash: a URL starts with scheme:// (two slashes)")
		}
		return parsed{}, malformed("it has an @ but no scheme://: a URL with user info is scheme://user:password@host (postgres://, http:// or https://); a SQLite file name with an @ is written as a file: URI with %%40")
	}
	var p parsed
	rest, fragment, hasFragment := conn, "", false
	if uri {
		rest, fragment, hasFragment = strings.Cut(conn, "#")
	}
	path, query, hasQuery := strings.Cut(rest, "?")
	shown := path
	if hasQuery {
		q, err := params(query, "&", &p)
		if err != nil {
			return parsed{}, err
		}
		shown += "?" + q
	}
	if hasFragment {
		shown += "#" + Mask
		p.hide(fragment, "#"+fragment)
	}
	p.shown = shown
	return p, nil
}

// Form is which form of connection string Connection read.
type Form int

// The forms of connection string.
const (
	Malformed Form = iota // none of the others
	URL                   // scheme://...
	Keywords              // PostgreSQL keyword=value words
	SQLite                // a SQLite file path or file: URI
)

// FormOf returns the form of conn (Malformed if Check refuses it).
func FormOf(conn string) Form {
	if Check(conn) != nil {
		return Malformed
	}
	switch {
	case strings.HasPrefix(conn, "file:"):
		return SQLite
	case urlScheme.MatchString(conn):
		return URL
	case keywordStart.MatchString(conn):
		return Keywords
	}
	return SQLite
}

// Check returns nil if conn has one of the forms Connection reads, and
// otherwise an error wrapping ErrMalformed that says which part of the form
// is wrong, without any of conn.
func Check(conn string) error {
	_, err := parse(conn)
	return err
}

// Connection returns conn as a message may show it: every secret part
// replaced by Mask (see the package doc), or Hidden if conn cannot be read.
func Connection(conn string) string {
	p, err := parse(conn)
	if err != nil {
		return Hidden
	}
	return p.shown
}

// Secrets returns the parts of conn that Connection does not show (raw and
// decoded), so that they can be masked in other text too. For a string
// Connection cannot read, it is every word of it (split at white space and
// the separators of the forms) that is not a word of the forms themselves.
func Secrets(conn string) []string {
	p, err := parse(conn)
	if err == nil {
		return p.secrets
	}
	var out []string
	for _, w := range strings.FieldsFunc(conn, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`:/@?#&=;'"\,`, r)
	}) {
		if !vocabulary[strings.ToLower(w)] && !publicParams[strings.ToLower(w)] && !secretParams[strings.ToLower(w)] {
			out = append(out, w)
		}
	}
	return out
}

// Scrub returns text with conn, wherever it appears whole, replaced by
// Connection(conn), and every part of conn that Connection hides masked:
// each whole, and every run of text that shares minWindow (4) or more
// consecutive bytes with one of them, so that no piece of a secret a
// driver's message quotes is left.
func Scrub(text, conn string) string {
	if conn == "" || text == "" {
		return text
	}
	text = strings.ReplaceAll(text, conn, Connection(conn))
	return mask(text, Secrets(conn))
}

// mask replaces in text every secret of at least 2 bytes, and every run
// of text covered by windows of minWindow bytes of any secret.
func mask(text string, secrets []string) string {
	windows := map[string]bool{}
	for _, s := range secrets {
		if len(s) >= 2 && len(s) < minWindow {
			text = strings.ReplaceAll(text, s, Mask)
		}
		for i := 0; i+minWindow <= len(s); i++ {
			windows[s[i:i+minWindow]] = true
		}
	}
	if len(windows) == 0 || len(text) < minWindow {
		return text
	}
	covered := make([]bool, len(text))
	found := false
	for i := 0; i+minWindow <= len(text); i++ {
		if windows[text[i:i+minWindow]] {
			for j := i; j < i+minWindow; j++ {
				covered[j] = true
			}
			found = true
		}
	}
	if !found {
		return text
	}
	// Widen each masked run to whole UTF-8 characters.
	for i := range covered {
		if !covered[i] {
			continue
		}
		for k := i; k > 0 && !utf8.RuneStart(text[k]); k-- {
			covered[k-1] = true
		}
		for k := i + 1; k < len(text) && !utf8.RuneStart(text[k]); k++ {
			covered[k] = true
		}
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		if !covered[i] {
			b.WriteByte(text[i])
			i++
			continue
		}
		for i < len(text) && covered[i] {
			i++
		}
		b.WriteString(Mask)
	}
	return b.String()
}

// Value returns a value the user gave (a flag's value, a word of the
// command line) as an error message may show it: quoted in Go syntax,
// unless it holds a part that Connection would mask (it is then shown as
// Connection shows it) or it cannot be read as a connection string at all
// (it is then Hidden). So a connection string given in the wrong place is
// never echoed with its password.
func Value(s string) string {
	if s == "" {
		return `""`
	}
	p, err := parse(s)
	if err != nil {
		return Hidden
	}
	return strconv.Quote(p.shown)
}
