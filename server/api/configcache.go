package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

// configCache keeps rendered player configs (body and ETag) for a short
// time, so that a burst of players opening the same media, such as a class
// starting a lecture, costs one store read per media and TTL instead of one
// per request: without it the config API spends most of its time in
// SQLite (scripts/bench measures it). Requests for a config being computed
// wait for that one computation; once a config is older than the TTL, one
// request computes its successor while the others still get the old one
// (stale-while-revalidate), so a slow store read never stalls them all.
//
// Writes through the server's store clear the cache at once (see
// invalidating); writes that bypass it, such as the pulse CLI in another
// process, show within the TTL plus one computation. Browsers may keep a
// config for Config.ConfigMaxAge anyway.
type configCache struct {
	ttl time.Duration // 0 disables the cache
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*configEntry
}

// configCacheMax bounds the number of cached configs; past it, expired
// entries are dropped, then all of them.
const configCacheMax = 10_000

type configEntry struct {
	ready chan struct{} // closed once body, etag, err and at are set
	body  []byte
	etag  string
	err   error
	at    time.Time

	refreshing bool // a request computes its successor; guarded by configCache.mu
}

var errConfigPanic = errors.New("api: player config computation panicked")

func newConfigCache(ttl time.Duration) *configCache {
	return &configCache{ttl: ttl, now: time.Now, entries: map[string]*configEntry{}}
}

// get returns the config of key, computing it when it is not cached or,
// for one request at a time, when it is older than the TTL. Errors are
// returned to the requests waiting for that computation and not cached.
func (c *configCache) get(key string, compute func() ([]byte, string, error)) ([]byte, string, error) {
	if c.ttl <= 0 {
		return compute()
	}
	c.mu.Lock()
	var stale *configEntry // the expired entry this request refreshes
	if e := c.entries[key]; e != nil {
		select {
		case <-e.ready:
			switch {
			case e.err != nil:
			case c.now().Sub(e.at) < c.ttl || e.refreshing:
				c.mu.Unlock()
				return e.body, e.etag, nil
			default:
				e.refreshing, stale = true, e
			}
		default: // being computed for the first time: wait for it
			c.mu.Unlock()
			<-e.ready
			return e.body, e.etag, e.err
		}
	}
	if len(c.entries) >= configCacheMax {
		c.sweep()
	}
	e := &configEntry{ready: make(chan struct{})}
	if stale == nil {
		c.entries[key] = e // later requests wait on it
	}
	c.mu.Unlock()

	done := false
	defer func() {
		if !done { // compute panicked: release the waiters, forget the entry
			e.err, e.at = errConfigPanic, c.now()
			close(e.ready)
			c.settle(key, e, stale)
		}
	}()
	e.body, e.etag, e.err = compute()
	e.at = c.now()
	done = true
	close(e.ready)
	c.settle(key, e, stale)
	return e.body, e.etag, e.err
}

// settle records the outcome of a computation: a new config replaces the
// stale one it refreshed; a failure forgets both. Nothing is kept when the
// cache was invalidated meanwhile: the computation may predate a write.
func (c *configCache) settle(key string, e, stale *configEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.entries[key]
	if cur == nil || (cur != e && cur != stale) {
		return
	}
	if e.err != nil {
		delete(c.entries, key)
		return
	}
	c.entries[key] = e
}

// sweep drops expired entries, or every finished one if that is not
// enough. c.mu must be held.
func (c *configCache) sweep() {
	now := c.now()
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if now.Sub(e.at) >= c.ttl && !e.refreshing {
				delete(c.entries, k)
			}
		default:
		}
	}
	if len(c.entries) < configCacheMax {
		return
	}
	for k, e := range c.entries {
		select {
		case <-e.ready:
			if !e.refreshing {
				delete(c.entries, k)
			}
		default:
		}
	}
}

// invalidate forgets every config; computations in flight finish for the
// requests already waiting on them but are not kept.
func (c *configCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*configEntry{}
}

// invalidating is the server's store: every successful write of webhooks
// or media clears the config cache. Methods it does not list go straight
// to the store (a new write method that changes what configs contain must
// be added here).
type invalidating struct {
	pulse.Store
	cache *configCache
}

func (s invalidating) done(err error) error {
	if err == nil {
		s.cache.invalidate()
	}
	return err
}

func (s invalidating) CreateWebhook(ctx context.Context, w *pulse.Webhook, limit int) error {
	return s.done(s.Store.CreateWebhook(ctx, w, limit))
}

func (s invalidating) UpdateWebhook(ctx context.Context, w *pulse.Webhook) error {
	return s.done(s.Store.UpdateWebhook(ctx, w))
}

func (s invalidating) DeleteWebhook(ctx context.Context, id string) error {
	return s.done(s.Store.DeleteWebhook(ctx, id))
}

func (s invalidating) CreateMedia(ctx context.Context, m *pulse.Media) error {
	return s.done(s.Store.CreateMedia(ctx, m))
}

func (s invalidating) UpdateMedia(ctx context.Context, m *pulse.Media) error {
	return s.done(s.Store.UpdateMedia(ctx, m))
}

func (s invalidating) DeleteMedia(ctx context.Context, uuid string) error {
	return s.done(s.Store.DeleteMedia(ctx, uuid))
}
