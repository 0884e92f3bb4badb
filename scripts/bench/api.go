package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wrkResult is what wrk reports.
type wrkResult struct {
	rps      float64
	p50, p99 float64 // ms
	requests int
	errors   string // socket errors and non-2xx responses, "" when none
}

// api: GET /api/player/{uuid}/webhooks under 64 connections against nginx
// serving the identical JSON as a static file, and pulse serve's memory.
func (b *bench) api(ctx context.Context) error {
	main, err := b.main(ctx)
	if err != nil {
		return err
	}
	// A fresh server on the same data, so that its memory is not the
	// browser sections' and idle means idle.
	main.stop()
	b.pulse = nil
	s, err := b.startPulse(ctx, main.data)
	if err != nil {
		return err
	}
	b.pulse = s
	path := "/api/player/" + b.uuid + "/webhooks"
	body, err := get(s.URL + path)
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	idle := float64(procStatus(s.pid(), "VmRSS"))

	ng, err := b.startNginx(ctx, path, body)
	if err != nil {
		return err
	}
	defer ng.stop()
	if nb, err := get(ng.url + path); err != nil {
		return err
	} else if !bytes.Equal(nb, body) {
		return fmt.Errorf("nginx serves %q, pulse %q", nb, body)
	}
	nginxIdle := ng.rss()

	// Warm both up, then measure each alone.
	for _, u := range []string{s.URL + path, ng.url + path} {
		if _, err := runWrk(ctx, u, 2*time.Second, nil); err != nil {
			return err
		}
	}
	var pulseRSS, nginxRSS float64
	p, err := runWrk(ctx, s.URL+path, b.o.load, func() { pulseRSS = max(pulseRSS, float64(procStatus(s.pid(), "VmRSS"))) })
	if err != nil {
		return err
	}
	n, err := runWrk(ctx, ng.url+path, b.o.load, func() { nginxRSS = max(nginxRSS, ng.rss()) })
	if err != nil {
		return err
	}
	if p.errors != "" || n.errors != "" {
		return fmt.Errorf("errors under load: pulse %q, nginx %q", p.errors, n.errors)
	}
	floorURL, err := b.startFloor(ctx, filepath.Join(b.tmpPath("nginx"), "config.json"))
	if err != nil {
		return err
	}
	if _, err := runWrk(ctx, floorURL+path, 2*time.Second, nil); err != nil {
		return err
	}
	f, err := runWrk(ctx, floorURL+path, b.o.load, nil)
	if err != nil {
		return err
	}
	const base = "nginx, static file"
	b.rep.add("api", "GET /api/player/{uuid}/webhooks, requests/s", p.rps, n.rps, fmtRPS, base, ratioAtLeast(0.6))
	b.rep.add("api", "latency p50", p.p50, n.p50, fmtMs, base, nil)
	b.rep.add("api", "latency p99", p.p99, n.p99, fmtMs, base, atMost("≤ 5 ms", 5))
	b.rep.add("api", "pulse serve resident memory, idle", idle, nginxIdle, fmtMB, "nginx master + workers", nil)
	b.rep.add("api", "pulse serve resident memory, peak under that load", pulseRSS, nginxRSS, fmtMB, "nginx master + workers", nil)
	b.rep.note("api", "`wrk -t2 -c64 -d%s --latency` from Debian on the same 2 cores as the server (after a 2 s warm-up of each), "+
		"first against a fresh `pulse serve` (SQLite store, the media of this run, 1 webhook: a %d-byte JSON body), then against nginx %s "+
		"(worker_processes auto, access log off) serving the identical bytes as a static file at the same path with the same "+
		"Cache-Control; neither sends a 304 since wrk sends no If-None-Match. %d and %d requests.",
		b.o.load, len(body), ng.version, p.requests, n.requests)
	b.rep.note("api", "The Go ceiling: a minimal net/http server returning the same bytes from memory with the same headers "+
		"(this program run with -serve-floor, in its own process), loaded the same way right after: %s (%s nginx), p50 %s, p99 %s. "+
		"Pulse reaches %s of it; what lies between that ceiling and nginx is net/http itself, not Pulse's handler.",
		fmtRPS(f.rps), fmtRatio(f.rps/n.rps), fmtMs(f.p50), fmtMs(f.p99), fmtRatio(p.rps/f.rps))
	b.rep.note("api", "Resident memory: VmRSS from /proc, idle 2 s after one request, and the largest value sampled every 100 ms "+
		"under load; for nginx the sum over its master and worker processes.")
	return nil
}

func get(url string) ([]byte, error) {
	res, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, res.Status, body)
	}
	return body, nil
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkReqs    = regexp.MustCompile(`(\d+) requests in`)
	wrkSockErr = regexp.MustCompile(`Socket errors: .*`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: \d+`)
)

// runWrk loads url with 64 connections for d; sample runs every 100 ms
// meanwhile.
func runWrk(ctx context.Context, url string, d time.Duration, sample func()) (wrkResult, error) {
	var r wrkResult
	cmd := exec.CommandContext(ctx, "wrk", "-t2", "-c64", "-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", "--timeout", "10s", url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("wrk: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-time.After(100 * time.Millisecond):
			if sample != nil {
				sample()
			}
		}
	}
	text := out.String()
	if err != nil {
		return r, fmt.Errorf("wrk %s: %w\n%s", url, err, text)
	}
	m := wrkRPS.FindStringSubmatch(text)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", text)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range wrkPct.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		switch p[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if p[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if m := wrkReqs.FindStringSubmatch(text); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	var errs []string
	if m := wrkSockErr.FindString(text); m != "" {
		errs = append(errs, m)
	}
	if m := wrkNon2xx.FindString(text); m != "" {
		errs = append(errs, m)
	}
	r.errors = strings.Join(errs, "; ")
	return r, nil
}

// nginx is a running nginx on a temporary configuration.
type nginx struct {
	url     string
	version string
	cmd     *exec.Cmd
	done    chan struct{}
	once    sync.Once
}

const nginxConf = `# Written by scripts/bench for one run; nginx runs in the foreground as
# the bench's child and is stopped at the end.
worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	server {
		listen 127.0.0.1:%[2]d;
		location = %[3]s {
			alias %[1]s/config.json;
			default_type "application/json; charset=utf-8";
			add_header Cache-Control "public, max-age=60";
			add_header Access-Control-Allow-Origin "*";
		}
	}
}
`

// startNginx serves body at path from nginx on a free loopback port.
func (b *bench) startNginx(ctx context.Context, path string, body []byte) (*nginx, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return nil, errors.New("nginx is not installed (scripts/bench.sh installs it)")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := b.tmpPath("nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// nginx workers run as an unprivileged user: they must read the file.
	os.Chmod(b.tmp, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), body, 0o644); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, port, path)), 0o644); err != nil {
		return nil, err
	}
	ng := &nginx{url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	if v, err := exec.Command(bin, "-v").CombinedOutput(); err == nil {
		ng.version = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(v)), "nginx version: nginx/"))
	}
	ng.cmd = exec.Command(bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", conf)
	ng.cmd.SysProcAttr = childAttr()
	var out bytes.Buffer
	ng.cmd.Stdout, ng.cmd.Stderr = &out, &out
	if err := ng.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	go func() { ng.cmd.Wait(); close(ng.done) }()
	b.defer_(ng.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := get(ng.url + path); err == nil {
			return ng, nil
		}
		select {
		case <-ng.done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Errorf("nginx exited at start: %s%s", out.String(), log)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.New("nginx did not answer within 20 s")
		}
	}
}

// rss sums the resident memory of nginx's master and workers.
func (n *nginx) rss() float64 {
	pid := n.cmd.Process.Pid
	total := procStatus(pid, "VmRSS")
	for _, c := range children(pid) {
		total += procStatus(c, "VmRSS")
	}
	return float64(total)
}

// stop shuts nginx down gracefully (SIGQUIT), then kills it.
func (n *nginx) stop() error {
	n.once.Do(func() { stopProcess(n.cmd.Process, n.done, sigQuit, 10*time.Second) })
	return nil
}

// serveFloor is the -serve-floor mode: the least a Go server can do to
// answer the config API, for comparison.
func serveFloor(file string) error {
	body, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("listening on http://" + ln.Addr().String())
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=60")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("ETag", `"0123456789abcdef01234567"`)
		w.Write(body)
	}))
}

// startFloor runs this program with -serve-floor in its own process.
func (b *bench) startFloor(ctx context.Context, file string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(self, "-serve-floor", file)
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	b.defer_(func() error { cmd.Process.Kill(); cmd.Wait(); return nil })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("the -serve-floor server did not start: %w", err)
	}
	go io.Copy(io.Discard, stdout)
	return strings.TrimPrefix(strings.TrimSpace(line), "listening on "), nil
}
