// Package redact hides the secrets in connection strings so that the kv CLI
// can name a connection in a message without printing its password.
package redact

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Mask replaces every secret that Connection hides.
const Mask = "xxxxx"

// secretParams are query parameters (and key=value words) whose values are
// secrets, compared without case.
var secretParams = map[string]bool{
	"password":    true,
	"pass":        true,
	"passwd":      true,
	"pwd":         true,
	"secret":      true,
	"token":       true,
	"auth_token":  true,
	"authtoken":   true,
	"sslpassword": true,
	"api_key":     true,
	"apikey":      true,
}

// keywordSecret matches a secret in a PostgreSQL keyword/value connection
// string ("host=db password='s e c' user=me"): one of secretParams, then a
// quoted or unquoted value.
var keywordSecret = func() *regexp.Regexp {
	names := slices.Sorted(maps.Keys(secretParams))
	return regexp.MustCompile(`(?i)\b(` + strings.Join(names, "|") + `)(\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
}()

// urlScheme matches the start of a URL: a scheme and "://". A keyword/value
// string may hold "://" inside a value (a password, say) but never starts so.
var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

// isURL reports whether conn is to be read as a URL.
func isURL(conn string) bool { return urlScheme.MatchString(conn) }

// unquote undoes a keyword/value string's quoting of a value ('a b\'c').
var unquote = strings.NewReplacer(`\'`, `'`, `\\`, `\`)

// Connection returns conn with its secrets replaced by Mask: the password of
// a URL's user info, the values of query parameters such as password or
// token, and the password of a keyword/value string. A string it cannot
// parse as a URL is treated as keyword/value text. The result is meant for
// messages only.
func Connection(conn string) string {
	if !isURL(conn) {
		return keywordSecret.ReplaceAllString(conn, "${1}${2}"+Mask)
	}
	u, err := url.Parse(conn)
	if err != nil {
		// Not a URL we can take apart: keep only the scheme.
		scheme, _, _ := strings.Cut(conn, "://")
		return scheme + "://" + Mask
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), Mask)
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k, vs := range q {
			if secretParams[strings.ToLower(k)] {
				for i := range vs {
					vs[i] = Mask
				}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// Secrets returns the secret values in conn that Connection hides, so that
// they can also be scrubbed from other text (such as a driver's error).
func Secrets(conn string) []string {
	var out []string
	add := func(s string) {
		if s != "" && s != Mask {
			out = append(out, s)
		}
	}
	if !isURL(conn) {
		for _, m := range keywordSecret.FindAllStringSubmatch(conn, -1) {
			v := m[3]
			add(v)
			if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
				add(v[1 : len(v)-1])
				add(unquote.Replace(v[1 : len(v)-1]))
			}
		}
		return out
	}
	u, err := url.Parse(conn)
	if err != nil {
		// Hide everything after the scheme: we cannot tell what is secret.
		_, rest, _ := strings.Cut(conn, "://")
		add(rest)
		return out
	}
	if p, has := u.User.Password(); has {
		add(p)
		add(url.QueryEscape(p))
		add(url.PathEscape(p))
	}
	for k, vs := range u.Query() {
		if secretParams[strings.ToLower(k)] {
			for _, v := range vs {
				add(v)
				add(url.QueryEscape(v))
			}
		}
	}
	return out
}

// Scrub replaces in text every secret of conn with Mask, and the whole
// connection string with its redacted form.
func Scrub(text, conn string) string {
	if conn == "" {
		return text
	}
	text = strings.ReplaceAll(text, conn, Connection(conn))
	for _, s := range Secrets(conn) {
		text = strings.ReplaceAll(text, s, Mask)
	}
	return text
}
