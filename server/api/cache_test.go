package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// configOf fetches a player config and returns the ids of its webhooks.
func configOf(t *testing.T, srv, uuid string) (int, []string) {
	t.Helper()
	res, body := get(t, srv+"/api/player/"+uuid+"/webhooks")
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil
	}
	var cfg playerConfig
	require.NoError(t, json.Unmarshal([]byte(body), &cfg))
	ids := []string{}
	for _, w := range cfg.Webhooks {
		ids = append(ids, w.ID)
	}
	return res.StatusCode, ids
}

// The store's writes drop cached configs at once, whatever the cache time.
func TestConfigCacheDroppedOnWrites(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	_, ids := configOf(t, f.srv.URL, m.UUID)
	assert.Empty(t, ids)

	w := f.webhook(t, nil)
	_, ids = configOf(t, f.srv.URL, m.UUID)
	assert.Equal(t, []string{w.ID}, ids, "a new webhook shows at once")

	w.Active = false
	require.NoError(t, f.store.UpdateWebhook(context.Background(), w))
	_, ids = configOf(t, f.srv.URL, m.UUID)
	assert.Empty(t, ids, "a deactivated webhook goes at once")

	require.NoError(t, f.store.DeleteMedia(context.Background(), m.UUID))
	status, _ := configOf(t, f.srv.URL, m.UUID)
	assert.Equal(t, http.StatusNotFound, status, "a deleted media is gone at once")
	res, _ := get(t, f.srv.URL+"/media/"+m.UUID)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

// Another process writing to the same SQLite database (`pulse webhook add`
// while the server runs) is noticed within a second.
func TestConfigCacheSeesOtherProcesses(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	_, ids := configOf(t, f.srv.URL, m.UUID)
	require.Empty(t, ids)

	other, err := sqlite.Open(context.Background(), filepath.Join(f.dir, "pulse.db"))
	require.NoError(t, err)
	defer other.Close()
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://lms.example/t", "student", "student_id"
	require.NoError(t, other.CreateWebhook(context.Background(), w, 0))
	start := time.Now()
	require.Eventually(t, func() bool {
		_, ids := configOf(t, f.srv.URL, m.UUID)
		return len(ids) == 1
	}, 5*time.Second, 10*time.Millisecond)
	t.Logf("seen after %v", time.Since(start))
}

// flakyStore is a store whose database can go away.
type flakyStore struct {
	pulse.Store
	down  atomic.Bool
	reads atomic.Int32 // Media and Webhooks calls
}

var errDown = fmt.Errorf("flaky: %w: %w", &pulse.Error{Code: pulse.EUnavailable, Message: "the database is unavailable: try again in a moment"},
	errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))

func (s *flakyStore) Media(ctx context.Context, uuid string) (*pulse.Media, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Media(ctx, uuid)
}

func (s *flakyStore) Webhooks(ctx context.Context) ([]*pulse.Webhook, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Webhooks(ctx)
}

func (s *flakyStore) Session(ctx context.Context, id string) (*pulse.Session, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Session(ctx, id)
}

func (s *flakyStore) TokenByHash(ctx context.Context, hash string) (*pulse.Token, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.TokenByHash(ctx, hash)
}

// While the database is down, cached configs and media keep being served
// (stale: they are past the cache time), and what needs the database
// answers 503 "unavailable"; all is well again when it is back.
func TestConfigCacheServesStaleWhileDown(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("media bytes"))
	w := f.webhook(t, nil)
	store := &flakyStore{Store: f.store}
	logs := &logBuffer{}
	s, err := New(Config{MediaDir: f.dir, CacheTTL: time.Minute}, store, slog.New(slog.NewTextHandler(logs, nil)))
	require.NoError(t, err)
	clock := &testClock{at: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s.cache.now = clock.now
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	res, body := get(t, srv.URL+"/api/player/"+m.UUID+"/webhooks")
	require.Equal(t, http.StatusOK, res.StatusCode)
	etag := res.Header.Get("ETag")
	get(t, srv.URL+"/media/"+m.UUID)
	clock.advance(2 * time.Minute) // past the cache time

	store.down.Store(true)
	res2, body2 := get(t, srv.URL+"/api/player/"+m.UUID+"/webhooks")
	assert.Equal(t, http.StatusOK, res2.StatusCode, body2)
	assert.Equal(t, body, body2, "the cached config")
	assert.Equal(t, etag, res2.Header.Get("ETag"))
	res2, _ = get(t, srv.URL+"/api/player/"+m.UUID+"/webhooks", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, res2.StatusCode)
	res2, body2 = get(t, srv.URL+"/media/"+m.UUID)
	assert.Equal(t, http.StatusOK, res2.StatusCode)
	assert.Equal(t, "media bytes", body2, "media files play on")
	assert.Contains(t, logs.String(), "serving cached player data")

	res2, body2 = get(t, srv.URL+"/api/player/"+pulse.NewUUID()+"/webhooks")
	assert.Equal(t, http.StatusServiceUnavailable, res2.StatusCode, "nothing cached: 503")
	assert.JSONEq(t, `{"error":{"code":"unavailable","message":"the database is unavailable: try again in a moment"}}`, body2)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/admin/webhooks", nil)
	req.Header.Set("Authorization", "Bearer pulse_whatever")
	res3, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res3.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, res3.StatusCode, "admin requests need the database")

	store.down.Store(false)
	w.RPM = 30
	require.NoError(t, f.store.UpdateWebhook(context.Background(), w))
	clock.advance(2 * time.Minute)
	res2, body2 = get(t, srv.URL+"/api/player/"+m.UUID+"/webhooks")
	assert.Equal(t, http.StatusOK, res2.StatusCode)
	assert.Contains(t, body2, `"rpm":30`, "fresh again")
	assert.NotEqual(t, etag, res2.Header.Get("ETag"))
}

// Concurrent misses load once; hits do not load.
func TestConfigCacheLoadsOnce(t *testing.T) {
	f := newFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	f.webhook(t, nil)
	store := &flakyStore{Store: f.store}
	s, err := New(Config{MediaDir: f.dir}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	h := s.Handler()
	const n = 50
	done := make(chan int, n)
	for range n {
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/player/"+m.UUID+"/webhooks", nil))
			done <- rec.Code
		}()
	}
	for range n {
		assert.Equal(t, http.StatusOK, <-done)
	}
	assert.LessOrEqual(t, store.reads.Load(), int32(2*3), "a few loads (Media and Webhooks each), not one per request")
	before := store.reads.Load()
	for range 10 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/player/"+m.UUID+"/webhooks", nil))
	}
	assert.Equal(t, before, store.reads.Load(), "hits cost no database read")
}

// A change reported while a load is in flight keeps that load's result out
// of the cache: it may predate the change.
func TestCacheChangeDuringLoad(t *testing.T) {
	c := newCache(time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	loading, release := make(chan struct{}), make(chan struct{})
	go func() {
		<-loading
		c.invalidate()
		close(release)
	}()
	v, err := cached(context.Background(), c, "k", func(context.Context) (string, error) {
		close(loading)
		<-release
		return "old", nil
	})
	require.NoError(t, err)
	assert.Equal(t, "old", v, "the caller gets what was loaded")
	v, _ = cached(context.Background(), c, "k", func(context.Context) (string, error) { return "new", nil })
	assert.Equal(t, "new", v, "but it was not kept")
}

func TestCacheBounded(t *testing.T) {
	c := newCache(time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.max = 10
	for i := range 100 {
		_, err := cached(context.Background(), c, fmt.Sprint(i), func(context.Context) (int, error) { return i, nil })
		require.NoError(t, err)
		assert.LessOrEqual(t, len(c.entries), 10)
	}
	v, _ := cached(context.Background(), c, "99", func(context.Context) (int, error) { return -1, nil })
	assert.Equal(t, 99, v, "the newest entry stays")
}

func TestCacheOff(t *testing.T) {
	c := newCache(-1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	n := 0
	for range 3 {
		cached(context.Background(), c, "k", func(context.Context) (int, error) { n++; return n, nil })
	}
	assert.Equal(t, 3, n)
	assert.Empty(t, c.entries)
}

// The admin API reads media from the store and changes its own copies:
// the player's cached media keep their peaks, and a rename shows at once.
func TestPlayerMediaCacheAndAdmin(t *testing.T) {
	f := newAdminFixture(t)
	m := f.media(t, "Lecture", []byte("x"))
	res, _ := get(t, f.srv.URL+"/media/"+m.UUID+"/peaks")
	require.Equal(t, http.StatusOK, res.StatusCode)

	res, body := f.bearer(t, http.MethodGet, "/api/admin/media/"+m.UUID, "")
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, _ = get(t, f.srv.URL+"/media/"+m.UUID+"/peaks")
	assert.Equal(t, http.StatusOK, res.StatusCode, "the cached media still has its peaks")

	res, body = f.bearer(t, http.MethodPatch, "/api/admin/media/"+m.UUID, `{"title":"Lecture (renamed)"}`)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	_, page := get(t, f.srv.URL+"/v/"+m.UUID)
	assert.Contains(t, page, "Lecture (renamed)")
}

// testClock is a settable clock for the cache, safe for the server's
// goroutines.
type testClock struct {
	mu sync.Mutex
	at time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}
