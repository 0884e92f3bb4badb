package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

// fakeClock is a settable clock for the cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache(ttl time.Duration) (*configCache, *fakeClock) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newConfigCache(ttl)
	c.now = clock.now
	return c, clock
}

// counter returns a compute func that counts its calls.
func counter(n *atomic.Int32, body string) func() ([]byte, string, error) {
	return func() ([]byte, string, error) {
		n.Add(1)
		return []byte(body), `"` + body + `"`, nil
	}
}

func TestConfigCache(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		steps func(c *configCache, clock *fakeClock, get func(key string))
		want  int32 // computations
	}{
		{"reused within the TTL", time.Second, func(c *configCache, clock *fakeClock, get func(string)) {
			get("a")
			clock.add(999 * time.Millisecond)
			get("a")
		}, 1},
		{"computed again at the TTL", time.Second, func(c *configCache, clock *fakeClock, get func(string)) {
			get("a")
			clock.add(time.Second)
			get("a")
		}, 2},
		{"one entry per key", time.Second, func(c *configCache, clock *fakeClock, get func(string)) {
			get("a")
			get("b")
			get("a")
		}, 2},
		{"invalidate forgets", time.Second, func(c *configCache, clock *fakeClock, get func(string)) {
			get("a")
			c.invalidate()
			get("a")
		}, 2},
		{"a zero TTL disables it", 0, func(c *configCache, clock *fakeClock, get func(string)) {
			get("a")
			get("a")
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clock := newTestCache(tc.ttl)
			var n atomic.Int32
			tc.steps(c, clock, func(key string) {
				body, etag, err := c.get(key, counter(&n, key))
				require.NoError(t, err)
				assert.Equal(t, key, string(body))
				assert.Equal(t, `"`+key+`"`, etag)
			})
			assert.Equal(t, tc.want, n.Load(), "computations")
		})
	}
}

// Past the TTL one request refreshes the config while the others still get
// the old one at once.
func TestConfigCacheServesStaleWhileOneRefreshes(t *testing.T) {
	c, clock := newTestCache(time.Second)
	var n atomic.Int32
	_, _, err := c.get("a", counter(&n, "v1"))
	require.NoError(t, err)
	clock.add(time.Second)

	started, release := make(chan struct{}), make(chan struct{})
	refreshed := make(chan string, 1)
	go func() {
		body, _, _ := c.get("a", func() ([]byte, string, error) {
			close(started)
			<-release
			return []byte("v2"), `"v2"`, nil
		})
		refreshed <- string(body)
	}()
	<-started
	body, etag, err := c.get("a", counter(&n, "never"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(body), "the stale config, without waiting")
	assert.Equal(t, `"v1"`, etag)
	close(release)
	assert.Equal(t, "v2", <-refreshed)
	body, _, err = c.get("a", counter(&n, "never"))
	require.NoError(t, err)
	assert.Equal(t, "v2", string(body))
	assert.Equal(t, int32(1), n.Load(), "computations besides the refresh")
}

// A refresh that fails (the media was deleted meanwhile) forgets the old
// config instead of serving it on.
func TestConfigCacheFailedRefreshForgets(t *testing.T) {
	c, clock := newTestCache(time.Second)
	var n atomic.Int32
	_, _, err := c.get("a", counter(&n, "v1"))
	require.NoError(t, err)
	clock.add(time.Second)
	gone := pulse.Errorf(pulse.ENotFound, "no media")
	_, _, err = c.get("a", func() ([]byte, string, error) { return nil, "", gone })
	require.ErrorIs(t, err, gone)
	body, _, err := c.get("a", counter(&n, "v3"))
	require.NoError(t, err)
	assert.Equal(t, "v3", string(body))
}

func TestConfigCacheDoesNotKeepErrors(t *testing.T) {
	c, _ := newTestCache(time.Hour)
	fail := errors.New("store down")
	_, _, err := c.get("a", func() ([]byte, string, error) { return nil, "", fail })
	require.ErrorIs(t, err, fail)
	var n atomic.Int32
	body, _, err := c.get("a", counter(&n, "ok"))
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, int32(1), n.Load())
}

func TestConfigCacheComputesOnceForConcurrentRequests(t *testing.T) {
	c, _ := newTestCache(time.Hour)
	release := make(chan struct{})
	var n atomic.Int32
	compute := func() ([]byte, string, error) {
		n.Add(1)
		<-release
		return []byte("body"), `"e"`, nil
	}
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() {
			b, _, err := c.get("a", compute)
			assert.NoError(t, err)
			bodies[i] = string(b)
		})
	}
	require.Eventually(t, func() bool { return n.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // let the others queue up
	close(release)
	wg.Wait()
	assert.Equal(t, int32(1), n.Load())
	for _, b := range bodies {
		assert.Equal(t, "body", b)
	}
}

func TestConfigCachePanicReleasesWaiters(t *testing.T) {
	c, _ := newTestCache(time.Hour)
	started, release := make(chan struct{}), make(chan struct{})
	waiter := make(chan error, 1)
	go func() {
		defer func() { recover() }()
		c.get("a", func() ([]byte, string, error) {
			close(started)
			<-release
			panic("boom")
		})
	}()
	<-started
	go func() {
		_, _, err := c.get("a", func() ([]byte, string, error) { return []byte("late"), "", nil })
		waiter <- err
	}()
	time.Sleep(10 * time.Millisecond)
	close(release)
	select {
	case err := <-waiter:
		// Either it waited for the failed computation or came after it
		// and computed its own: never stuck.
		if err != nil {
			assert.ErrorIs(t, err, errConfigPanic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request waiting on a panicked computation never returned")
	}
	var n atomic.Int32
	_, _, err := c.get("a", counter(&n, "again"))
	require.NoError(t, err)
	assert.Equal(t, int32(1), n.Load(), "the panic is not cached")
}

// Writes through the server's store show in the next config at once; the
// cache only spares the store between writes.
func TestPlayerConfigCacheClearedByWrites(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "pulse.db"))
	require.NoError(t, err)
	defer store.Close()
	s, err := New(Config{MediaDir: dir, ConfigCacheTTL: time.Hour}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	h := s.Handler()
	ctx := context.Background()
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: "Lecture", Type: "audio/mpeg", Size: 1, File: "x.mp3"}
	require.NoError(t, s.store.CreateMedia(ctx, m))
	config := func() (string, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/player/"+m.UUID+"/webhooks", nil))
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return w.Body.String(), w.Header().Get("ETag")
	}
	empty, etag := config()
	assert.JSONEq(t, `{"uuid":"`+m.UUID+`","webhooks":[]}`, empty)

	// A write that bypasses the server (another process) waits for the TTL.
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://lms.example.edu/track", "student", "student_id"
	require.NoError(t, store.CreateWebhook(ctx, w, 0))
	body, again := config()
	assert.Equal(t, empty, body, "cached")
	assert.Equal(t, etag, again)

	// A write through the server's store clears the cache.
	w.RPM = 6
	require.NoError(t, s.store.UpdateWebhook(ctx, w))
	body, changed := config()
	assert.Contains(t, body, `"rpm":6`)
	assert.NotEqual(t, etag, changed)

	// Unknown media are never cached.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/player/nope/webhooks", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
}
