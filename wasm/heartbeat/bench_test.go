package heartbeat

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkPoll is the engine's cost per wake-up while playing: the player
// calls Poll at every due time, so at RPM 60 this runs once a second per
// webhook. Every due heartbeat is dispatched and acknowledged, as the
// tracker does.
func BenchmarkPoll(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("webhooks="+strconv.Itoa(n), func(b *testing.B) {
			hooks := make([]Webhook, n)
			for i := range hooks {
				hooks[i] = Webhook{ID: "wh_" + strconv.Itoa(i), URL: "https://example.com/track", RequestField: "student",
					ResponseField: "student_id", RPM: 60, Events: true}
			}
			e := New(Config{UUID: "uuid-1234", Session: "session", Query: ParseQuery("?student=john_doe"), Webhooks: hooks})
			t0 := time.Unix(1_700_000_000, 0)
			m := Media{Duration: 1e9}
			e.Play(t0, m)
			now := t0
			sent := 0
			for b.Loop() {
				// Four wake-ups per second of playing time: one in four
				// has heartbeats due.
				now = now.Add(250 * time.Millisecond)
				m.Position = now.Sub(t0).Seconds()
				for _, s := range e.Poll(now, m) {
					e.Done(now, s.Webhook, Result{Status: 200})
					sent++
				}
			}
			if sent == 0 {
				b.Fatal("Poll sent nothing")
			}
		})
	}
}
