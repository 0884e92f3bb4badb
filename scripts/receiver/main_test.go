package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and a test.
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

// start runs the receiver on a free port and returns its URL and stdout.
func start(t *testing.T, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "a clean shutdown")
		case <-time.After(10 * time.Second):
			t.Error("the receiver did not stop")
		}
	})
	re := regexp.MustCompile(`point a webhook at (http://\S+) and open it`)
	var url string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, "the receiver starts")
	return url, out
}

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, url, contentType string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://player.example")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// The standalone receiver does what the seed's Express + multer example
// does: it answers CORS, parses the multipart body and logs one line.
func TestStandaloneReceiver(t *testing.T) {
	url, out := start(t)
	assert.True(t, strings.HasSuffix(url, "/video-tracking"), url)

	res, _ := do(t, http.MethodOptions, url, "", nil)
	assert.Equal(t, http.StatusNoContent, res.StatusCode, "a preflight, should a browser send one")
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin, X-Requested-With, Content-Type, Accept", res.Header.Get("Access-Control-Allow-Headers"))

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range [][2]string{{"uuid", "uuid-1234"}, {"position", "15.4"}, {"student_id", "john_doe"}} {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	res, _ = do(t, http.MethodPost, url, mw.FormDataContentType(), &body)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "the answer is readable from the player's origin")
	assert.Contains(t, out.String(), "\nstudent john_doe is at 15.4s in video uuid-1234\n")

	res, _ = do(t, http.MethodPost, url, "text/plain", strings.NewReader("uuid=x"))
	assert.GreaterOrEqual(t, res.StatusCode, 400, "not multipart/form-data: refused")
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "a refusal is readable too")
	assert.Equal(t, 1, strings.Count(out.String(), " is at "), "nothing logged for a refusal")

	res, page := do(t, http.MethodGet, url, "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, page, "john_doe", "the page lists what arrived")

	res, _ = do(t, http.MethodGet, strings.TrimSuffix(url, "/video-tracking")+"/", "", nil)
	assert.Equal(t, http.StatusFound, res.StatusCode)
	assert.Equal(t, "/video-tracking", res.Header.Get("Location"))
}

func TestStandaloneReceiverPath(t *testing.T) {
	url, _ := start(t, "--path", "hooks/pulse/")
	assert.True(t, strings.HasSuffix(url, "/hooks/pulse"), url)
	res, _ := do(t, http.MethodGet, url, "", nil)
	assert.Equal(t, http.StatusOK, res.StatusCode)
}
