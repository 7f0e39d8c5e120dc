package kvweb

import (
	"net"
	"net/http"
	"strings"
)

// tokenCookie holds the token after a visit with ?token=.
const tokenCookie = "kv_token"

// RequireToken returns a handler that serves next only to requests that
// carry token: as "Authorization: Bearer <token>" (a Prometheus scrape,
// curl), or in the cookie it sets when a browser first visits any page
// with ?token=<token> (it then redirects to the same page without the
// token, so the token stays out of the address bar and history). Tokens
// are compared in constant time. Any other request gets 401. An empty
// token matches nothing: every request is refused.
func RequireToken(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("token") {
			if !sameToken(q.Get("token"), token) {
				unauthorized(w, "the token in the address is wrong")
				return
			}
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: token, Path: "/", HttpOnly: true,
				Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
			q.Del("token")
			target := requestPath(r)
			if rest := q.Encode(); rest != "" {
				target += "?" + rest
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && sameToken(auth, token) {
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(tokenCookie); err == nil && sameToken(c.Value, token) {
			next.ServeHTTP(w, r)
			return
		}
		unauthorized(w, "this server needs its token: open any page once with ?token=<token>, or send Authorization: Bearer <token>")
	})
}

// unauthorized answers 401 with a plain message.
func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="kv"`)
	http.Error(w, "401 unauthorized: "+msg, http.StatusUnauthorized)
}

// RequireHost returns a handler that serves next only to requests whose
// Host header names one of hosts (a name or address, without the port;
// compared without regard to case). Any other request gets 421. A server
// on the loopback interface without a token uses it so that a web page on
// another site cannot read the dashboard through a DNS name it points at
// 127.0.0.1 (DNS rebinding).
func RequireHost(hosts []string, next http.Handler) http.Handler {
	allowed := map[string]bool{}
	for _, h := range hosts {
		allowed[strings.ToLower(strings.Trim(h, "[]"))] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !allowed[strings.ToLower(strings.Trim(host, "[]"))] {
			http.Error(w, "421 misdirected request: this server answers only to "+strings.Join(hosts, ", "), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requestPath is the path the client asked for (before any
// http.StripPrefix), as a path on this server: never "//host...", which a
// browser would take for another site.
func requestPath(r *http.Request) string {
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if !strings.HasPrefix(path, "/") {
		path = r.URL.Path
	}
	return "/" + strings.TrimLeft(path, "/")
}
