package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

func runWith(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

func TestAdminResetPassword(t *testing.T) {
	data := t.TempDir()
	login := func(user, password string) error {
		store, err := sqlite.Open(context.Background(), filepath.Join(data, "pulse.db"))
		require.NoError(t, err)
		defer store.Close()
		_, _, err = auth.New(store, auth.Config{}).Login(context.Background(), user, password, "127.0.0.1")
		return err
	}

	// No admin yet: it is created, with a random password printed.
	out, stderr, err := runWith(t, "", "admin", "reset-password", "--data", data)
	require.NoError(t, err)
	m := regexp.MustCompile(`^user admin, password (\S{20})\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	assert.Contains(t, stderr, "admin admin created")
	require.NoError(t, login("admin", m[1]))

	// From a file (its first line), ending sessions.
	store, err := sqlite.Open(context.Background(), filepath.Join(data, "pulse.db"))
	require.NoError(t, err)
	a, err := store.AdminByUsername(context.Background(), "admin")
	require.NoError(t, err)
	require.NoError(t, store.CreateSession(context.Background(), &pulse.Session{ID: "s", AdminID: a.ID, ExpiresAt: time.Now().Add(time.Hour)}))
	store.Close()
	file := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(file, []byte("from a file, 1\r\nignored\n"), 0o600))
	out, stderr, err = runWith(t, "", "admin", "reset-password", "--password-file", file, "--data", data)
	require.NoError(t, err)
	assert.Empty(t, out, "a given password is not printed")
	assert.Contains(t, stderr, "every session of this admin has ended")
	require.NoError(t, login("admin", "from a file, 1"))
	assert.Error(t, login("admin", m[1]), "the old password is gone")
	store, _ = sqlite.Open(context.Background(), filepath.Join(data, "pulse.db"))
	_, err = store.Session(context.Background(), "s")
	store.Close()
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err), "sessions ended")

	// From standard input, for another user.
	_, _, err = runWith(t, "s3cret-from-stdin\n", "admin", "reset-password", "--user", "ops", "--password-stdin", "--data", data)
	require.NoError(t, err)
	require.NoError(t, login("ops", "s3cret-from-stdin"))

	for _, tc := range []struct {
		stdin string
		args  []string
		msg   string
	}{
		{"short\n", []string{"--password-stdin"}, "at least 8"},
		{"", []string{"--password-stdin"}, "at least 8"},
		{strings.Repeat("x", 73), []string{"--password-stdin"}, "at most 72 bytes"},
		{"", []string{"--password-stdin", "--password-file", file}, "not both"},
		{"", []string{"--user", "bad user"}, "--user may only contain"},
	} {
		_, _, err := runWith(t, tc.stdin, append([]string{"admin", "reset-password", "--data", data}, tc.args...)...)
		require.Error(t, err, tc.args)
		assert.Equal(t, 2, exitCode(err))
		assert.Contains(t, err.Error(), tc.msg)
	}
	require.NoError(t, login("admin", "from a file, 1"), "refused resets changed nothing")
}

// syncBuffer is a bytes.Buffer safe for a server goroutine and a test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type served struct {
	url    string
	out    *syncBuffer
	errOut *syncBuffer        // its log
	stop   context.CancelFunc // what SIGTERM does
	done   chan struct{}      // closed when serve returned err
	err    error
}

// serveIn runs `pulse serve` in this process on a free port.
func serveIn(t *testing.T, data string, env map[string]string, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{out: &syncBuffer{}, errOut: &syncBuffer{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "error"}, args...),
			func(k string) string { return env[k] }, strings.NewReader(""), s.out, s.errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
		}
	})
	re := regexp.MustCompile(`Pulse is listening on (\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.out.String()); m != nil && strings.Contains(s.out.String(), "Admin:") {
			s.url = m[1]
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("serve ended: %v\n%s", s.err, s.out.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "serve did not start")
		time.Sleep(20 * time.Millisecond)
	}
}

var noKeepAlive = &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (s *served) signIn(t *testing.T, password string) string {
	t.Helper()
	res, err := noKeepAlive.PostForm(s.url+"/admin/login", url.Values{"username": {"admin"}, "password": {password}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.NotEmpty(t, res.Cookies())
	return res.Cookies()[0].Name + "=" + res.Cookies()[0].Value
}

func (s *served) call(t *testing.T, method, path, cred, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	require.NoError(t, err)
	if !strings.Contains(cred, "=") {
		req.Header.Set("Authorization", "Bearer "+cred)
	} else {
		req.Header.Set("Cookie", cred)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestServeFirstAdminRestartAndShutdown runs the server as an operator
// would: the first start makes the admin and prints the password once;
// SIGTERM lets an upload in flight finish; everything is there after a
// restart.
func TestServeFirstAdminRestartAndShutdown(t *testing.T) {
	data := t.TempDir()
	s := serveIn(t, data, nil)
	m := regexp.MustCompile(`Admin: +(\S+)/admin\n +user admin, password (\S+)\n`).FindStringSubmatch(s.out.String())
	require.NotNil(t, m, s.out.String())
	assert.Equal(t, s.url, m[1])
	cookie := s.signIn(t, m[2])

	code, body := s.call(t, "POST", "/api/admin/webhooks", cookie,
		`{"url":"https://lms.example/t","request_field":"student","response_field":"student_id","rpm":6}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = s.call(t, "POST", "/api/admin/tokens", cookie, `{"name":"restart test"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var tok struct{ Secret string }
	require.NoError(t, json.Unmarshal([]byte(body), &tok))

	// An upload is in flight (half the file sent) when SIGTERM comes.
	mp3, err := os.ReadFile(filepath.Join(mp3Dir(t), "mpeg2.mp3"))
	require.NoError(t, err)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "alice.mp3")
	fw.Write(mp3)
	mw.Close()
	payload := buf.Bytes()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", s.url+"/api/admin/media", pr)
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+tok.Secret)
	type result struct {
		code int
		body string
		err  error
	}
	uploaded := make(chan result, 1)
	go func() {
		res, err := noKeepAlive.Do(req)
		if err != nil {
			uploaded <- result{err: err}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		uploaded <- result{code: res.StatusCode, body: string(b)}
	}()
	_, err = pw.Write(payload[:len(payload)/2])
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		tmp, _ := filepath.Glob(filepath.Join(data, "media", ".upload-*"))
		return len(tmp) == 1
	}, 10*time.Second, 10*time.Millisecond, "the server is receiving the file")

	s.stop()
	// The server stops taking new connections...
	require.Eventually(t, func() bool {
		_, err := noKeepAlive.Get(s.url + "/healthz")
		return err != nil
	}, 10*time.Second, 20*time.Millisecond, "new connections refused while shutting down")
	// ...but the upload in flight finishes.
	_, err = pw.Write(payload[len(payload)/2:])
	if err != nil {
		r := <-uploaded
		t.Fatalf("write: %v; upload: %+v", err, r)
	}
	pw.Close()
	r := <-uploaded
	require.NoError(t, r.err)
	require.Equal(t, http.StatusCreated, r.code, r.body)
	select {
	case <-s.done:
		require.NoError(t, s.err, "a clean shutdown")
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	// Restart: no new password, and everything persisted, the session too.
	s2 := serveIn(t, data, nil)
	assert.NotContains(t, s2.out.String(), "password", "the password is printed at first start only")
	code, body = s2.call(t, "GET", "/api/admin/webhooks", tok.Secret, "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "https://lms.example/t")
	assert.Contains(t, body, `"rpm":6`)
	code, body = s2.call(t, "GET", "/api/admin/media", cookie, "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"title":"alice"`)
	code, _ = s2.call(t, "GET", "/api/admin/tokens", tok.Secret, "")
	assert.Equal(t, http.StatusOK, code)
}

func TestServeAdminPasswordFromEnv(t *testing.T) {
	data := t.TempDir()
	s := serveIn(t, data, map[string]string{"PULSE_ADMIN_PASSWORD": "from the environment"})
	assert.NotContains(t, s.out.String(), "password", "a given password is not printed")
	s.signIn(t, "from the environment")

	_, _, err := runWith(t, "", "serve", "--data", t.TempDir(), "--max-webhooks", "0")
	assert.ErrorContains(t, err, "--max-webhooks")
	_, _, err = runWith(t, "", "serve", "--data", t.TempDir(), "--max-upload", "lots")
	assert.ErrorContains(t, err, "--max-upload")
	_, _, err = runWith(t, "", "serve", "--data", t.TempDir(), "--session-ttl", "5s")
	assert.ErrorContains(t, err, "--session-ttl")
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(k string) string { return map[string]string{"PULSE_ADMIN_PASSWORD": "short"}[k] }, strings.NewReader(""), &out, &errb)
	assert.ErrorContains(t, err, "PULSE_ADMIN_PASSWORD")
}

// TestServeFrameAncestors: --frame-ancestors is checked at start, and a
// restricted list reaches the player page's CSP.
func TestServeFrameAncestors(t *testing.T) {
	for _, bad := range []string{"https://lms.example; script-src *", "https://a.example,https://b.example", "'none' 'self'", "https://a.example\x00"} {
		_, _, err := runWith(t, "", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--frame-ancestors", bad)
		require.Error(t, err, bad)
		assert.Equal(t, 2, exitCode(err), "a usage error: %v", err)
		assert.Contains(t, err.Error(), "--frame-ancestors", bad)
	}
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()},
		func(k string) string { return map[string]string{"PULSE_FRAME_ANCESTORS": "x; y"}[k] }, strings.NewReader(""), &out, &errb)
	assert.ErrorContains(t, err, "--frame-ancestors", "the environment variable is checked too")

	data := t.TempDir()
	uuid, _, err := runPulse(t, "media", "add", filepath.Join(mp3Dir(t), "mpeg2.mp3"), "--data", data)
	require.NoError(t, err)
	s := serveIn(t, data, nil, "--frame-ancestors", "'self'  https://lms.example.edu")
	res, err := noKeepAlive.Get(s.url + "/v/" + strings.TrimSpace(uuid))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.True(t, strings.HasSuffix(res.Header.Get("Content-Security-Policy"), "; frame-ancestors 'self' https://lms.example.edu"),
		res.Header.Get("Content-Security-Policy"))
}

// TestServeSecureCookiesBehindHTTPS: with an https --base-url (TLS ends at
// a proxy, so requests reach Pulse over plain http), the session cookie is
// Secure and __Host- prefixed; without it, it is neither.
func TestServeSecureCookiesBehindHTTPS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		secure bool
	}{
		{"https base URL", []string{"--base-url", "https://pulse.example.edu"}, nil, true},
		{"https base URL from the environment", nil, map[string]string{"PULSE_BASE_URL": "HTTPS://pulse.example.edu/"}, true},
		{"http base URL", []string{"--base-url", "http://pulse.example.edu"}, nil, false},
		{"no base URL", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The printed URL is the base URL, not the address: listen on
			// a port chosen here.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().String()
			ln.Close()
			env := map[string]string{"PULSE_ADMIN_PASSWORD": "correct horse battery"}
			for k, v := range tc.env {
				env[k] = v
			}
			serveIn(t, t.TempDir(), env, append([]string{"--addr", addr}, tc.args...)...)
			res, err := noKeepAlive.PostForm("http://"+addr+"/admin/login", url.Values{"username": {"admin"}, "password": {"correct horse battery"}})
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			require.Len(t, res.Cookies(), 1)
			c := res.Cookies()[0]
			assert.Equal(t, tc.secure, c.Secure, "Secure")
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
			if tc.secure {
				assert.Equal(t, auth.SecureCookieName, c.Name)
			} else {
				assert.Equal(t, auth.CookieName, c.Name)
			}
		})
	}
}
