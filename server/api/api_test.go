package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

type fixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	dir   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	s, err := New(Config{MediaDir: dir}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, store: store, dir: dir}
}

func (f *fixture) media(t *testing.T, title string, body []byte) *pulse.Media {
	t.Helper()
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: title, Type: "audio/mpeg", Size: int64(len(body)), Duration: 75, File: "f.mp3", Peaks: []byte{1, 2, 3}}
	m.File = m.UUID + ".mp3"
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, m.File), body, 0o644))
	require.NoError(t, f.store.CreateMedia(context.Background(), m))
	return m
}

func (f *fixture) webhook(t *testing.T, edit func(w *pulse.Webhook)) *pulse.Webhook {
	t.Helper()
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://api.my-school.com/video-tracking", "student", "student_id"
	if edit != nil {
		edit(w)
	}
	require.NoError(t, f.store.CreateWebhook(context.Background(), w, 0))
	return w
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func TestPlayerConfig(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	other := f.media(t, "Other", []byte("x"))
	all := f.webhook(t, func(w *pulse.Webhook) { w.RPM = 6 })
	f.webhook(t, func(w *pulse.Webhook) { w.Active = false })
	scoped := f.webhook(t, func(w *pulse.Webhook) { w.Scope.Media = []string{m.UUID}; w.Events = false })
	f.webhook(t, func(w *pulse.Webhook) { w.Scope.Media = []string{other.UUID} })

	res, body := get(t, f.srv.URL+"/api/player/"+m.UUID+"/webhooks")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "public, max-age=60", res.Header.Get("Cache-Control"))
	etag := res.Header.Get("ETag")
	assert.NotEmpty(t, etag)
	var cfg struct {
		UUID     string           `json:"uuid"`
		Webhooks []map[string]any `json:"webhooks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &cfg))
	assert.Equal(t, m.UUID, cfg.UUID)
	require.Len(t, cfg.Webhooks, 2, "only active webhooks in scope")
	assert.Equal(t, map[string]any{"id": all.ID, "url": all.URL, "request_field": "student", "response_field": "student_id",
		"rpm": 6.0, "events": true, "require_param": false, "require_signed_link": false}, cfg.Webhooks[0], "only what the player needs")
	assert.Equal(t, scoped.ID, cfg.Webhooks[1]["id"])

	res, body = get(t, f.srv.URL+"/api/player/"+m.UUID+"/webhooks", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
	assert.Empty(t, body)

	// A change shows in a new ETag.
	all.RPM = 7
	require.NoError(t, f.store.UpdateWebhook(context.Background(), all))
	res, _ = get(t, f.srv.URL+"/api/player/"+m.UUID+"/webhooks", "If-None-Match", etag)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotEqual(t, etag, res.Header.Get("ETag"))
}

func TestPlayerConfigUnknownMedia(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"nope", "..%2F..%2Fetc"} {
		res, body := get(t, f.srv.URL+"/api/player/"+id+"/webhooks")
		assert.Equal(t, http.StatusNotFound, res.StatusCode)
		assert.JSONEq(t, `{"error":{"code":"not_found","message":"no media \"`+strings.ReplaceAll(unescape(id), `"`, `\"`)+`\""}}`, body)
	}
	res, body := get(t, f.srv.URL+"/api/player/"+strings.Repeat("a", 50_000)+"/webhooks")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Less(t, len(body), 300, "an error does not echo a huge id back")
}

func unescape(s string) string { return strings.ReplaceAll(s, "%2F", "/") }

func TestPlayerPage(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, `Evil </script><script>alert(1)</script> "title"`, []byte("x"))
	res, body := get(t, f.srv.URL+"/v/"+m.UUID+"?student=john_doe")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors *")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self' 'wasm-unsafe-eval'")
	assert.Empty(t, res.Header.Get("X-Frame-Options"), "anyone may embed the player")
	assert.NotContains(t, body, "<script>alert(1)", "titles are escaped")
	assert.Contains(t, body, `aria-label="Play"`)
	assert.Contains(t, body, `"config_url":"/api/player/`+m.UUID+`/webhooks"`)
	assert.Contains(t, body, `/static/player.js?v=`)

	res, body = get(t, f.srv.URL+"/v/does-not-exist")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, body, "Media not found")
}

func TestMediaRange(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("0123456789"))
	res, body := get(t, f.srv.URL+"/media/"+m.UUID, "Range", "bytes=2-5")
	assert.Equal(t, http.StatusPartialContent, res.StatusCode)
	assert.Equal(t, "2345", body)
	assert.Equal(t, "audio/mpeg", res.Header.Get("Content-Type"))

	require.NoError(t, os.Remove(filepath.Join(f.dir, m.File)))
	res, _ = get(t, f.srv.URL+"/media/"+m.UUID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "a missing file is a 404, not a 500")

	res, body = get(t, f.srv.URL+"/media/"+m.UUID+"/peaks")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `"peaks":[1,2,3]`)
}

func TestStaticAssets(t *testing.T) {
	f := newFixture(t)
	res, body := get(t, f.srv.URL+"/static/player.css", "Accept-Encoding", "identity")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Content-Encoding"))
	assert.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "players in sandboxed iframes fetch them cross-origin")
	etag := res.Header.Get("ETag")
	hash := strings.Trim(etag, `"`)

	res, _ = get(t, f.srv.URL+"/static/player.css?v="+hash, "Accept-Encoding", "gzip")
	assert.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
	assert.Equal(t, "gzip", res.Header.Get("Content-Encoding"))

	res, _ = get(t, f.srv.URL+"/static/player.css", "If-None-Match", etag, "Accept-Encoding", "identity")
	assert.Equal(t, http.StatusNotModified, res.StatusCode)
	assert.NotEmpty(t, body)

	res, _ = get(t, f.srv.URL+"/static/../go.mod")
	assert.NotEqual(t, http.StatusOK, res.StatusCode)
	res, _ = get(t, f.srv.URL+"/static/nope.js")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestAcceptsEncoding(t *testing.T) {
	for _, tc := range []struct {
		header, enc string
		want        bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip, deflate, br", "gzip", true},
		{"gzip;q=0, br", "gzip", false},
		{"gzip;q=0.5", "gzip", true},
		{"identity", "gzip", false},
		{"", "br", false},
	} {
		assert.Equal(t, tc.want, acceptsEncoding(tc.header, tc.enc), "acceptsEncoding(%q, %q)", tc.header, tc.enc)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	res, body := get(t, f.srv.URL+"/healthz")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, body)
}
