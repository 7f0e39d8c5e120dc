package redact

import (
	"net/url"
	"strings"
)

// natsCredentials returns where the credentials of each server URL in
// urls (one NATS server URL or a comma-separated list) are: what stands
// between its "://" (or its start, for a server written without a scheme)
// and the last '@' before the next server's URL. A ',' inside a password
// does not end a URL there: only the next "://" does.
func natsCredentials(urls string) [][2]int {
	var segs [][2]int // [start, end) of each URL after its scheme
	if strings.Contains(urls, "://") {
		var starts []int
		for i := 0; ; {
			j := strings.Index(urls[i:], "://")
			if j < 0 {
				break
			}
			starts = append(starts, i+j+3)
			i += j + 3
		}
		for k, st := range starts {
			end := len(urls)
			if k+1 < len(starts) {
				// The next URL starts after the last ',' before its "://".
				end = strings.LastIndex(urls[:starts[k+1]-3], ",")
				if end < st {
					end = starts[k+1] - 3
				}
			}
			segs = append(segs, [2]int{st, end})
		}
	} else {
		st := 0
		for _, part := range strings.Split(urls, ",") {
			segs = append(segs, [2]int{st, st + len(part)})
			st += len(part) + 1
		}
	}
	var out [][2]int
	for _, sg := range segs {
		if at := strings.LastIndex(urls[sg[0]:sg[1]], "@"); at >= 0 {
			out = append(out, [2]int{sg[0], sg[0] + at})
		}
	}
	return out
}

// NATSURL returns urls, one NATS server URL or a comma-separated list of
// them, with the credentials of each replaced by Mask: the password of a
// user and password ("nats://ann:xxxxx@host:4222"), and a token, which
// stands alone before the '@' ("nats://xxxxx@host:4222").
func NATSURL(urls string) string {
	spans := natsCredentials(urls)
	for i := len(spans) - 1; i >= 0; i-- {
		sp := spans[i]
		masked := Mask
		if user, _, ok := strings.Cut(urls[sp[0]:sp[1]], ":"); ok {
			masked = user + ":" + Mask
		}
		urls = urls[:sp[0]] + masked + urls[sp[1]:]
	}
	return urls
}

// NATSSecrets returns the credentials in urls that NATSURL hides (as
// written and unescaped), so that they can be scrubbed from other text.
func NATSSecrets(urls string) []string {
	var out []string
	add := func(s string) {
		if s != "" && s != Mask {
			out = append(out, s)
		}
	}
	for _, sp := range natsCredentials(urls) {
		secret := urls[sp[0]:sp[1]]
		if _, pw, ok := strings.Cut(secret, ":"); ok {
			secret = pw
		}
		add(secret)
		if u, err := url.PathUnescape(secret); err == nil {
			add(u)
		}
	}
	return out
}

// ScrubNATS replaces in text the NATS server URLs urls with NATSURL of
// them, and every credential in them with Mask.
func ScrubNATS(text, urls string) string {
	if urls == "" {
		return text
	}
	text = strings.ReplaceAll(text, urls, NATSURL(urls))
	for _, s := range NATSSecrets(urls) {
		text = strings.ReplaceAll(text, s, Mask)
	}
	return text
}
