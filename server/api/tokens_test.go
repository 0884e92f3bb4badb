package api

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/token"
)

var configJSON = regexp.MustCompile(`(?s)<script type="application/json" id="pulse-config">(.*?)</script>`)

// pageConfigOf returns the config a player page hands to the wasm.
func pageConfigOf(t *testing.T, body string) pageConfig {
	t.Helper()
	m := configJSON.FindStringSubmatch(body)
	require.NotNil(t, m, "no #pulse-config in the page")
	var cfg pageConfig
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg))
	return cfg
}

func (f *fixture) jwks(t *testing.T) string {
	res, body := get(t, f.srv.URL+"/.well-known/jwks.json")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "application/jwk-set+json", res.Header.Get("Content-Type"))
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	return body
}

func TestPageTokenVerifies(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	f.webhook(t, nil) // request field "student"
	f.webhook(t, func(w *pulse.Webhook) { w.RequestField, w.ResponseField = "course", "course_id" })
	f.webhook(t, func(w *pulse.Webhook) { w.RequestField = "other"; w.Active = false })

	res, body := get(t, f.srv.URL+"/v/"+m.UUID+"?student=j%C3%B6rg+d&student=second&course=c1&other=x&unrelated=y")
	require.Equal(t, http.StatusOK, res.StatusCode)
	cfg := pageConfigOf(t, body)
	require.NotEmpty(t, cfg.Token)
	assert.False(t, cfg.Verified)

	set, err := token.ParseJWKS([]byte(f.jwks(t)))
	require.NoError(t, err)
	c, err := token.Verify(cfg.Token, set, f.srv.URL, time.Now())
	require.NoError(t, err)
	assert.Equal(t, m.UUID, c.UUID)
	assert.Equal(t, cfg.Session, c.SID, "the player's session is the token's sid")
	assert.Len(t, c.SID, 22)
	assert.Equal(t, map[string]string{"student": "jörg d", "course": "c1"}, c.Q,
		"only the request fields of webhooks that apply, first value, decoded as the player decodes")
	assert.False(t, c.LV)
	assert.InDelta(t, time.Now().Add(token.DefaultTTL).Unix(), c.Expiry, 5)

	_, body2 := get(t, f.srv.URL+"/v/"+m.UUID+"?student=x")
	assert.NotEqual(t, cfg.Session, pageConfigOf(t, body2).Session, "each page load is a new session")

	// With a second "?", location.search is "??student=jane": the player
	// reads a parameter named "?student", so the token has no student.
	_, body3 := get(t, f.srv.URL+"/v/"+m.UUID+"??student=jane")
	c3, err := token.Verify(pageConfigOf(t, body3).Token, set, f.srv.URL, time.Now())
	require.NoError(t, err)
	assert.Empty(t, c3.Q, "the token reads the query as the player does")
}

func TestSignedLinks(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	f.webhook(t, func(w *pulse.Webhook) { w.RequireSignedLink = true })
	ek := &pulse.EmbedKey{Name: "LMS", Secret: []byte("s3cret-s3cret-s3cret-s3cret-s3cr")}
	require.NoError(t, f.store.CreateEmbedKey(context.Background(), ek))

	signed, err := token.SignLink(f.srv.URL+"/v/"+m.UUID+"?student=john_doe", ek.ID, ek.Secret, time.Now().Add(time.Hour))
	require.NoError(t, err)
	res, body := get(t, signed)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	cfg := pageConfigOf(t, body)
	assert.True(t, cfg.Verified)
	keys, _ := token.ParseJWKS([]byte(f.jwks(t)))
	c, err := token.Verify(cfg.Token, keys, "", time.Now())
	require.NoError(t, err)
	assert.True(t, c.LV, "a verified link is lv: true in the token")
	assert.Equal(t, "john_doe", c.Q["student"])

	_, body = get(t, f.srv.URL+"/api/player/"+m.UUID+"/webhooks")
	assert.Contains(t, body, `"require_signed_link":true`)

	// Parameters that Go's url.Query drops but the page and the player
	// read (a ";", a bad "%") are not smuggled past the signature.
	smuggle := func(prefix string) string { return strings.Replace(signed, "?", "?"+prefix, 1) }
	for name, link := range map[string]string{
		"other student":              strings.Replace(signed, "john_doe", "jane", 1),
		"no kid":                     strings.Replace(signed, "kid=", "kidd=", 1),
		"student with ; prepended":   smuggle("student=jane;&"),
		"student with %zz prepended": smuggle("student=jane%zz&"),
		"second ?":                   smuggle("?"),
	} {
		res, body := get(t, link)
		assert.Equal(t, http.StatusForbidden, res.StatusCode, name)
		assert.Contains(t, body, "This link is not valid", name)
		assert.NotContains(t, body, "pulse-config", "%s: no player, nothing sent to any webhook", name)
	}

	expired, _ := token.SignLink(f.srv.URL+"/v/"+m.UUID+"?student=john_doe", ek.ID, ek.Secret, time.Now().Add(-time.Minute))
	res, body = get(t, expired)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Contains(t, body, "This link has expired")

	require.NoError(t, f.store.RevokeEmbedKey(context.Background(), ek.ID, time.Now()))
	res, body = get(t, signed)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a revoked key signs nothing any more")
	assert.Contains(t, body, "no longer accepts (revoked or unknown)")

	res, body = get(t, f.srv.URL+"/v/"+m.UUID+"?student="+strings.Repeat("x", 40<<10))
	assert.Equal(t, http.StatusRequestURITooLong, res.StatusCode)
	assert.Contains(t, body, "This link is too long")
	res, _ = get(t, f.srv.URL+"/v/"+m.UUID+"?student="+strings.Repeat("x", 10<<10))
	assert.Equal(t, http.StatusOK, res.StatusCode, "a 10 KB parameter is fine")
}

func TestEmbedJS(t *testing.T) {
	f := newFixture(t)
	res, body := get(t, f.srv.URL+"/embed.js")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "javascript")
	assert.Contains(t, body, "Pulse")
}

func (s *flakyStore) EmbedKey(ctx context.Context, id string) (*pulse.EmbedKey, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.EmbedKey(ctx, id)
}

// A signed link the server cannot check because the database is away is
// not a bad link: 503 and a page that says to try again.
func TestSignedLinkWhileTheDatabaseIsDown(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	other := f.media(t, "Other", []byte("y"))
	ek := &pulse.EmbedKey{Name: "LMS", Secret: []byte("s3cret-s3cret-s3cret-s3cret-s3cr")}
	require.NoError(t, f.store.CreateEmbedKey(context.Background(), ek))
	store := &flakyStore{Store: f.store}
	s, err := New(Config{MediaDir: f.dir}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)

	res, _ := get(t, srv.URL+"/v/"+m.UUID+"?student=john_doe") // caches the media, signs with the key
	require.Equal(t, http.StatusOK, res.StatusCode)
	signed, err := token.SignLink(srv.URL+"/v/"+m.UUID+"?student=john_doe", ek.ID, ek.Secret, time.Now().Add(time.Hour))
	require.NoError(t, err)

	store.down.Store(true)
	for name, link := range map[string]string{
		"embed key not cached": signed,
		"media not cached":     srv.URL + "/v/" + other.UUID + "?student=john_doe",
	} {
		t.Run(name, func(t *testing.T) {
			res, body := get(t, link)
			assert.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
			assert.Equal(t, "10", res.Header.Get("Retry-After"))
			assert.Contains(t, res.Header.Get("Content-Type"), "text/html")
			assert.Contains(t, body, "The player cannot start right now")
			assert.Contains(t, body, "its database is unavailable")
			assert.NotContains(t, body, "not valid")
			assert.NotContains(t, body, "pulse-config", "no player")
		})
	}

	store.down.Store(false)
	res, body := get(t, signed)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.True(t, pageConfigOf(t, body).Verified, "the same link verifies once the database is back")
}
