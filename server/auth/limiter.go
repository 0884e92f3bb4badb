package auth

import (
	"sync"
	"time"
)

// Limiter counts failures per key (an IP address, a user name) in a leaky
// bucket: each failure fills it by one, and it drains by one every Every.
// A key whose bucket holds Burst failures is refused until it drains.
// Like golang.org/x/time/rate, every method takes now.
type Limiter struct {
	Burst int
	Every time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	level float64 // failures not yet forgiven
	at    time.Time
}

// maxKeys bounds the limiter's memory: past it, drained buckets are dropped.
const maxKeys = 10000

// NewLimiter returns a limiter allowing burst failures per key, forgiving
// one every every.
func NewLimiter(burst int, every time.Duration) *Limiter {
	return &Limiter{Burst: burst, Every: every, buckets: map[string]*bucket{}}
}

func (l *Limiter) level(b *bucket, now time.Time) float64 {
	drained := float64(now.Sub(b.at)) / float64(l.Every)
	if drained < 0 {
		drained = 0
	}
	return max(0, b.level-drained)
}

// Wait returns how long key must wait before its next attempt: zero when
// it may try now.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	over := l.Over(key, now)
	if over <= 0 {
		return 0
	}
	return time.Duration(over*float64(l.Every)).Round(time.Second) + time.Second
}

// Over returns how far past its burst key's next attempt would be at now:
// zero or less while it is within the burst, about 1 for the first attempt
// past it, and one more for each failure not yet forgiven.
func (l *Limiter) Over(key string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return 0
	}
	return l.level(b, now) - float64(l.Burst) + 1
}

// Fail records a failed attempt by key at now.
func (l *Limiter) Fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxKeys {
			l.prune(now)
		}
		b = &bucket{at: now}
		l.buckets[key] = b
	}
	b.level = l.level(b, now) + 1
	b.at = now
}

// prune drops drained buckets; l.mu is held.
func (l *Limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if l.level(b, now) == 0 {
			delete(l.buckets, k)
		}
	}
}

// Len returns how many keys the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
