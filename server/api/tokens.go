package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/pulsehq/pulse/server/keyring"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/token"
	"github.com/pulsehq/pulse/wasm/heartbeat"
	"github.com/pulsehq/pulse/web"
)

// Verifiable heartbeats (PROTOCOL.md §5): the JWKS, the page token each
// player page carries, and signed links.

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	keys, err := s.keys.Published(r.Context(), s.now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	b, err := token.JWKS(keys)
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(keyring.JWKSMaxAge.Seconds())))
	h.Set("Access-Control-Allow-Origin", "*")
	w.Write(b)
}

// handleEmbedJS serves the embedding API's script at a stable URL that
// embedders put in their pages.
func (s *Server) handleEmbedJS(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(web.Static(), "embed.js")
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// issuer is the iss of page tokens: the configured issuer, the public base
// URL, or the URL the request was made to.
func (s *Server) issuer(r *http.Request) string {
	if s.cfg.Issuer != "" {
		return strings.TrimSuffix(s.cfg.Issuer, "/")
	}
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkLink verifies a signed player link. It returns whether the link was
// verified; an error means the page must refuse to play, with a message
// for the viewer.
func (s *Server) checkLink(r *http.Request) (bool, error) {
	var lookupErr error
	ok, err := token.VerifyLink(r.URL.EscapedPath(), r.URL.RawQuery, func(kid string) ([]byte, bool) {
		if !pulse.ValidUUID(kid) {
			return nil, false
		}
		k, err := cached(r.Context(), s.cache, "embedkey "+kid, func(ctx context.Context) (*pulse.EmbedKey, error) {
			return s.store.EmbedKey(ctx, kid)
		})
		if err != nil {
			if pulse.ErrorCode(err) != pulse.ENotFound {
				lookupErr = err
			}
			return nil, false
		}
		if k.Revoked() {
			return nil, false
		}
		return k.Secret, true
	}, s.now())
	switch {
	case lookupErr != nil:
		// The database is away and the key is not cached: say so rather
		// than call a good link bad.
		return false, lookupErr
	case err == nil:
		return ok, nil
	case errors.Is(err, token.ErrLinkExpired):
		return false, pulse.Errorf(pulse.EForbidden, "This link has expired. Open the media again from the page that linked here to get a fresh link.")
	case errors.Is(err, token.ErrLinkMalformed):
		// The page and the player would read other parameters than the
		// signature covers: refuse rather than verify half of them.
		s.log.Info("refused a signed player link", "path", r.URL.Path, "err", err)
		return false, pulse.Errorf(pulse.EForbidden, "This link is not valid: its address has a parameter that a signature cannot cover (a ';', a '%%' not followed by two hex digits, or text that is not UTF-8). Open the media again from the page that linked here.")
	case errors.Is(err, token.ErrLinkKey):
		s.log.Info("refused a signed player link", "path", r.URL.Path, "err", err)
		return false, pulse.Errorf(pulse.EForbidden, "This link was signed with a key this server no longer accepts (revoked or unknown). Open the media again from the page that linked here.")
	default:
		s.log.Info("refused a signed player link", "path", r.URL.Path, "err", err)
		return false, pulse.Errorf(pulse.EForbidden, "This link is not valid: its signature does not match. Open the media again from the page that linked here.")
	}
}

// pageToken signs the token of one player page load: who (the request
// fields of the webhooks that apply, as the URL has them), which media,
// which session, and whether the link was signed.
func (s *Server) pageToken(r *http.Request, m *pulse.Media, requestFields []string, lv bool) (tok, sid string, err error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	sid = base64.RawURLEncoding.EncodeToString(b[:])
	// Parse the query as the player will (location.search, "?" included),
	// so that the values match.
	q := heartbeat.ParseQuery("?" + r.URL.RawQuery)
	values := map[string]string{}
	for _, f := range requestFields {
		if v, ok := q.Get(f); ok {
			values[f] = v
		}
	}
	tok, err = s.keys.Sign(r.Context(), token.Claims{Issuer: s.issuer(r), UUID: m.UUID, SID: sid, Q: values, LV: lv}, s.now())
	return tok, sid, err
}
