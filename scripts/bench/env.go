package main

import (
	"bufio"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/receiver"
)

// pages are the baseline pages: the JavaScript player (baseline/) and the
// empty Go wasm (empty/), served from their own origin.
//
//go:embed pages
var pages embed.FS

// bench holds what the sections share. Servers and the browser start on
// first use, so that -only runs start only what they need.
type bench struct {
	o       options
	root    string // the repository
	tmp     string // temporary folder, removed at the end
	mp3Dir  string // go-mp3's example folder: classic.mp3
	classic string // path of classic.mp3
	rep     *report

	cleanups []func() error

	pulse   *pulseServer // the main server, with classic.mp3 and one RPM 60 webhook
	uuid    string       // classic.mp3's media uuid there
	hook    *hookServer  // the webhook receiver, on its own origin
	static  string       // base URL of the baseline pages
	browser context.Context
}

const classicSeconds = 355.43 // duration of classic.mp3

func setup(ctx context.Context, o options) (*bench, error) {
	root, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"bin/pulse", "web/static/player.wasm", "web/static/player.wasm.br"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make bench` (it builds first) from the repository root", f)
		}
	}
	tmp, err := os.MkdirTemp("", "pulse-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, root: root, tmp: tmp, rep: newReport()}
	if !o.keep {
		b.defer_(func() error { return os.RemoveAll(tmp) })
	}
	out, err := b.output(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3")
	if err != nil {
		b.close()
		return nil, err
	}
	b.mp3Dir = filepath.Join(strings.TrimSpace(out), "example")
	b.classic = filepath.Join(b.mp3Dir, "classic.mp3")
	b.machine(ctx)
	b.logf("temporary folder %s", tmp)
	return b, nil
}

// defer_ registers a cleanup, run in reverse order by close.
func (b *bench) defer_(f func() error) { b.cleanups = append(b.cleanups, f) }

func (b *bench) close() error {
	var errs []error
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		if err := b.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	b.cleanups = nil
	return errors.Join(errs...)
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// output runs a command in the repository and returns its stdout.
func (b *bench) output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return string(out), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// tmpPath returns a path inside the temporary folder.
func (b *bench) tmpPath(parts ...string) string {
	return filepath.Join(append([]string{b.tmp}, parts...)...)
}

// pulseServer is a running `bin/pulse serve`.
type pulseServer struct {
	URL  string
	data string
	cmd  *exec.Cmd
	done chan struct{}
}

var listening = regexp.MustCompile(`Pulse is listening on (http://\S+)`)

// startPulse starts `bin/pulse serve` on a free port with the data folder;
// b.close stops it, and so does the kernel if this program dies.
func (b *bench) startPulse(ctx context.Context, data string) (*pulseServer, error) {
	cmd := exec.Command(filepath.Join(b.root, "bin/pulse"), "serve", "--addr", "127.0.0.1:0", "--data", data,
		"--log-level", "warn", "--demo-receiver=false")
	cmd.SysProcAttr = childAttr()
	logf, err := os.Create(filepath.Join(data, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pulse serve: %w", err)
	}
	s := &pulseServer{data: data, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	b.defer_(s.stop)
	select {
	case s.URL = <-found:
		return s, nil
	case <-s.done:
		log, _ := os.ReadFile(filepath.Join(data, "serve.log"))
		return nil, fmt.Errorf("pulse serve exited at start: %s", tail(string(log), 2000))
	case <-time.After(60 * time.Second):
		return nil, errors.New("pulse serve did not start within 60 s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// stop interrupts the server and waits for it; it is safe to call twice.
func (s *pulseServer) stop() error {
	stopProcess(s.cmd.Process, s.done, os.Interrupt, 15*time.Second)
	return nil
}

// stopProcess sends sig to a child that has not exited (done is closed
// when it has), and kills it if it is still there after grace.
func stopProcess(p *os.Process, done <-chan struct{}, sig os.Signal, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	p.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		p.Kill()
		<-done
	}
}

func (s *pulseServer) pid() int { return s.cmd.Process.Pid }

// pulseCmd runs a pulse management command on a data folder and returns
// its output (such as a new media's uuid).
func (b *bench) pulseCmd(ctx context.Context, data string, args ...string) (string, error) {
	out, err := b.output(ctx, filepath.Join(b.root, "bin/pulse"), append(args, "--data", data)...)
	return strings.TrimSpace(out), err
}

// main returns the main server, started on first use: classic.mp3
// imported, one webhook at RPM 60 pointing at the receiver.
func (b *bench) main(ctx context.Context) (*pulseServer, error) {
	if b.pulse != nil {
		return b.pulse, nil
	}
	hook, err := b.receiver()
	if err != nil {
		return nil, err
	}
	data := b.tmpPath("data")
	b.logf("importing classic.mp3 (pulse media add decodes it whole with go-mp3)")
	uuid, err := b.pulseCmd(ctx, data, "media", "add", b.classic, "--title", "Mozart: A Little Night Music, allegro")
	if err != nil {
		return nil, err
	}
	if _, err := b.pulseCmd(ctx, data, "webhook", "add", "--url", hook.URL, "--request-field", "student",
		"--response-field", "student_id", "--rpm", "60"); err != nil {
		return nil, err
	}
	s, err := b.startPulse(ctx, data)
	if err != nil {
		return nil, err
	}
	b.pulse, b.uuid = s, uuid
	return s, nil
}

// The ?student= of each page: the receiver tells their heartbeats apart
// by it.
const (
	playerStudent   = "player"
	baselineStudent = "baseline"
)

// playerURL is the Pulse player page of a media.
func (b *bench) playerURL(uuid string) string {
	return b.pulse.URL + "/v/" + uuid + "?student=" + playerStudent
}

// baselineURL is the JavaScript baseline page playing the same media from
// the same server.
func (b *bench) baselineURL(uuid string) string {
	return b.static + "/baseline/?server=" + b.pulse.URL + "&uuid=" + uuid + "&student=" + baselineStudent
}

// emptyURL is the page of the empty Go wasm.
func (b *bench) emptyURL() string { return b.static + "/empty/" }

// serve starts an HTTP server on a free loopback port and returns its
// base URL; b.close stops it.
func (b *bench) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	b.defer_(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), nil
}

// hookServer is a webhook receiver on its own origin that records when
// each heartbeat arrives.
type hookServer struct {
	URL  string
	mu   sync.Mutex
	hits []hit
}

type hit struct {
	at       time.Time
	student  string // the response field: which page sent it
	event    string
	position float64
}

func (b *bench) receiver() (*hookServer, error) {
	if b.hook != nil {
		return b.hook, nil
	}
	h := &hookServer{}
	base, err := b.serve(receiver.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		hb, err := receiver.Parse(r)
		if err != nil {
			http.Error(w, err.Error(), receiver.Status(err))
			return
		}
		h.mu.Lock()
		h.hits = append(h.hits, hit{at: at, student: hb.Get("student_id"), event: hb.Get("event"), position: hb.Seconds})
		h.mu.Unlock()
	})))
	if err != nil {
		return nil, err
	}
	h.URL = base + "/track"
	b.hook = h
	return h, nil
}

// from returns the heartbeats one page (by its student) sent since a time.
func (h *hookServer) from(student string, since time.Time) []hit {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hit
	for _, x := range h.hits {
		if x.student == student && !x.at.Before(since) {
			out = append(out, x)
		}
	}
	return out
}

// staticServer serves the baseline pages and the empty Go wasm (built
// into the temporary folder) on their own origin.
func (b *bench) staticServer(ctx context.Context) error {
	if b.static != "" {
		return nil
	}
	empty, err := b.emptyWasm(ctx)
	if err != nil {
		return err
	}
	sub, _ := fs.Sub(pages, "pages")
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.Handle("/", files)
	mux.HandleFunc("/empty/empty.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, empty)
	})
	mux.HandleFunc("/empty/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		http.ServeFile(w, r, filepath.Join(runtime.GOROOT(), "lib", "wasm", "wasm_exec.js"))
	})
	b.static, err = b.serve(mux)
	return err
}

// emptyWasm builds the empty-main Go wasm with the player's flags, once.
func (b *bench) emptyWasm(ctx context.Context) (string, error) {
	return b.buildWasm(ctx, "./scripts/bench/emptywasm", "empty.wasm")
}

// buildWasm builds a command for js/wasm with the player's flags into the
// temporary folder, once.
func (b *bench) buildWasm(ctx context.Context, pkg, name string) (string, error) {
	out := b.tmpPath(name)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s for wasm: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// procStatus reads a field of /proc/PID/status in kB, such as VmRSS.
func procStatus(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// children lists the child processes of pid (nginx's workers).
func children(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
