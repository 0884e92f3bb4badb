package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

// BenchmarkPlayerConfig is the cost of one GET /api/player/{uuid}/webhooks
// inside the handler (no network): with the SQLite store and no cache,
// which is what a cache miss costs; with the SQLite store and the cache
// that pulse serve uses; and with the data held in memory and no cache,
// which shows what the store costs per request. scripts/bench profiles the
// first.
func BenchmarkPlayerConfig(b *testing.B) {
	for _, n := range []int{1, 10} {
		for _, ttl := range []time.Duration{-1, DefaultCacheTTL} {
			name := "store=sqlite/cache=off/webhooks=" + strconv.Itoa(n)
			if ttl > 0 {
				name = "store=sqlite/cache=on/webhooks=" + strconv.Itoa(n)
			}
			b.Run(name, func(b *testing.B) {
				store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "pulse.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				m := benchData(b, store, n)
				benchConfig(b, store, m.UUID, ttl)
			})
		}
		b.Run("store=memory/cache=off/webhooks="+strconv.Itoa(n), func(b *testing.B) {
			mem := &memStore{}
			m := benchData(b, mem, n)
			benchConfig(b, mem, m.UUID, -1)
		})
	}
}

// benchData stores a media as an import makes it (1000 peaks) and n
// webhooks that apply to every media.
func benchData(b *testing.B, store pulse.Store, n int) *pulse.Media {
	b.Helper()
	ctx := context.Background()
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: "Lecture", Type: "audio/mpeg", Size: 11374658, Duration: 355.4,
		Peaks: make([]byte, 1000)}
	m.File = m.UUID + ".mp3"
	if err := store.CreateMedia(ctx, m); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		w := pulse.NewWebhook()
		w.URL = "https://lms.example.edu/video-tracking/" + strconv.Itoa(i)
		w.RequestField, w.ResponseField = "student", "student_id"
		if err := store.CreateWebhook(ctx, w, 0); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

func benchConfig(b *testing.B, store pulse.Store, uuid string, cacheTTL time.Duration) {
	s, err := New(Config{MediaDir: b.TempDir(), CacheTTL: cacheTTL}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/player/"+uuid+"/webhooks", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// memStore holds the benchmark's media and webhooks in memory. It embeds
// the interface so that methods the benchmark does not use need no body.
type memStore struct {
	pulse.Store
	media map[string]*pulse.Media
	hooks []*pulse.Webhook
}

func (s *memStore) CreateMedia(_ context.Context, m *pulse.Media) error {
	if s.media == nil {
		s.media = map[string]*pulse.Media{}
	}
	s.media[m.UUID] = m
	return nil
}

func (s *memStore) CreateWebhook(_ context.Context, w *pulse.Webhook, _ int) error {
	w.ID = pulse.NewID("wh")
	s.hooks = append(s.hooks, w)
	return nil
}

func (s *memStore) Media(_ context.Context, uuid string) (*pulse.Media, error) {
	if m, ok := s.media[uuid]; ok {
		c := *m
		return &c, nil
	}
	return nil, pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
}

func (s *memStore) Webhooks(context.Context) ([]*pulse.Webhook, error) {
	out := make([]*pulse.Webhook, len(s.hooks))
	for i, w := range s.hooks {
		c := *w
		out[i] = &c
	}
	return out, nil
}
