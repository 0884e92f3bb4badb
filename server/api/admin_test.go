package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
	"github.com/pulsehq/pulse/server/token"
)

const testPassword = "correct horse battery"

// adminFixture is a server with an admin, a signed-in session and an API
// token.
type adminFixture struct {
	*fixture
	auth     *auth.Auth
	now      time.Time
	cookie   string // the session cookie, "name=value"
	token    string // an API token's secret
	mediaDir string
	logs     *logBuffer

	mu     sync.Mutex
	delays []time.Duration // sign-in delays, which tests do not sleep
}

// logBuffer collects the server's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAdminFixture(t *testing.T, edit ...func(*Config)) *adminFixture {
	t.Helper()
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "pulse.db"))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	f := &adminFixture{now: time.Now(), mediaDir: filepath.Join(dir, "media"), logs: &logBuffer{}}
	// Tests name the client's address in X-Forwarded-For, as a proxy would.
	f.auth = auth.New(store, auth.Config{BcryptCost: bcrypt.MinCost, RealIPHeader: "X-Forwarded-For"})
	f.auth.Now = func() time.Time { return f.now }
	f.auth.Sleep = func(_ context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.delays = append(f.delays, d)
		return nil
	}
	_, err = f.auth.EnsureAdmin(context.Background(), "admin", testPassword)
	require.NoError(t, err)
	cfg := Config{MediaDir: f.mediaDir, Auth: f.auth}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := New(cfg, store, slog.New(slog.NewTextHandler(f.logs, nil)))
	require.NoError(t, err)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f.fixture = &fixture{srv: srv, store: store, dir: f.mediaDir}
	require.NoError(t, os.MkdirAll(f.mediaDir, 0o755))
	f.cookie = f.signIn(t)
	admin, err := store.AdminByUsername(context.Background(), "admin")
	require.NoError(t, err)
	f.token, _, err = f.auth.NewToken(context.Background(), admin.ID, "tests")
	require.NoError(t, err)
	return f
}

// signIn posts the sign-in form and returns the session cookie.
func (f *adminFixture) signIn(t *testing.T) string {
	t.Helper()
	res, body := f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"/admin"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	for _, c := range res.Cookies() {
		if c.Name == auth.CookieName {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func (f *adminFixture) form(t *testing.T, path string, v url.Values, header ...string) (*http.Response, string) {
	t.Helper()
	return f.do(t, http.MethodPost, path, v.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, header...)...)
}

// do sends a request without following redirects; header is name, value
// pairs. A body that is not "" is sent as JSON unless a Content-Type says
// otherwise.
func (f *adminFixture) do(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
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

// bearer sends a request with the API token.
func (f *adminFixture) bearer(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	return f.do(t, method, path, body, append([]string{"Authorization", "Bearer " + f.token}, header...)...)
}

// browser sends a request as the admin panel does: session cookie, same
// origin.
func (f *adminFixture) browser(t *testing.T, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	return f.do(t, method, path, body, append([]string{"Cookie", f.cookie, "Sec-Fetch-Site", "same-origin", "Origin", f.srv.URL}, header...)...)
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}

type apiError struct {
	Error struct {
		Code, Message, Field string
	}
}

func (f *adminFixture) webhookCount(t *testing.T) int {
	list, err := f.store.Webhooks(context.Background())
	require.NoError(t, err)
	return len(list)
}

const seedWebhook = `{"url":"https://api.my-school.com/video-tracking","request_field":"student","response_field":"student_id"}`

// adminRoutes are every admin API route, for the access tests.
var adminRoutes = [][2]string{
	{"GET", "/api/admin/me"},
	{"GET", "/api/admin/webhooks"}, {"POST", "/api/admin/webhooks"},
	{"GET", "/api/admin/webhooks/wh_x"}, {"PUT", "/api/admin/webhooks/wh_x"}, {"PATCH", "/api/admin/webhooks/wh_x"},
	{"DELETE", "/api/admin/webhooks/wh_x"}, {"POST", "/api/admin/webhooks/wh_x/activate"}, {"POST", "/api/admin/webhooks/wh_x/deactivate"},
	{"GET", "/api/admin/media"}, {"POST", "/api/admin/media"}, {"GET", "/api/admin/media/m"}, {"PATCH", "/api/admin/media/m"},
	{"DELETE", "/api/admin/media/m"},
	{"GET", "/api/admin/tokens"}, {"POST", "/api/admin/tokens"}, {"DELETE", "/api/admin/tokens/tok_x"},
	{"GET", "/api/admin/embed-keys"}, {"POST", "/api/admin/embed-keys"}, {"DELETE", "/api/admin/embed-keys/ek_x"},
	{"GET", "/api/admin/nothing-here"}, {"PUT", "/api/admin/media"},
}

func TestAdminRefusesAnonymous(t *testing.T) {
	f := newAdminFixture(t)
	for _, rt := range adminRoutes {
		res, body := f.do(t, rt[0], rt[1], seedWebhook)
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "%s %s", rt[0], rt[1])
		assert.Equal(t, "unauthorized", decode[apiError](t, body).Error.Code)
		assert.Equal(t, `Bearer realm="pulse"`, res.Header.Get("WWW-Authenticate"))
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	}
	assert.Zero(t, f.webhookCount(t), "nothing stored")
	for _, path := range []string{"/admin", "/admin/", "/admin/settings"} {
		res, body := f.do(t, "GET", path, "")
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, path)
		assert.Contains(t, body, `action="/admin/login"`, "the sign-in form, in place")
		assert.Contains(t, body, `name="next" value="`+path+`"`)
		assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	}
}

func TestAdminCredentials(t *testing.T) {
	f := newAdminFixture(t)
	ok := func(header ...string) int {
		res, _ := f.do(t, "GET", "/api/admin/webhooks", "", header...)
		return res.StatusCode
	}
	assert.Equal(t, http.StatusOK, ok("Cookie", f.cookie), "session")
	assert.Equal(t, http.StatusOK, ok("Authorization", "Bearer "+f.token), "token")
	assert.Equal(t, http.StatusUnauthorized, ok("Authorization", "Bearer pulse_wrong"), "wrong token")
	assert.Equal(t, http.StatusUnauthorized, ok("Authorization", "Basic YWRtaW46eA=="), "basic auth")
	assert.Equal(t, http.StatusUnauthorized, ok("Authorization", "Bearer pulse_wrong", "Cookie", f.cookie), "a bad token is not saved by a cookie")
	assert.Equal(t, http.StatusUnauthorized, ok("Cookie", auth.CookieName+"=forged"), "forged session")

	// Revoked token.
	res, body := f.bearer(t, "GET", "/api/admin/tokens", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	tokens := decode[struct{ Tokens []pulse.Token }](t, body).Tokens
	require.Len(t, tokens, 1)
	res, _ = f.browser(t, "DELETE", "/api/admin/tokens/"+tokens[0].ID, "")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	res, body = f.bearer(t, "GET", "/api/admin/webhooks", "")
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "revoked token")
	assert.Contains(t, body, "revoked")

	// Expired session: the API says so, pages show the sign-in form.
	f.now = f.now.Add(auth.DefaultSessionTTL + time.Second)
	res, body = f.do(t, "GET", "/api/admin/webhooks", "", "Cookie", f.cookie)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "expired session")
	assert.Contains(t, body, "expired")
	f.now = f.now.Add(-auth.DefaultSessionTTL)
	res, _ = f.do(t, "GET", "/api/admin/webhooks", "", "Cookie", f.cookie)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "an expired session is gone, even if the clock goes back")
}

func TestSignInPage(t *testing.T) {
	f := newAdminFixture(t)
	res, body := f.do(t, "GET", "/admin/login", "")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

	res, body = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	assert.Contains(t, body, "wrong user name or password")
	assert.Empty(t, res.Cookies())

	res, _ = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"https://evil.example/"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/admin", res.Header.Get("Location"), "no open redirect")
	c := res.Cookies()[0]
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)

	res, _ = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}, "next": {"/admin#media"}})
	assert.Equal(t, "/admin#media", res.Header.Get("Location"))

	// Signed in: the panel, with its headers.
	res, body = f.do(t, "GET", "/admin", "", "Cookie", f.cookie)
	require.Equal(t, http.StatusOK, res.StatusCode)
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self';")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Contains(t, body, "/static/admin.js?v=")
	assert.NotContains(t, body, "<script>", "no inline script")

	// Sign out ends the session.
	res, _ = f.do(t, "POST", "/admin/logout", "", "Cookie", f.cookie, "Sec-Fetch-Site", "same-origin")
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, -1, res.Cookies()[0].MaxAge)
	res, _ = f.do(t, "GET", "/api/admin/webhooks", "", "Cookie", f.cookie)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func TestSignInRateLimited(t *testing.T) {
	f := newAdminFixture(t)
	attacker := []string{"X-Forwarded-For", "203.0.113.66"}
	for range 10 {
		res, _ := f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {"guess"}}, attacker...)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}
	res, body := f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}}, attacker...)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the guesser's address is refused, even with the right password")
	assert.Contains(t, body, "too many failed sign-in attempts")
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	f.now = f.now.Add(2 * time.Minute)
	res, _ = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}}, attacker...)
	assert.Equal(t, http.StatusSeeOther, res.StatusCode, "allowed again later")
}

// TestAdminNotLockedOut: a guesser from address A exhausts its attempts for
// "admin" and keeps trying; the admin, from address B, signs in with the
// right password.
func TestAdminNotLockedOut(t *testing.T) {
	f := newAdminFixture(t)
	a, b := []string{"X-Forwarded-For", "203.0.113.66"}, []string{"X-Forwarded-For", "198.51.100.7"}
	guess := url.Values{"username": {"admin"}, "password": {"guess"}}
	for range 10 {
		res, _ := f.form(t, "/admin/login", guess, a...)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}
	res, _ := f.form(t, "/admin/login", guess, a...)
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "A has exhausted its attempts")
	for range 5 { // one guess a minute, forever, used to lock the admin out
		f.now = f.now.Add(time.Minute)
		res, _ := f.form(t, "/admin/login", guess, a...)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	}

	res, body := f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}}, b...)
	require.Equal(t, http.StatusSeeOther, res.StatusCode, body)
	require.NotEmpty(t, res.Cookies())
	cookie := res.Cookies()[0].Name + "=" + res.Cookies()[0].Value
	res, _ = f.do(t, "GET", "/api/admin/me", "", "Cookie", cookie)
	assert.Equal(t, http.StatusOK, res.StatusCode, "signed in")
	f.mu.Lock()
	delays := f.delays
	f.mu.Unlock()
	require.NotEmpty(t, delays, "attempts for an attacked user name are slowed down")
	assert.LessOrEqual(t, delays[len(delays)-1], auth.DefaultMaxUserDelay, "by a few seconds at most")

	res, _ = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}}, a...)
	assert.Equal(t, http.StatusTooManyRequests, res.StatusCode, "A stays refused")
}

func TestCrossSiteRequestsRefused(t *testing.T) {
	f := newAdminFixture(t)
	evil := []string{"Cookie", f.cookie, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}
	res, body := f.do(t, "POST", "/api/admin/webhooks", seedWebhook, evil...)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Equal(t, "forbidden", decode[apiError](t, body).Error.Code)
	res, _ = f.do(t, "POST", "/api/admin/tokens", `{"name":"x"}`, evil...)
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	res, _ = f.do(t, "POST", "/api/admin/webhooks", seedWebhook, "Cookie", f.cookie, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "an old browser without Sec-Fetch-Site: Origin vs Host")
	res, _ = f.form(t, "/admin/login", url.Values{"username": {"admin"}, "password": {testPassword}}, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "login CSRF")
	res, _ = f.do(t, "POST", "/admin/logout", "", "Cookie", f.cookie, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
	assert.Zero(t, f.webhookCount(t), "nothing stored")
	tokens, _ := f.store.Tokens(context.Background())
	assert.Len(t, tokens, 1)

	res, _ = f.do(t, "GET", "/api/admin/webhooks", "", evil...)
	assert.Equal(t, http.StatusOK, res.StatusCode, "reads are safe methods")
	res, _ = f.browser(t, "POST", "/api/admin/webhooks", seedWebhook)
	assert.Equal(t, http.StatusCreated, res.StatusCode, "same origin")
	res, _ = f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
	assert.Equal(t, http.StatusCreated, res.StatusCode, "scripts send no Origin")
}

type webhookOut struct {
	pulse.Webhook
	Warnings []string `json:"warnings"`
}

func TestWebhooksAPI(t *testing.T) {
	f := newAdminFixture(t)
	m := f.media(t, "Lecture", []byte("x"))

	// Create with defaults.
	res, body := f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	w := decode[webhookOut](t, body)
	assert.True(t, strings.HasPrefix(w.ID, "wh_"))
	assert.Equal(t, "/api/admin/webhooks/"+w.ID, res.Header.Get("Location"))
	assert.Equal(t, 2, w.RPM)
	assert.True(t, w.Active && w.Events && w.Scope.All())
	assert.False(t, w.RequireParam || w.RequireSignedLink)
	assert.Empty(t, w.Warnings)
	assert.Contains(t, body, `"scope":"all"`)
	assert.Contains(t, body, `"warnings":[]`)

	// Every field, with a warning.
	res, body = f.bearer(t, "POST", "/api/admin/webhooks", `{"name":"Analytics","url":"http://stats.example/hb","request_field":"user_id",
		"response_field":"user","rpm":60,"active":false,"events":false,"require_param":true,"require_signed_link":true,"scope":["`+m.UUID+`"]}`)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	w2 := decode[webhookOut](t, body)
	assert.Equal(t, "Analytics", w2.Name)
	assert.Equal(t, 60, w2.RPM)
	assert.False(t, w2.Active || w2.Events)
	assert.True(t, w2.RequireParam && w2.RequireSignedLink)
	assert.Equal(t, []string{m.UUID}, w2.Scope.Media)
	require.Len(t, w2.Warnings, 1)
	assert.Contains(t, w2.Warnings[0], "mixed content")

	// Read and list.
	res, body = f.bearer(t, "GET", "/api/admin/webhooks/"+w2.ID, "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, w2.URL, decode[webhookOut](t, body).URL)
	res, body = f.bearer(t, "GET", "/api/admin/webhooks", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	list := decode[struct {
		Webhooks []webhookOut
		Limit    int
	}](t, body)
	require.Len(t, list.Webhooks, 2)
	assert.Equal(t, w.ID, list.Webhooks[0].ID, "oldest first")
	assert.Equal(t, DefaultMaxWebhooks, list.Limit)
	assert.NotEmpty(t, list.Webhooks[1].Warnings)

	// PATCH changes only what it names.
	res, body = f.bearer(t, "PATCH", "/api/admin/webhooks/"+w2.ID, `{"rpm":6,"url":"https://stats.example/hb"}`)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	p := decode[webhookOut](t, body)
	assert.Equal(t, 6, p.RPM)
	assert.Equal(t, "Analytics", p.Name)
	assert.Equal(t, []string{m.UUID}, p.Scope.Media)
	assert.Empty(t, p.Warnings)
	assert.True(t, p.UpdatedAt.After(p.CreatedAt) || p.UpdatedAt.Equal(p.CreatedAt))

	// PUT replaces: omitted fields return to their defaults. What GET
	// returns can be sent back.
	res, body = f.bearer(t, "PUT", "/api/admin/webhooks/"+w2.ID, seedWebhook)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	r := decode[webhookOut](t, body)
	assert.Equal(t, "", r.Name)
	assert.Equal(t, 2, r.RPM)
	assert.True(t, r.Active && r.Events && r.Scope.All())
	assert.Equal(t, w2.CreatedAt, r.CreatedAt)
	_, got := f.bearer(t, "GET", "/api/admin/webhooks/"+w2.ID, "")
	res, body = f.bearer(t, "PUT", "/api/admin/webhooks/"+w2.ID, strings.Replace(got, `"rpm":2`, `"rpm":3`, 1))
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, 3, decode[webhookOut](t, body).RPM)

	// Deactivate and activate: the player config follows.
	players := func() int {
		_, body := get(t, f.srv.URL+"/api/player/"+m.UUID+"/webhooks")
		return len(decode[playerConfig](t, body).Webhooks)
	}
	assert.Equal(t, 2, players())
	res, body = f.bearer(t, "POST", "/api/admin/webhooks/"+w.ID+"/deactivate", "")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.False(t, decode[webhookOut](t, body).Active)
	assert.Equal(t, 1, players())
	res, _ = f.bearer(t, "POST", "/api/admin/webhooks/"+w.ID+"/activate", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 2, players())
	res, _ = f.bearer(t, "PATCH", "/api/admin/webhooks/"+w.ID, `{"active":false}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1, players())

	// Delete.
	res, body = f.bearer(t, "DELETE", "/api/admin/webhooks/"+w.ID, "")
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, 1, f.webhookCount(t))

	// Unknown ids are 404 everywhere.
	for _, rt := range [][2]string{{"GET", ""}, {"PUT", ""}, {"PATCH", ""}, {"DELETE", ""}, {"POST", "/activate"}, {"POST", "/deactivate"}} {
		res, body := f.bearer(t, rt[0], "/api/admin/webhooks/"+w.ID+rt[1], seedWebhook)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "%s %s", rt[0], rt[1])
		assert.Equal(t, "not_found", decode[apiError](t, body).Error.Code)
	}
	assert.Equal(t, 1, f.webhookCount(t))
}

func TestWebhookScopeMedia(t *testing.T) {
	f := newAdminFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	gone := f.media(t, "Gone", []byte("x"))
	res, body := f.bearer(t, "POST", "/api/admin/webhooks", strings.Replace(seedWebhook, "}", `,"scope":["`+m.UUID+`","`+gone.UUID+`"]}`, 1))
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	id := decode[webhookOut](t, body).ID

	res, body = f.bearer(t, "POST", "/api/admin/webhooks", strings.Replace(seedWebhook, "}", `,"scope":["no-such-media"]}`, 1))
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Equal(t, "scope", decode[apiError](t, body).Error.Field)

	// A scoped media is deleted: the webhook stays editable.
	res, _ = f.bearer(t, "DELETE", "/api/admin/media/"+gone.UUID, "")
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	res, body = f.bearer(t, "PATCH", "/api/admin/webhooks/"+id, `{"rpm":5}`)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = f.bearer(t, "PATCH", "/api/admin/webhooks/"+id, `{"scope":["`+m.UUID+`","no-such-media"]}`)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode, "newly named media must exist: %s", body)
}

func TestWebhookLimit(t *testing.T) {
	f := newAdminFixture(t, func(c *Config) { c.MaxWebhooks = 2 })
	for range 2 {
		res, _ := f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
		require.Equal(t, http.StatusCreated, res.StatusCode)
	}
	res, body := f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
	assert.Equal(t, http.StatusConflict, res.StatusCode)
	e := decode[apiError](t, body).Error
	assert.Equal(t, "limit", e.Code)
	assert.Contains(t, e.Message, "limit of 2 webhooks")
	assert.Equal(t, 2, f.webhookCount(t))
}

// TestWebhookInvalidInput sends bad webhooks to create, replace and patch:
// each is a 400 naming the field, and nothing changes.
func TestWebhookInvalidInput(t *testing.T) {
	f := newAdminFixture(t)
	res, body := f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
	require.Equal(t, http.StatusCreated, res.StatusCode)
	stored := decode[webhookOut](t, body)
	with := func(member string) string { return strings.Replace(seedWebhook, "}", ","+member+"}", 1) }
	seed := func(field, value string) string {
		var m map[string]any
		json.Unmarshal([]byte(seedWebhook), &m)
		m[field] = value
		b, _ := json.Marshal(m)
		return string(b)
	}
	huge := `{"name":"` + strings.Repeat("a", 2<<20) + `"}`
	cases := []struct {
		name, body, field string
	}{
		{"empty url", seed("url", ""), "url"},
		{"javascript url", seed("url", "javascript:alert(1)"), "url"},
		{"data url", seed("url", "data:text/html,<script>alert(1)</script>"), "url"},
		{"ftp url", seed("url", "ftp://files.example/x"), "url"},
		{"relative url", seed("url", "/video-tracking"), "url"},
		{"no host", seed("url", "https:///x"), "url"},
		{"credentials in url", seed("url", "https://user:secret@lms.example/x"), "url"},
		{"user in url", seed("url", "https://user@lms.example/x"), "url"},
		{"space in url", seed("url", "https://lms.example/a b"), "url"},
		{"newline in url", seed("url", "https://lms.example/a\nb"), "url"},
		{"fragment", seed("url", "https://lms.example/a#b"), "url"},
		{"bad port", seed("url", "https://lms.example:99999/a"), "url"},
		{"over-long url", seed("url", "https://lms.example/"+strings.Repeat("a", 2048)), "url"},
		{"url not a string", with(`"url":["https://a.example"]`), "url"},
		{"empty request field", seed("request_field", ""), "request_field"},
		{"request field with space", seed("request_field", "stu dent"), "request_field"},
		{"request field markup", seed("request_field", "<script>"), "request_field"},
		{"over-long request field", seed("request_field", strings.Repeat("a", 65)), "request_field"},
		{"empty response field", seed("response_field", ""), "response_field"},
		{"reserved uuid", seed("response_field", "uuid"), "response_field"},
		{"reserved position", seed("response_field", "position"), "response_field"},
		{"reserved session", seed("response_field", "session"), "response_field"},
		{"reserved token", seed("response_field", "token"), "response_field"},
		{"response field unicode", seed("response_field", "élève"), "response_field"},
		{"rpm 0", with(`"rpm":0`), "rpm"},
		{"rpm 61", with(`"rpm":61`), "rpm"},
		{"rpm -1", with(`"rpm":-1`), "rpm"},
		{`rpm "2"`, with(`"rpm":"2"`), "rpm"},
		{"rpm 2.5", with(`"rpm":2.5`), "rpm"},
		{"rpm null", with(`"rpm":null`), "rpm"},
		{"over-long name", seed("name", strings.Repeat("a", 121)), "name"},
		{"name with control", seed("name", "a\u0000b"), "name"},
		{"active as string", with(`"active":"true"`), "active"},
		{"events as number", with(`"events":1`), "events"},
		{"require_param null", with(`"require_param":null`), "require_param"},
		{"scope empty list", with(`"scope":[]`), "scope"},
		{"scope word", with(`"scope":"some"`), "scope"},
		{"scope unknown media", with(`"scope":["no-such-media"]`), "scope"},
		{"scope bad id", with(`"scope":["../../etc/passwd"]`), "scope"},
		{"unknown field", with(`"rmp":2`), "rmp"},
		{"duplicate field", with(`"url":"https://b.example"`), "url"},
		{"malformed JSON", `{"url": "https://a.example",`, ""},
		{"not an object", `["https://a.example"]`, ""},
		{"trailing data", seedWebhook + `{}`, ""},
		{"empty body", ` `, ""},
		{"huge body", huge, ""},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, rt := range [][2]string{{"POST", "/api/admin/webhooks"}, {"PUT", "/api/admin/webhooks/" + stored.ID}, {"PATCH", "/api/admin/webhooks/" + stored.ID}} {
				if tc.body == " " && rt[0] != "POST" {
					continue
				}
				res, body := f.bearer(t, rt[0], rt[1], tc.body)
				require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s: %s", rt[0], body)
				e := decode[apiError](t, body).Error
				assert.Equal(t, "invalid", e.Code, rt[0])
				assert.Equal(t, tc.field, e.Field, "%s: %s", rt[0], e.Message)
				assert.NotEmpty(t, e.Message)
			}
			assert.Equal(t, 1, f.webhookCount(t), "nothing stored")
			now, err := f.store.Webhook(context.Background(), stored.ID)
			require.NoError(t, err)
			assert.Equal(t, &stored.Webhook, now, "nothing changed")
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		res, body := f.bearer(t, "POST", "/api/admin/webhooks", "url=https://a.example", "Content-Type", "application/x-www-form-urlencoded")
		assert.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)
		assert.Contains(t, body, "application/json")
		assert.Equal(t, 1, f.webhookCount(t))
	})
}

// TestHugeChunkedBody sends JSON bodies over the limit without a
// Content-Length (chunked), so that only reading can find their size:
// valid JSON padded with spaces, which would be stored if the limit were
// not enforced while reading. Each is a 400 and nothing is stored.
func TestHugeChunkedBody(t *testing.T) {
	f := newAdminFixture(t)
	res, body := f.bearer(t, "POST", "/api/admin/webhooks", seedWebhook)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	stored := decode[webhookOut](t, body)
	m := f.media(t, "Lecture", []byte("x"))
	pad := func(json string) string { return strings.Replace(json, "{", "{"+strings.Repeat(" ", maxJSONBody+1), 1) }
	for _, tc := range []struct{ name, method, path, body string }{
		{"create webhook", "POST", "/api/admin/webhooks", seedWebhook},
		{"replace webhook", "PUT", "/api/admin/webhooks/" + stored.ID, strings.Replace(seedWebhook, "video-tracking", "changed", 1)},
		{"patch webhook", "PATCH", "/api/admin/webhooks/" + stored.ID, `{"rpm":7}`},
		{"rename media", "PATCH", "/api/admin/media/" + m.UUID, `{"title":"Changed"}`},
		{"create token", "POST", "/api/admin/tokens", `{"name":"chunked"}`},
		{"create embed key", "POST", "/api/admin/embed-keys", `{"name":"chunked"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, f.srv.URL+tc.path, io.MultiReader(strings.NewReader(pad(tc.body))))
			require.NoError(t, err)
			req.ContentLength = -1 // unknown: sent chunked
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+f.token)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			require.Equal(t, http.StatusBadRequest, res.StatusCode, string(b))
			e := decode[apiError](t, string(b)).Error
			assert.Equal(t, "invalid", e.Code)
			assert.Contains(t, e.Message, "larger than the limit")

			hooks, err := f.store.Webhooks(context.Background())
			require.NoError(t, err)
			require.Len(t, hooks, 1, "nothing stored")
			assert.Equal(t, &stored.Webhook, hooks[0], "nothing changed")
			got, err := f.store.Media(context.Background(), m.UUID)
			require.NoError(t, err)
			assert.Equal(t, "Lecture", got.Title)
			tokens, _ := f.store.Tokens(context.Background())
			assert.Len(t, tokens, 1, "only the fixture's token")
			keys, _ := f.store.EmbedKeys(context.Background())
			assert.Empty(t, keys)
		})
	}
}

func TestTokensAPI(t *testing.T) {
	f := newAdminFixture(t)
	res, body := f.browser(t, "POST", "/api/admin/tokens", `{"name":"LMS sync"}`)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	created := decode[struct {
		Token  map[string]any
		Secret string
	}](t, body)
	assert.True(t, strings.HasPrefix(created.Secret, "pulse_"))
	assert.Equal(t, "LMS sync", created.Token["name"])
	assert.NotContains(t, created.Token, "hash")

	res, body = f.do(t, "GET", "/api/admin/me", "", "Authorization", "Bearer "+created.Secret)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `"via":"token"`)

	res, body = f.browser(t, "GET", "/api/admin/tokens", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, created.Secret, "secrets are shown once")
	assert.NotContains(t, body, "hash")

	for _, bad := range []string{`{}`, `{"name":""}`, `{"name":5}`, `{"name":"x","admin":true}`} {
		res, body := f.browser(t, "POST", "/api/admin/tokens", bad)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
		assert.NotEmpty(t, decode[apiError](t, body).Error.Field, bad)
	}
	res, _ = f.browser(t, "DELETE", "/api/admin/tokens/"+created.Token["id"].(string), "")
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	res, _ = f.do(t, "GET", "/api/admin/me", "", "Authorization", "Bearer "+created.Secret)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
	res, _ = f.browser(t, "DELETE", "/api/admin/tokens/tok_nope", "")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestEmbedKeysAPI(t *testing.T) {
	f := newAdminFixture(t)
	res, body := f.browser(t, "POST", "/api/admin/embed-keys", `{"name":"Moodle"}`)
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	created := decode[struct {
		EmbedKey map[string]any `json:"embed_key"`
		Secret   string
	}](t, body)
	assert.Len(t, created.Secret, 43, "256 bits, base64url")
	assert.Equal(t, "Moodle", created.EmbedKey["name"])
	id := created.EmbedKey["id"].(string)

	// The secret signs links that the player page accepts.
	m := f.media(t, "Lecture", []byte("x"))
	link, err := token.SignLink(f.srv.URL+"/v/"+m.UUID+"?student=john_doe", id, []byte(created.Secret), time.Now().Add(time.Hour))
	require.NoError(t, err)
	res, body = get(t, link)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, pageConfigOf(t, body).Verified)

	res, body = f.browser(t, "GET", "/api/admin/embed-keys", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.NotContains(t, body, created.Secret, "secrets are shown once")
	assert.Contains(t, body, id)

	for _, bad := range []string{`{}`, `{"name":""}`, `{"name":"  "}`, `{"name":5}`, `{"name":"x","secret":"mine"}`, `{"name":"` + strings.Repeat("x", 121) + `"}`} {
		res, body := f.browser(t, "POST", "/api/admin/embed-keys", bad)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad)
		assert.NotEmpty(t, decode[apiError](t, body).Error.Field, bad)
	}
	keys, _ := f.store.EmbedKeys(context.Background())
	assert.Len(t, keys, 1, "nothing stored from bad input")

	res, _ = f.browser(t, "DELETE", "/api/admin/embed-keys/"+id, "")
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	res, _ = get(t, link)
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "a revoked key's links refuse to play")
	res, _ = f.browser(t, "DELETE", "/api/admin/embed-keys/ek_nope", "")
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

func TestAdminPageConnectSources(t *testing.T) {
	f := newAdminFixture(t)
	f.webhook(t, func(w *pulse.Webhook) { w.URL = "https://lms.example.edu:8443/track?x=1" })
	f.webhook(t, func(w *pulse.Webhook) { w.URL = "http://127.0.0.1:3000/hook" })
	res, body := f.do(t, "GET", "/admin", "", "Cookie", f.cookie)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "connect-src 'self' https://lms.example.edu:8443 http://127.0.0.1:3000;")
	assert.Contains(t, body, `"connect_origins":["https://lms.example.edu:8443","http://127.0.0.1:3000"]`)

	// Default ports are dropped, as the browser's origin drops them, and
	// one origin is listed once.
	f.webhook(t, func(w *pulse.Webhook) { w.URL = "https://LMS.example.edu:443/a" })
	f.webhook(t, func(w *pulse.Webhook) { w.URL = "https://lms.example.edu/b" })
	f.webhook(t, func(w *pulse.Webhook) { w.URL = "http://receiver.example:80/c" })
	res, body = f.do(t, "GET", "/admin", "", "Cookie", f.cookie)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Security-Policy"),
		"connect-src 'self' https://lms.example.edu:8443 http://127.0.0.1:3000 https://lms.example.edu http://receiver.example;")
	assert.Contains(t, body, `"connect_origins":["https://lms.example.edu:8443","http://127.0.0.1:3000","https://lms.example.edu","http://receiver.example"]`)
}

// TestCSPOrigin: the origin the panel may contact is written exactly as
// the browser's new URL(url).origin, which admin.js compares it with.
func TestCSPOrigin(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://lms.example/x", "https://lms.example"},
		{"https://lms.example:443/x", "https://lms.example"},
		{"https://lms.example:0443/x", "https://lms.example"},
		{"http://lms.example:80/x", "http://lms.example"},
		{"https://lms.example:80/x", "https://lms.example:80"},
		{"http://lms.example:443/x", "http://lms.example:443"},
		{"HTTPS://LMS.Example:8443/x", "https://lms.example:8443"},
		{"http://[::1]:80/x", "http://[::1]"},
		{"http://[0:0::1]:3000/x", "http://[::1]:3000"},
		{"https://xn--bcher-kva.example/x", "https://xn--bcher-kva.example"},
		// Not a valid webhook URL, or not writable in a CSP: no origin,
		// and admin.js says so instead of reloading.
		{"https://bücher.example/x", ""},
		{"https://a_b.example/x", ""},
		{"https://a.example:/x", ""},
		{"https://lms.example; script-src *", ""},
		{"javascript:alert(1)", ""},
		{"", ""},
	} {
		assert.Equal(t, tc.want, cspOrigin(tc.url), "cspOrigin(%q)", tc.url)
	}
}

// ---- media ----

func mp3File(t *testing.T, name string) []byte {
	t.Helper()
	dir := os.Getenv("PULSE_MP3_DIR")
	if dir == "" {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3").Output()
		require.NoError(t, err)
		dir = filepath.Join(strings.TrimSpace(string(out)), "example")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

// multipartBody builds an upload: parts are name, filename ("" for a plain
// field), content.
func multipartBody(t *testing.T, parts ...[3]string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p[1] == "" {
			w, err = mw.CreateFormField(p[0])
		} else {
			w, err = mw.CreateFormFile(p[0], p[1])
		}
		require.NoError(t, err)
		w.Write([]byte(p[2]))
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func (f *adminFixture) upload(t *testing.T, parts ...[3]string) (*http.Response, string) {
	t.Helper()
	ct, body := multipartBody(t, parts...)
	return f.bearer(t, "POST", "/api/admin/media", string(body), "Content-Type", ct)
}

// mediaFiles lists the media folder (temporary uploads included).
func (f *adminFixture) mediaFiles(t *testing.T) []string {
	entries, _ := os.ReadDir(f.mediaDir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func (f *adminFixture) assertNothingStored(t *testing.T) {
	t.Helper()
	list, err := f.store.MediaList(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list, "no media row")
	assert.Empty(t, f.mediaFiles(t), "no file, not even a partial one")
}

type mediaOut struct {
	pulse.Media
	PlayerURL string `json:"player_url"`
	MediaURL  string `json:"media_url"`
}

func TestUploadRealMP3(t *testing.T) {
	f := newAdminFixture(t)
	mp3 := mp3File(t, "mpeg2.mp3")
	res, body := f.upload(t, [3]string{"title", "", "Alice"}, [3]string{"file", "alice.mp3", string(mp3)})
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	m := decode[mediaOut](t, body)
	assert.Equal(t, "Alice", m.Title)
	assert.Equal(t, "audio/mpeg", m.Type)
	assert.InDelta(t, 75.0, m.Duration, 0.1)
	assert.Equal(t, int64(len(mp3)), m.Size)
	assert.Equal(t, f.srv.URL+"/v/"+m.UUID, m.PlayerURL)
	assert.Equal(t, []string{m.UUID + ".mp3"}, f.mediaFiles(t))

	// It plays: the file with Range, and peaks.
	res, _ = get(t, f.srv.URL+"/media/"+m.UUID, "Range", "bytes=0-3")
	assert.Equal(t, http.StatusPartialContent, res.StatusCode)
	res, _ = get(t, f.srv.URL+"/media/"+m.UUID+"/peaks")
	assert.Equal(t, http.StatusOK, res.StatusCode)

	// Without a title part, the file name is the title; a title after the
	// file still counts.
	res, body = f.upload(t, [3]string{"file", "Lecture_1.mp3", string(mp3)})
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	assert.Equal(t, "Lecture 1", decode[mediaOut](t, body).Title)
	res, body = f.upload(t, [3]string{"file", "x.mp3", string(mp3)}, [3]string{"title", "", "Late title"})
	require.Equal(t, http.StatusCreated, res.StatusCode, body)
	late := decode[mediaOut](t, body)
	assert.Equal(t, "Late title", late.Title)
	got, err := f.store.Media(context.Background(), late.UUID)
	require.NoError(t, err)
	assert.Equal(t, "Late title", got.Title)

	// List, read, rename, delete.
	res, body = f.bearer(t, "GET", "/api/admin/media", "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	list := decode[struct {
		Media     []mediaOut
		MaxUpload int64 `json:"max_upload"`
	}](t, body)
	assert.Len(t, list.Media, 3)
	assert.Equal(t, int64(2<<30), list.MaxUpload)
	assert.NotContains(t, body, `"file"`, "file names on disk are not shown")

	res, body = f.bearer(t, "GET", "/api/admin/media/"+m.UUID, "")
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "Alice", decode[mediaOut](t, body).Title)

	res, body = f.bearer(t, "PATCH", "/api/admin/media/"+m.UUID, `{"title":"  Alice in Wonderland "}`)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "Alice in Wonderland", decode[mediaOut](t, body).Title)
	for _, bad := range []struct{ body, field string }{
		{`{"title":""}`, "title"}, {`{"title":"` + strings.Repeat("a", 201) + `"}`, "title"}, {`{"title":5}`, "title"},
		{`{"name":"x"}`, "name"}, {`{"title":"a\u0007"}`, "title"}, {`{`, ""},
	} {
		res, body := f.bearer(t, "PATCH", "/api/admin/media/"+m.UUID, bad.body)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, bad.body)
		assert.Equal(t, bad.field, decode[apiError](t, body).Error.Field, bad.body)
	}
	got, _ = f.store.Media(context.Background(), m.UUID)
	assert.Equal(t, "Alice in Wonderland", got.Title, "refused renames changed nothing")

	res, _ = f.bearer(t, "DELETE", "/api/admin/media/"+m.UUID, "")
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.NotContains(t, f.mediaFiles(t), m.UUID+".mp3", "deleting removes the file")
	res, _ = get(t, f.srv.URL+"/media/"+m.UUID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		res, _ := f.bearer(t, method, "/api/admin/media/"+m.UUID, `{"title":"x"}`)
		assert.Equal(t, http.StatusNotFound, res.StatusCode, method)
	}
}

func TestUploadRefusals(t *testing.T) {
	mp3 := mp3File(t, "mpeg2.mp3")
	for _, tc := range []struct {
		name   string
		parts  [][3]string
		status int
		field  string
	}{
		{"text named .mp3", [][3]string{{"file", "notes.mp3", "just some text, not audio at all"}}, http.StatusUnsupportedMediaType, "file"},
		{"mp4 header only", [][3]string{{"file", "clip.mp4", "\x00\x00\x00\x20ftypisom\x00\x00"}}, http.StatusBadRequest, "file"},
		{"mp4 without moov", [][3]string{{"file", "clip.mp4", isoBox("ftyp", "isom\x00\x00\x02\x00isom") + isoBox("mdat", "xxxx")}}, http.StatusBadRequest, "file"},
		{"heic photo named .m4a", [][3]string{{"file", "photo.m4a", isoBox("ftyp", "heic\x00\x00\x00\x00mif1heic") + isoBox("meta", strings.Repeat("\x00", 40))}}, http.StatusUnsupportedMediaType, "file"},
		{"ogg header only", [][3]string{{"file", "a.ogg", "OggS\x00\x02" + strings.Repeat("\x00", 40)}}, http.StatusBadRequest, "file"},
		{"webm header only", [][3]string{{"file", "a.webm", "\x1a\x45\xdf\xa3\x87\x42\x82\x84webm"}}, http.StatusBadRequest, "file"},
		{"truncated inside its first frame", [][3]string{{"file", "cut.mp3", string(mp3[:200])}}, http.StatusBadRequest, "file"},
		{"empty file", [][3]string{{"file", "empty.mp3", ""}}, http.StatusBadRequest, "file"},
		{"no file", [][3]string{{"title", "", "x"}}, http.StatusBadRequest, "file"},
		{"two files", [][3]string{{"file", "a.mp3", string(mp3)}, {"file", "b.mp3", string(mp3)}}, http.StatusBadRequest, "file"},
		{"unknown part", [][3]string{{"file", "a.mp3", string(mp3)}, {"owner", "", "x"}}, http.StatusBadRequest, "owner"},
		{"bad title", [][3]string{{"title", "", strings.Repeat("a", 201)}, {"file", "a.mp3", string(mp3)}}, http.StatusBadRequest, "title"},
		{"bad late title", [][3]string{{"file", "a.mp3", string(mp3)}, {"title", "", " "}}, http.StatusBadRequest, "title"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAdminFixture(t)
			res, body := f.upload(t, tc.parts...)
			assert.Equal(t, tc.status, res.StatusCode, body)
			e := decode[apiError](t, body).Error
			assert.Equal(t, tc.field, e.Field, e.Message)
			f.assertNothingStored(t)
		})
	}
	t.Run("the message says what is wrong", func(t *testing.T) {
		f := newAdminFixture(t)
		res, body := f.upload(t, [3]string{"file", "clip.mp4", isoBox("ftyp", "isom\x00\x00\x02\x00isom") + isoBox("mdat", "xxxx")})
		require.Equal(t, http.StatusBadRequest, res.StatusCode, body)
		assert.Contains(t, decode[apiError](t, body).Error.Message, "this MP4 file is damaged or incomplete: it has no moov box")
		f.assertNothingStored(t)
	})
	t.Run("a valid MP4 is accepted", func(t *testing.T) {
		f := newAdminFixture(t)
		hdlr := isoBox("hdlr", strings.Repeat("\x00", 8)+"vide"+strings.Repeat("\x00", 13))
		file := isoBox("ftyp", "isom\x00\x00\x02\x00isom") + isoBox("moov", isoBox("trak", isoBox("mdia", hdlr))) + isoBox("mdat", "xxxx")
		res, body := f.upload(t, [3]string{"file", "clip.mp4", file})
		require.Equal(t, http.StatusCreated, res.StatusCode, body)
		assert.Equal(t, "video/mp4", decode[mediaOut](t, body).Type)
	})
	t.Run("truncated MP3 still plays", func(t *testing.T) {
		f := newAdminFixture(t)
		res, body := f.upload(t, [3]string{"file", "cut.mp3", string(mp3[:len(mp3)/3])})
		require.Equal(t, http.StatusCreated, res.StatusCode, body)
		assert.InDelta(t, 25, decode[mediaOut](t, body).Duration, 1, "the duration is what is there")
	})
	t.Run("not multipart", func(t *testing.T) {
		f := newAdminFixture(t)
		res, _ := f.bearer(t, "POST", "/api/admin/media", string(mp3), "Content-Type", "audio/mpeg")
		assert.Equal(t, http.StatusUnsupportedMediaType, res.StatusCode)
		f.assertNothingStored(t)
	})
}

// isoBox is an ISO-BMFF (MP4) box around payload.
func isoBox(typ, payload string) string {
	return string(binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))) + typ + payload
}

func TestUploadTooLarge(t *testing.T) {
	f := newAdminFixture(t, func(c *Config) { c.MaxUpload = 100 << 10 })
	mp3 := mp3File(t, "mpeg2.mp3") // 439 KiB
	ct, body := multipartBody(t, [3]string{"file", "big.mp3", string(mp3)})

	// Content-Length says it all: 413 before the body is read.
	res, out := f.bearer(t, "POST", "/api/admin/media", string(body), "Content-Type", ct)
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, out)
	assert.Contains(t, out, "100 KiB")
	f.assertNothingStored(t)

	// Streamed without a length: refused when the limit is crossed.
	req, err := http.NewRequest("POST", f.srv.URL+"/api/admin/media", io.MultiReader(bytes.NewReader(body)))
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+f.token)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, string(b))
	assert.Equal(t, "too_large", decode[apiError](t, string(b)).Error.Code)
	f.assertNothingStored(t)

	// Under the limit is fine.
	res, out = f.upload(t, [3]string{"file", "small.mp3", string(mp3[:90<<10])})
	assert.Equal(t, http.StatusCreated, res.StatusCode, out)
}

func TestTitleFromName(t *testing.T) {
	for in, want := range map[string]string{
		"Lecture_1.mp3": "Lecture 1", `C:\Users\me\talk.m4a`: "talk", ".mp3": "Untitled", "": "Untitled",
		"a\x00b.mp3": "ab", "../../etc/passwd": "passwd", strings.Repeat("é", 300) + ".mp3": strings.Repeat("é", 200),
	} {
		assert.Equal(t, want, titleFromName(in), "titleFromName(%q)", in)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin": "/admin", "/admin#media": "/admin#media", "/admin/x?y=1": "/admin/x?y=1", "//evil.example": "/admin",
		"https://evil.example/admin": "/admin", "/administrator": "/admin", "/admin/login": "/admin", "/admin/\\evil": "/admin", "": "/admin",
	} {
		assert.Equal(t, want, safeNext(in), "safeNext(%q)", in)
	}
}

// TestUploadInterrupted cuts an upload off halfway (the client goes away):
// nothing is kept, not even a temporary file.
func TestUploadInterrupted(t *testing.T) {
	f := newAdminFixture(t)
	ct, body := multipartBody(t, [3]string{"file", "alice.mp3", string(mp3File(t, "mpeg2.mp3"))})
	conn, err := net.Dial("tcp", strings.TrimPrefix(f.srv.URL, "http://"))
	require.NoError(t, err)
	fmt.Fprintf(conn, "POST /api/admin/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		f.token, ct, len(body))
	_, err = conn.Write(body[:len(body)/2])
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(f.mediaFiles(t)) == 1 }, 10*time.Second, 10*time.Millisecond, "the upload started")
	conn.Close()
	require.Eventually(t, func() bool { return len(f.mediaFiles(t)) == 0 }, 10*time.Second, 10*time.Millisecond, "the partial file is removed")
	f.assertNothingStored(t)
	require.Eventually(t, func() bool { return strings.Contains(f.logs.String(), "upload interrupted") }, 5*time.Second, 10*time.Millisecond)
	assert.NotContains(t, f.logs.String(), "level=ERROR", "a client going away is not a server error")
}
