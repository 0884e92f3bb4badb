package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"context"
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
// uploads a file with the progress bar and builds an embed snippet.
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
		chromedp.SetValue(chromedp.ID("embed-start"), "1:30"),
		chromedp.Click(chromedp.ID("embed-autoplay")),
	))
	eval[bool](t, ctx, `document.getElementById("embed-start").dispatchEvent(new Event("input")), true`)
	code := text(t, ctx, `document.getElementById("embed-code").value`)
	assert.Contains(t, code, `<iframe src="`+srv.URL+"/v/"+uuid+"?student=STUDENT&amp;t=90&amp;autoplay=1")
	assert.Contains(t, code, `allow="autoplay; fullscreen"`)

	// Signing out ends the session.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout"))))
	until(t, ctx, 10*time.Second, "the sign-in page", `!!document.getElementById("signin")`)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/admin")))
	until(t, ctx, 10*time.Second, "the sign-in form again", `!!document.getElementById("signin")`)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "<", `\u003c`)
}
