// Package embed is the player's side of the embedding API (PROTOCOL.md §6):
// it posts the player's events to the page that embeds it, and only to
// that page's origin, and takes commands (play, pause, seek, setVolume,
// setMuted, getPosition) only from the parent window at that origin.
// web/static/embed.js is the embedder's side.
package embed

import "strings"

// Origin returns the origin of the page embedding the player, or "" when
// it cannot be known, in which case the player posts nothing.
//
// ancestors is location.ancestorOrigins (Chromium and Safari), whose first
// entry the browser guarantees. Without it, an explicit origin parameter in
// the player URL wins over the referrer, which the embedder's referrer
// policy may strip. Neither can be abused: the browser only delivers a
// message to a window at the target origin, and commands are accepted only
// from the parent window at that origin.
func Origin(ancestors []string, param, referrer string) string {
	if len(ancestors) > 0 {
		return validOrigin(ancestors[0])
	}
	if o := validOrigin(param); o != "" {
		return o
	}
	return validOrigin(referrer)
}

// validOrigin reduces a URL to its origin, scheme://host[:port], or "" when
// it is not an http(s) URL.
func validOrigin(u string) string {
	var scheme string
	switch {
	case strings.HasPrefix(u, "https://"):
		scheme = "https://"
	case strings.HasPrefix(u, "http://"):
		scheme = "http://"
	default:
		return ""
	}
	host := u[len(scheme):]
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if host == "" || strings.ContainsAny(host, "@ \\") {
		return ""
	}
	return scheme + strings.ToLower(host)
}
