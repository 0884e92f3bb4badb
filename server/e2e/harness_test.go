// Package e2e runs Pulse as people do: the real pulse binary, a webhook
// receiver on another origin, and headless Chromium driving the player.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/demo"
	"github.com/pulsehq/pulse/server/receiver"
)

var (
	pulseBin string // built once in TestMain
	chromium string // path of the browser, "" when none
	mp3Dir   string // go-mp3's example folder: real recordings
	repoRoot string
)

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(repoRoot, "web", "static", "player.wasm")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: web/static/player.wasm is missing: run `make wasm` first (make test does)")
		return 1
	}
	chromium = findChromium()
	if chromium == "" {
		if os.Getenv("PULSE_REQUIRE_E2E") != "" {
			fmt.Fprintln(os.Stderr, "e2e: no Chromium found (set PULSE_CHROMIUM or apt-get install chromium); make test installs it")
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: no Chromium found: skipping browser tests (make test requires them)")
		return 0
	}
	dir, err := os.MkdirTemp("", "pulse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	pulseBin = filepath.Join(dir, "pulse")
	build := exec.Command("go", "build", "-o", pulseBin, "./server/cmd/pulse")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build pulse:", err)
		return 1
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: find go-mp3:", err)
		return 1
	}
	mp3Dir = filepath.Join(strings.TrimSpace(string(out)), "example")
	return m.Run()
}

func findChromium() string {
	if p := os.Getenv("PULSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// server is a running `pulse serve`.
type server struct {
	URL  string // base URL
	data string
	out  *lockedBuffer // its stdout: the demo receiver's log lines
	log  *lockedBuffer // its stderr: its log
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pulseCmd runs a pulse command against data and returns its stdout.
func pulseCmd(t testing.TB, data string, args ...string) string {
	t.Helper()
	cmd := exec.Command(pulseBin, append(args, "--data", data)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "pulse %s: %s", strings.Join(args, " "), stderr.String())
	return strings.TrimSpace(string(out))
}

// startPulse starts `pulse serve` on a free port with a fresh data folder.
func startPulse(t testing.TB, extra ...string) *server {
	t.Helper()
	data := t.TempDir()
	return startPulseData(t, data, extra...)
}

var listening = regexp.MustCompile(`Pulse is listening on (http://\S+)`)

func startPulseData(t testing.TB, data string, extra ...string) *server {
	t.Helper()
	return launchPulse(t, data, extra...)()
}

// launchPulse starts `pulse serve` and returns a function that waits until
// it listens, so that several can start at the same moment.
func launchPulse(t testing.TB, data string, extra ...string) (wait func() *server) {
	t.Helper()
	s := &server{data: data, out: &lockedBuffer{}, log: &lockedBuffer{}}
	cmd := exec.Command(pulseBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "warn"}, extra...)...)
	pr, pw := io.Pipe()
	cmd.Stdout = io.MultiWriter(pw, s.out)
	cmd.Stderr = io.MultiWriter(os.Stderr, s.log)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		pw.Close()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	return func() *server {
		t.Helper()
		select {
		case s.URL = <-found:
		case <-time.After(60 * time.Second):
			t.Fatal("pulse serve did not start within 60 s")
		}
		return s
	}
}

// addMedia imports one of go-mp3's recordings and returns its uuid.
func (s *server) addMedia(t testing.TB, file string) string {
	t.Helper()
	return pulseCmd(t, s.data, "media", "add", filepath.Join(mp3Dir, file))
}

// addWebhook adds a webhook with the seed's fields and returns its id.
func (s *server) addWebhook(t testing.TB, url string, rpm int, args ...string) string {
	t.Helper()
	return pulseCmd(t, s.data, append([]string{"webhook", "add", "--url", url, "--request-field", "student",
		"--response-field", "student_id", "--rpm", fmt.Sprint(rpm)}, args...)...)
}

// demoReceiver is the demo receiver on its own origin.
type demoReceiver struct {
	*demo.Receiver
	URL string // where to point webhooks
}

func startReceiver(t testing.TB) *demoReceiver {
	t.Helper()
	rc := demo.New("/hook", io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return &demoReceiver{Receiver: rc, URL: srv.URL + "/hook"}
}

// heartbeats returns what arrived, oldest first, optionally only from the
// sends with the given field value.
func (r *demoReceiver) heartbeats() []demo.Entry {
	entries, _ := r.Entries()
	out := make([]demo.Entry, len(entries))
	for i, e := range entries {
		out[len(out)-1-i] = e
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newBrowser starts a headless Chromium for one test, with sound allowed
// to start without a click.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	return newBrowserWith(t, "no-user-gesture-required")
}

// newBrowserWith starts a headless Chromium with an autoplay policy:
// "document-user-activation-required" is what browsers do by default.
func newBrowserWith(t testing.TB, autoplay string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("autoplay-policy", autoplay),
		chromedp.Flag("mute-audio", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel3)
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	return ctx
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "evaluate %s", expr)
	return v
}

// openPlayer navigates to a player page and waits until the wasm player
// has bound its controls.
func openPlayer(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url)))
	waitFor(t, 30*time.Second, "the player to start", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("play") && !document.getElementById("play").disabled`))
		return err == nil && v
	})
}

// armed waits until the player has fetched its config and armed tracking.
func armed(t testing.TB, ctx context.Context) {
	t.Helper()
	waitFor(t, 30*time.Second, "tracking to be armed", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`performance.getEntriesByName("pulse:armed").length > 0`))
		return err == nil && v
	})
}

// setWindow minimizes or restores the browser window. Minimized, the page
// becomes hidden (visibilitychange), as when a viewer switches tabs.
func setWindow(t testing.TB, ctx context.Context, state browser.WindowState) {
	t.Helper()
	err := chromedp.Do(ctx, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		b := chromedp.FromContext(ctx).Browser
		w, err := cdp.Call(ctx, b, browser.GetWindowForTarget, browser.GetWindowForTargetParams{TargetID: tg.TargetID})
		if err != nil {
			return chromedp.Void{}, err
		}
		_, err = cdp.Call(ctx, b, browser.SetWindowBounds, browser.SetWindowBoundsParams{WindowID: w.WindowID, Bounds: &browser.Bounds{WindowState: state}})
		return chromedp.Void{}, err
	})
	require.NoError(t, err)
}

// hook is a webhook receiver on its own origin that records every request
// and answers as a test wants: any status, with or without CORS.
type hook struct {
	URL    string
	cors   bool
	status func(n int) int // status of the nth POST; nil means 200

	mu   sync.Mutex
	reqs []hookReq
}

type hookReq struct {
	At          time.Time
	Method      string
	Origin      string
	ContentType string
	Fields      map[string]string
	Names       []string // field names in order
	Err         string
}

func (r hookReq) String() string {
	return fmt.Sprintf("%s %s pos=%s ev=%s", r.At.Format("15:04:05.000"), r.Method, r.Fields["position"], r.Fields["event"])
}

func startHook(t testing.TB, cors bool, status func(n int) int) *hook {
	t.Helper()
	h := &hook{cors: cors, status: status}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/track"
	return h
}

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	req := hookReq{At: time.Now(), Method: r.Method, Origin: r.Header.Get("Origin"), Fields: map[string]string{}}
	req.ContentType, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	if h.cors {
		w.Header().Set("Access-Control-Allow-Origin", "*")
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		hb, err := receiver.Parse(r)
		if err != nil {
			req.Err = err.Error()
			status = receiver.Status(err)
		} else {
			for _, f := range hb.Fields {
				if _, dup := req.Fields[f[0]]; !dup {
					req.Fields[f[0]] = f[1]
				}
				req.Names = append(req.Names, f[0])
			}
		}
	}
	h.mu.Lock()
	if r.Method == http.MethodPost && h.status != nil && req.Err == "" {
		n := 0
		for _, x := range h.reqs {
			if x.Method == http.MethodPost {
				n++
			}
		}
		status = h.status(n)
	}
	h.reqs = append(h.reqs, req)
	h.mu.Unlock()
	w.WriteHeader(status)
}

// all returns every request, oldest first.
func (h *hook) all() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.reqs...)
}

// posts returns the POSTs, oldest first.
func (h *hook) posts() []hookReq {
	var out []hookReq
	for _, r := range h.all() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// events lists the events received, in order ("heartbeat" in seed mode).
func (h *hook) events() []string {
	var out []string
	for _, r := range h.posts() {
		ev := r.Fields["event"]
		if ev == "" {
			ev = "heartbeat"
		}
		out = append(out, ev)
	}
	return out
}

func (h *hook) count(event string) int {
	n := 0
	for _, ev := range h.events() {
		if ev == event {
			n++
		}
	}
	return n
}

func (h *hook) dump() string {
	var b strings.Builder
	for _, r := range h.all() {
		fmt.Fprintln(&b, r, r.Fields)
	}
	return b.String()
}

// mediaPosition reads the player's position as the viewer sees it: the
// seek slider, which follows whatever plays (Pulse's MP3 decoder or a
// media element) on every timeupdate.
func mediaPosition(t testing.TB, ctx context.Context) float64 {
	t.Helper()
	return eval[float64](t, ctx, `document.getElementById("seek").valueAsNumber`)
}

// mediaPaused reports whether the player shows that it is not playing.
func mediaPaused(t testing.TB, ctx context.Context) bool {
	t.Helper()
	return eval[bool](t, ctx, `document.getElementById("player").dataset.state !== "playing"`)
}

// setPlaybackRate picks a speed in the player's speed list, as a viewer
// does.
func setPlaybackRate(t testing.TB, ctx context.Context, rate string) {
	t.Helper()
	eval[bool](t, ctx, `(() => { const r = document.getElementById("rate"); r.value = `+jsString(rate)+`;
		r.dispatchEvent(new Event("change", {bubbles: true})); return r.value === `+jsString(rate)+` })()`)
}
