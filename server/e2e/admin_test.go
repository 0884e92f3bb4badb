package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminPassword returns the password that `pulse serve` printed at its
// first start.
func (s *server) adminPassword(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`user admin, password (\S+)`).FindStringSubmatch(s.out.String())
	require.NotNil(t, m, "no admin password printed:\n%s", s.out.String())
	return m[1]
}

// until polls a JavaScript condition until it holds.
func until(t testing.TB, ctx context.Context, timeout time.Duration, what, expr string) {
	t.Helper()
	waitFor(t, timeout, what, func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		return err == nil && v
	})
}

// signInToPanel opens /admin, signs in and waits for the panel.
func signInToPanel(t testing.TB, ctx context.Context, srv *server) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin")))
	until(t, ctx, 30*time.Second, "the sign-in form", `!!document.getElementById("signin")`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("username"), "admin"),
		chromedp.SetValue(chromedp.ID("password"), srv.adminPassword(t)),
		chromedp.Click(chromedp.ID("signin-submit")),
	))
	until(t, ctx, 30*time.Second, "the panel", `document.body.dataset.ready === "true"`)
}

func text(t testing.TB, ctx context.Context, expr string) string {
	t.Helper()
	return eval[string](t, ctx, expr)
}

// TestAdminPanel signs in, creates a webhook in the panel (after an inline
// validation error), and sees it in the player config; then sends test
// heartbeats to a receiver with CORS, one without, and a dead port; then
// uploads a file with the progress bar and builds an embed snippet; then
// edits, switches off and on, and deletes webhooks, sees the mixed-content
// warning, and creates and revokes an API token and an embed key
// (managePanel).
func TestAdminPanel(t *testing.T) {
	srv := startPulse(t)
	uuid := srv.addMedia(t, "mpeg2.mp3")
	pulseCmd(t, srv.data, "media", "add", filepath.Join(mp3Dir, "mpeg2.mp3"), "--title", `<img src=x onerror="window.pwned=1">`)
	rc := startReceiver(t)

	ctx := newBrowser(t)
	signInToPanel(t, ctx, srv)
	assert.Contains(t, text(t, ctx, `document.body.innerText`), "Signed in as admin")
	assert.False(t, eval[bool](t, ctx, `!!window.pwned || document.querySelectorAll("main img").length > 0`), "titles are text, not HTML")
	assert.Contains(t, text(t, ctx, `document.getElementById("media-table").innerText`), `<img src=x onerror="window.pwned=1">`)

	// A new webhook, first with a reserved response field.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("wh-new")),
		chromedp.SetValue(chromedp.ID("wh-name"), "Receiver"),
		chromedp.SetValue(chromedp.ID("wh-url"), rc.URL),
		chromedp.SetValue(chromedp.ID("wh-request_field"), "student"),
		chromedp.SetValue(chromedp.ID("wh-response_field"), "uuid"),
		chromedp.SetValue(chromedp.ID("wh-rpm"), "6"),
		chromedp.Click(chromedp.ID("wh-save")),
	))
	until(t, ctx, 10*time.Second, "the inline error", `document.getElementById("wh-response_field-error").textContent !== ""`)
	assert.Contains(t, text(t, ctx, `document.getElementById("wh-response_field-error").textContent`), "reserved")
	assert.Equal(t, "true", text(t, ctx, `document.getElementById("wh-response_field").getAttribute("aria-invalid")`))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("wh-response_field"), "student_id"),
		chromedp.Click(chromedp.ID("wh-save")),
	))
	// A new origin reloads the panel so that its CSP allows the test.
	until(t, ctx, 30*time.Second, "the webhook in the table",
		`document.body.dataset.ready === "true" && document.getElementById("wh-table").innerText.includes(`+jsString(rc.URL)+`)`)

	// The player sees it.
	res, err := http.Get(srv.URL + "/api/player/" + uuid + "/webhooks")
	require.NoError(t, err)
	var cfg struct {
		Webhooks []struct {
			URL, RequestField, ResponseField string
			RPM                              int
		}
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&cfg))
	res.Body.Close()
	require.Len(t, cfg.Webhooks, 1)
	assert.Equal(t, rc.URL, cfg.Webhooks[0].URL)
	assert.Equal(t, 6, cfg.Webhooks[0].RPM)

	// Test heartbeats: answered with CORS, without, and unreachable.
	var noCORSHits atomic.Int32
	noCORS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			noCORSHits.Add(1)
		}
	}))
	t.Cleanup(noCORS.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String() + "/gone"
	ln.Close()
	srv.addWebhook(t, noCORS.URL+"/hook", 2)
	srv.addWebhook(t, dead, 2)
	require.NoError(t, chromedp.Do(ctx, chromedp.Reload()))
	until(t, ctx, 30*time.Second, "the panel", `document.body.dataset.ready === "true" && document.querySelectorAll("#wh-table tbody tr").length === 3`)

	result := func(url string) string {
		return `document.querySelector("#wh-table tr[data-id] td .url") && [...document.querySelectorAll("#wh-table tbody tr")]` +
			`.find(tr => tr.querySelector(".url").textContent === ` + jsString(url) + `)`
	}
	for _, tc := range []struct{ url, want string }{
		{rc.URL, "Arrived: HTTP 200"},
		{noCORS.URL + "/hook", "Arrived, but CORS was not answered"},
		{dead, "Unreachable"},
	} {
		eval[bool](t, ctx, `(`+result(tc.url)+`).querySelector("button.test").click(), true`)
		until(t, ctx, 20*time.Second, "the test result for "+tc.url,
			`(`+result(tc.url)+`).querySelector(".test-result").textContent.includes(`+jsString(tc.want)+`)`)
	}
	assert.Contains(t, text(t, ctx, `(`+result(rc.URL)+`).querySelector(".test-result").textContent`), "CORS answered")
	hbs := rc.heartbeats()
	require.Len(t, hbs, 1, "the test heartbeat arrived at the receiver")
	assert.Equal(t, "pulse-test", hbs[0].Value)
	assert.Equal(t, "student_id", hbs[0].Field)
	assert.Equal(t, srv.URL, hbs[0].Origin)
	assert.Equal(t, int32(2), noCORSHits.Load(), "the CORS attempt and the no-cors probe both arrived")

	// Upload with the progress bar.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("upload-file"), []string{filepath.Join(mp3Dir, "classic.mp3")}),
		chromedp.SetValue(chromedp.ID("upload-title"), "Mozart"),
		chromedp.Click(chromedp.ID("upload-submit")),
	))
	until(t, ctx, 60*time.Second, "the upload", `document.getElementById("upload-status").textContent.startsWith("Uploaded")`)
	assert.Equal(t, 100, eval[int](t, ctx, `document.getElementById("upload-progress").value`))
	assert.Contains(t, text(t, ctx, `document.getElementById("upload-status").textContent`), "audio/mpeg")
	until(t, ctx, 10*time.Second, "three media", `document.querySelectorAll("#media-table tbody tr").length === 3`)
	media := pulseCmd(t, srv.data, "media", "list")
	assert.Contains(t, media, "Mozart")

	// The embed snippet of the first media.
	row := `[...document.querySelectorAll("#media-table tbody tr")].find(tr => tr.dataset.uuid === ` + jsString(uuid) + `)`
	eval[bool](t, ctx, `[...(`+row+`).querySelectorAll("button")].find(b => b.textContent === "Embed").click(), true`)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("embed-start"), "0:30"),
		chromedp.Click(chromedp.ID("embed-autoplay")),
		chromedp.Click(chromedp.ID("embed-muted")),
	))
	eval[bool](t, ctx, `document.getElementById("embed-start").dispatchEvent(new Event("input")), true`)
	code := text(t, ctx, `document.getElementById("embed-code").value`)
	assert.Contains(t, code, `<iframe src="`+srv.URL+"/v/"+uuid+"?student=STUDENT&amp;t=30&amp;autoplay=1&amp;muted=1")
	assert.Contains(t, code, `allow="autoplay; fullscreen"`)
	embedURL := text(t, ctx, `document.getElementById("embed-open").href`)

	managePanel(t, ctx, srv, rc.URL, noCORS.URL+"/hook", dead, uuid)

	// Signing out ends the session.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout"))))
	until(t, ctx, 10*time.Second, "the sign-in page", `!!document.getElementById("signin")`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin")))
	until(t, ctx, 10*time.Second, "the sign-in form again", `!!document.getElementById("signin")`)

	// The snippet's player does what it says: starts at 0:30, muted, at
	// once.
	openPlayer(t, ctx, embedURL)
	waitFor(t, 10*time.Second, "autoplay", func() bool { return !mediaPaused(t, ctx) })
	assert.InDelta(t, 30, mediaPosition(t, ctx), 3, "t=30")
	assert.Equal(t, "true", text(t, ctx, `document.getElementById("mute").getAttribute("aria-pressed")`), "muted=1")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "<", `\u003c`)
}

// adminAPI reads the admin API with a session of its own (not the
// browser's), to check what the panel did.
type adminAPI struct {
	t      *testing.T
	base   string
	cookie string
}

func (a adminAPI) get(path string, out any) int {
	a.t.Helper()
	status, body := call(a.t, http.MethodGet, a.base+path, a.cookie, "")
	if out != nil && status == http.StatusOK {
		require.NoError(a.t, json.Unmarshal([]byte(body), out), body)
	}
	return status
}

type apiWebhook struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	URL      string   `json:"url"`
	RPM      int      `json:"rpm"`
	Active   bool     `json:"active"`
	Warnings []string `json:"warnings"`
}

// bearerStatus calls GET /api/admin/me with an API token.
func bearerStatus(t *testing.T, base, secret string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/admin/me", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// managePanel drives the rest of the panel: it edits the receiver's
// webhook in the form (a PUT), switches it off and on, deletes the dead
// one, sees the http:// mixed-content warning while typing and in the
// table, and creates and revokes an API token and an embed key, checking
// each result in the DOM and through the API.
func managePanel(t *testing.T, ctx context.Context, srv *server, rcURL, noCORSURL, deadURL, uuid string) {
	t.Helper()
	a := adminAPI{t: t, base: srv.URL, cookie: signIn(t, srv.URL, srv.adminPassword(t))}
	row := func(url string) string {
		return `[...document.querySelectorAll("#wh-table tbody tr")].find(tr => tr.querySelector(".url").textContent === ` + jsString(url) + `)`
	}
	// confirm() would block the page: answer yes, as the admin would.
	acceptConfirms := func() { eval[bool](t, ctx, `window.confirm = () => true, true`) }

	// Edit: the form opens with the webhook's values and saves with a PUT.
	id := text(t, ctx, `(`+row(rcURL)+`).dataset.id`)
	require.NotEmpty(t, id)
	eval[bool](t, ctx, `[...(`+row(rcURL)+`).querySelectorAll("button")].find(b => b.textContent === "Edit").click(), true`)
	until(t, ctx, 5*time.Second, "the edit form", `!document.getElementById("wh-form").hidden`)
	assert.Equal(t, "Edit webhook", text(t, ctx, `document.getElementById("wh-form-title").textContent`))
	assert.Equal(t, rcURL, text(t, ctx, `document.getElementById("wh-url").value`), "the form holds the webhook")
	assert.Equal(t, "6", text(t, ctx, `document.getElementById("wh-rpm").value`))
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("wh-name"), "Receiver (edited)"),
		chromedp.SetValue(chromedp.ID("wh-rpm"), "12"),
		chromedp.Click(chromedp.ID("wh-save")),
	))
	until(t, ctx, 10*time.Second, "the edited webhook in the table",
		`document.getElementById("wh-form").hidden && (`+row(rcURL)+`).innerText.includes("Receiver (edited)")`)
	assert.Equal(t, "12", text(t, ctx, `(`+row(rcURL)+`).children[2].textContent`))
	var w apiWebhook
	require.Equal(t, http.StatusOK, a.get("/api/admin/webhooks/"+id, &w))
	assert.Equal(t, "Receiver (edited)", w.Name)
	assert.Equal(t, 12, w.RPM)
	assert.Equal(t, rcURL, w.URL)
	var list struct{ Webhooks []apiWebhook }
	a.get("/api/admin/webhooks", &list)
	assert.Len(t, list.Webhooks, 3, "edited in place, not added")

	// Off, then on again: the player config follows.
	toggle := `(` + row(rcURL) + `).querySelector("button.toggle")`
	eval[bool](t, ctx, toggle+`.click(), true`)
	until(t, ctx, 10*time.Second, "the switch off", toggle+`.getAttribute("aria-pressed") === "false" && `+toggle+`.textContent === "Off"`)
	require.Equal(t, http.StatusOK, a.get("/api/admin/webhooks/"+id, &w))
	assert.False(t, w.Active, "deactivated")
	assert.NotContains(t, webhookIDs(t, srv.URL, uuid), id, "the player no longer gets it")
	eval[bool](t, ctx, toggle+`.click(), true`)
	until(t, ctx, 10*time.Second, "the switch on", toggle+`.getAttribute("aria-pressed") === "true" && `+toggle+`.textContent === "On"`)
	require.Equal(t, http.StatusOK, a.get("/api/admin/webhooks/"+id, &w))
	assert.True(t, w.Active, "activated again")

	// Delete the dead one.
	deadID := text(t, ctx, `(`+row(deadURL)+`).dataset.id`)
	acceptConfirms()
	eval[bool](t, ctx, `(`+row(deadURL)+`).querySelector("button.danger").click(), true`)
	until(t, ctx, 10*time.Second, "the row gone", `document.querySelectorAll("#wh-table tbody tr").length === 2 && !(`+row(deadURL)+`)`)
	assert.Equal(t, http.StatusNotFound, a.get("/api/admin/webhooks/"+deadID, nil), "deleted")

	// The mixed-content warning: not for loopback, even over http...
	assert.False(t, eval[bool](t, ctx, `!!(`+row(noCORSURL)+`).querySelector(".warning")`), "http://127.0.0.1 is loopback")
	// ...but while typing an http:// URL to another host, and in the table.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("wh-new"))))
	typeURL := func(u string) string {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("wh-url"), u)))
		eval[bool](t, ctx, `document.getElementById("wh-url").dispatchEvent(new Event("input")), true`)
		return text(t, ctx, `document.getElementById("wh-url-warning").textContent`)
	}
	assert.Contains(t, typeURL("http://lms.example.edu/track"), "mixed content")
	assert.Contains(t, typeURL("http://127.0.0.1.evil.example/track"), "mixed content", "a name that starts like 127. is not loopback")
	assert.Empty(t, typeURL("http://127.0.0.1:9/track"))
	assert.Empty(t, typeURL("http://[::1]:9/track"))
	assert.Empty(t, typeURL("https://lms.example.edu/track"))
	const httpHook = "http://lms.example.edu/track"
	typeURL(httpHook)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("wh-request_field"), "student"),
		chromedp.SetValue(chromedp.ID("wh-response_field"), "student_id"),
		chromedp.Click(chromedp.ID("wh-save")),
	))
	// A new origin: the panel reloads.
	until(t, ctx, 30*time.Second, "the http:// webhook in the table",
		`document.body.dataset.ready === "true" && !!(`+row(httpHook)+`)`)
	assert.Contains(t, text(t, ctx, `(`+row(httpHook)+`).querySelector(".warning").textContent`), "mixed content")
	a.get("/api/admin/webhooks", &list)
	require.Len(t, list.Webhooks, 3)
	for _, h := range list.Webhooks {
		if h.URL == httpHook {
			require.Len(t, h.Warnings, 1)
			assert.Contains(t, h.Warnings[0], "mixed content")
		}
	}

	// An API token: created (its secret shown once, and it works), then
	// revoked (and it stops working).
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("token-name"), "E2E script"),
		chromedp.Click(chromedp.ID("token-create")),
	))
	until(t, ctx, 10*time.Second, "the token secret", `!document.getElementById("token-secret").hidden`)
	secret := text(t, ctx, `document.getElementById("token-secret-value").textContent`)
	require.True(t, strings.HasPrefix(secret, "pulse_"), secret)
	assert.Equal(t, http.StatusOK, bearerStatus(t, srv.URL, secret), "the new token works")
	tokenRow := `[...document.querySelectorAll("#token-table tbody tr")].find(tr => tr.children[0].textContent === "E2E script")`
	until(t, ctx, 10*time.Second, "the token in the table", `!!(`+tokenRow+`)`)
	assert.NotContains(t, text(t, ctx, `document.getElementById("token-table").innerText`), secret, "the table shows a prefix only")
	acceptConfirms()
	eval[bool](t, ctx, `(`+tokenRow+`).querySelector("button.danger").click(), true`)
	until(t, ctx, 10*time.Second, "the token revoked", `(`+tokenRow+`).innerText.includes("revoked")`)
	assert.Equal(t, http.StatusUnauthorized, bearerStatus(t, srv.URL, secret), "a revoked token is refused")

	// An embed key: created, then revoked.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("ek-name"), "Moodle"),
		chromedp.Click(chromedp.ID("ek-create")),
	))
	until(t, ctx, 10*time.Second, "the embed key secret", `!document.getElementById("ek-secret").hidden`)
	kid := text(t, ctx, `document.getElementById("ek-secret-kid").textContent`)
	require.NotEmpty(t, kid)
	assert.NotEmpty(t, text(t, ctx, `document.getElementById("ek-secret-value").textContent`))
	var keys struct {
		EmbedKeys []struct {
			ID, Name  string
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"embed_keys"`
	}
	require.Equal(t, http.StatusOK, a.get("/api/admin/embed-keys", &keys))
	require.Len(t, keys.EmbedKeys, 1)
	assert.Equal(t, kid, keys.EmbedKeys[0].ID)
	assert.Equal(t, "Moodle", keys.EmbedKeys[0].Name)
	assert.Nil(t, keys.EmbedKeys[0].RevokedAt)
	keyRow := `[...document.querySelectorAll("#ek-table tbody tr")].find(tr => tr.dataset.id === ` + jsString(kid) + `)`
	acceptConfirms()
	eval[bool](t, ctx, `(`+keyRow+`).querySelector("button.danger").click(), true`)
	until(t, ctx, 10*time.Second, "the embed key revoked", `(`+keyRow+`).innerText.includes("revoked")`)
	a.get("/api/admin/embed-keys", &keys)
	require.Len(t, keys.EmbedKeys, 1)
	assert.NotNil(t, keys.EmbedKeys[0].RevokedAt, "revoked")
}

// TestAdminPanelTestOrigins: "Send test heartbeat" compares the webhook's
// origin as the browser writes it with the origins the server allowed in
// the page's CSP. A default port (http://127.0.0.1:80) must match at once
// (it used to reload the panel forever), and an origin the server cannot
// allow (a non-ASCII host stored before such hosts were refused) reloads
// once and then says so.
func TestAdminPanelTestOrigins(t *testing.T) {
	srv := startPulse(t)
	const defaultPort, legacy = "http://127.0.0.1:80/hook", "https://legacy.example/hook"
	srv.addWebhook(t, defaultPort, 2)
	srv.addWebhook(t, legacy, 2)
	setColumn(t, srv, "url", "https://bücher.example/hook", legacy)

	ctx := newBrowser(t)
	signInToPanel(t, ctx, srv)
	row := func(url string) string {
		return `[...document.querySelectorAll("#wh-table tbody tr")].find(tr => tr.querySelector(".url").textContent === ` + jsString(url) + `)`
	}
	until(t, ctx, 10*time.Second, "both webhooks", `document.querySelectorAll("#wh-table tbody tr").length === 2`)
	assert.Contains(t, eval[[]string](t, ctx, `JSON.parse(document.getElementById("admin-config").textContent).connect_origins`),
		"http://127.0.0.1", "the origin as the browser writes it, without :80")

	// The default port: tested at once, without a reload.
	eval[bool](t, ctx, `window.notReloaded = true, true`)
	eval[bool](t, ctx, `(`+row(defaultPort)+`).querySelector("button.test").click(), true`)
	result := `(` + row(defaultPort) + `).querySelector(".test-result").textContent`
	until(t, ctx, 20*time.Second, "the test result", `window.notReloaded && /^(Arrived|Unreachable)/.test(`+result+`)`)

	// The legacy host: one reload, then an explanation.
	const bad = "https://bücher.example/hook"
	eval[bool](t, ctx, `(`+row(bad)+`).querySelector("button.test").click(), true`)
	until(t, ctx, 30*time.Second, "the panel reloaded once",
		`!window.notReloaded && document.body.dataset.ready === "true" && document.getElementById("flash").textContent.includes("Reloaded the panel")`)
	eval[bool](t, ctx, `window.notReloaded = true, true`)
	eval[bool](t, ctx, `(`+row(bad)+`).querySelector("button.test").click(), true`)
	result = `(` + row(bad) + `).querySelector(".test-result").textContent`
	until(t, ctx, 10*time.Second, "the explanation", `window.notReloaded && `+result+`.startsWith("Cannot test from this page")`)
	assert.Contains(t, text(t, ctx, result), "https://xn--bcher-kva.example")
}
