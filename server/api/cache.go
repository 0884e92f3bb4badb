package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

// Defaults of the cache of player data.
const (
	DefaultCacheTTL = 30 * time.Second
	cacheMax        = 4096 // entries: a config and a media per media file played
	staleLogEvery   = 10 * time.Second
)

// cache keeps what the player's public routes read from the store (player
// configs and media) in this process: a hit costs no database round trip,
// and players keep being served while the database is down.
//
// Every change the store reports (pulse.Watcher: this process's writes at
// once; other instances' through PostgreSQL's LISTEN/NOTIFY, or other
// processes' on SQLite, within a second) makes every entry stale; an entry
// is stale after ttl anyway, in case a report was lost. A stale entry is
// reloaded on its next use, and still served when reloading fails with
// anything but "not found", such as a database that cannot be reached.
type cache struct {
	ttl time.Duration // <= 0: no cache
	max int
	now func() time.Time
	log *slog.Logger

	mu        sync.Mutex
	gen       uint64 // bumped by every reported change
	entries   map[string]*cacheEntry
	loads     map[string]*cacheLoad // one load per key at a time
	staleLogs time.Time             // when serving stale entries was last logged
}

type cacheEntry struct {
	val any
	gen uint64
	at  time.Time
}

type cacheLoad struct {
	gen  uint64
	done chan struct{}
	val  any
	err  error
}

func newCache(ttl time.Duration, log *slog.Logger) *cache {
	return &cache{ttl: ttl, max: cacheMax, now: time.Now, log: log,
		entries: map[string]*cacheEntry{}, loads: map[string]*cacheLoad{}}
}

// watch drops the entries when store reports a change to what they hold.
func (c *cache) watch(store pulse.Store) {
	w, ok := store.(pulse.Watcher)
	if !ok || c.ttl <= 0 {
		return
	}
	w.Watch(func(table string) {
		if table == "" || table == pulse.TableWebhooks || table == pulse.TableMedia || table == pulse.TableEmbedKeys {
			c.invalidate()
		}
	})
}

// invalidate makes every entry stale.
func (c *cache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// cached returns the value of key: from the cache while fresh, else from
// load, whose result concurrent callers share. When load fails (but for
// ENotFound, which drops the entry) a stale value is returned instead of
// the error, if there is one.
func cached[T any](ctx context.Context, c *cache, key string, load func(ctx context.Context) (T, error)) (T, error) {
	if c.ttl <= 0 {
		return load(ctx)
	}
	c.mu.Lock()
	e := c.entries[key]
	if e != nil && e.gen == c.gen && c.now().Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e.val.(T), nil
	}
	l := c.loads[key]
	if l == nil || l.gen != c.gen {
		l = &cacheLoad{gen: c.gen, done: make(chan struct{})}
		c.loads[key] = l
		c.mu.Unlock()
		// The load outlives a caller that goes away: others may wait for it.
		l.val, l.err = load(context.WithoutCancel(ctx))
		c.mu.Lock()
		if c.loads[key] == l {
			delete(c.loads, key)
		}
		switch {
		case l.err == nil && l.gen == c.gen:
			c.put(key, &cacheEntry{val: l.val, gen: l.gen, at: c.now()})
		case pulse.ErrorCode(l.err) == pulse.ENotFound:
			delete(c.entries, key)
		}
		c.mu.Unlock()
		close(l.done)
	} else {
		c.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	if l.err != nil && e != nil && pulse.ErrorCode(l.err) != pulse.ENotFound {
		c.logStale(key, l.err)
		return e.val.(T), nil
	}
	if l.err != nil {
		var zero T
		return zero, l.err
	}
	return l.val.(T), nil
}

// put stores an entry, making room first when the cache is full: stale
// entries go first, else any one.
func (c *cache) put(key string, e *cacheEntry) {
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		now := c.now()
		for k, old := range c.entries {
			if old.gen != c.gen || now.Sub(old.at) >= c.ttl {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
}

func (c *cache) logStale(key string, err error) {
	c.mu.Lock()
	now := c.now()
	quiet := now.Sub(c.staleLogs) < staleLogEvery
	if !quiet {
		c.staleLogs = now
	}
	c.mu.Unlock()
	if !quiet {
		c.log.Warn("serving cached player data: the database did not answer (logged every 10 s at most)", "key", key, "err", err)
	}
}
