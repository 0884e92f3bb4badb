package heartbeat

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInterval(t *testing.T) {
	for _, tc := range []struct {
		rpm  int
		want time.Duration
	}{
		{2, 30 * time.Second},
		{6, 10 * time.Second},
		{60, time.Second},
		{600, time.Second}, // clamped to 60
		{0, time.Minute},   // clamped to 1
		{-5, time.Minute},
	} {
		assert.Equal(t, tc.want, Interval(tc.rpm), "Interval(%d)", tc.rpm)
	}
}

// The seed's example: RPM 2, a heartbeat every 30 s with exactly its three
// fields when events are off.
func TestSeedMode(t *testing.T) {
	s := newSim(t, 600, "student=john_doe", webhook("w", 2, false))
	s.play()
	s.run(sec(95))
	require.Equal(t, []string{"heartbeat@30", "heartbeat@60", "heartbeat@90"}, s.events(""))
	for _, f := range s.sent {
		assert.Equal(t, []Field{
			{"uuid", "uuid-1234"},
			{"position", strconv.Itoa(int(f.at.Seconds()))},
			{"student_id", "john_doe"},
		}, f.Fields)
	}
}

// Scenario 1: a 600 s video played from 0, the tab closed at t=95.
func TestScenarioTabClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events bool
		want   []string
	}{
		{"events", true, []string{"play@0", "heartbeat@10", "heartbeat@20", "heartbeat@30", "heartbeat@40",
			"heartbeat@50", "heartbeat@60", "heartbeat@70", "heartbeat@80", "heartbeat@90", "hidden@95"}},
		{"seed", false, []string{"heartbeat@10", "heartbeat@20", "heartbeat@30", "heartbeat@40",
			"heartbeat@50", "heartbeat@60", "heartbeat@70", "heartbeat@80", "heartbeat@90", "heartbeat@95"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 600, "student=john_doe", webhook("w", 6, tc.events))
			s.play()
			s.run(sec(95))
			// Closing a tab: visibilitychange to hidden, then pagehide.
			s.hide()
			s.leave()
			require.Equal(t, tc.want, s.events(""), s.dump())
			last := s.sent[len(s.sent)-1]
			assert.True(t, last.Beacon, "final send goes by beacon")
			assert.Equal(t, "95", last.field("position"))
		})
	}
}

// Scenario 2: play 0→30, pause 60 s, resume to the end.
func TestScenarioPauseResume(t *testing.T) {
	s := newSim(t, 60, "student=john_doe", webhook("w", 6, true))
	s.play()
	s.run(sec(30))
	s.pause() // just as the heartbeat of 30 s went out: the pause waits a second
	s.run(sec(90))
	require.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "heartbeat@30", "pause@31"}, s.events(""),
		"nothing during the pause")
	s.play()
	s.run(sec(200))
	assert.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "heartbeat@30", "pause@31",
		"play@90", "heartbeat@100", "heartbeat@110", "ended@120"}, s.events(""), "nothing after ended")
	// The tab closed long after the end: nothing was watched since "ended"
	// arrived at position 60, so nothing more goes out.
	s.hide()
	s.leave()
	assert.Equal(t, "ended@120", s.events("")[len(s.events(""))-1], "nothing after ended, not even leave\n%s", s.dump())
}

// Scenario 3: seeks during playback restart the clock, never add one.
func TestScenarioSeeksKeepOneClock(t *testing.T) {
	for _, events := range []bool{true, false} {
		t.Run(strconv.FormatBool(events), func(t *testing.T) {
			s := newSim(t, 600, "student=john_doe", webhook("w", 6, events))
			s.play()
			s.run(sec(20))
			s.seek(200)
			s.run(sec(40))
			s.seek(100)
			s.seek(110) // scrubbing
			s.seek(120)
			s.run(sec(100))
			var prev time.Duration = -1
			for _, f := range s.sent {
				if f.Event == EventHeartbeat && prev >= 0 {
					assert.GreaterOrEqual(t, f.at-prev, 10*time.Second, "heartbeat %v too soon after a send at %v\n%s", f.at, prev, s.dump())
				}
				prev = f.at
			}
			heartbeats := 0
			for _, f := range s.sent {
				if f.Event == EventHeartbeat {
					heartbeats++
				}
			}
			if events {
				assert.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "seeked@21", "heartbeat@31",
					"seeked@40.5", "heartbeat@50.5", "heartbeat@60.5", "heartbeat@70.5", "heartbeat@80.5", "heartbeat@90.5"},
					s.events(""), "one seeked per settled seek, scrubbing included")
			} else {
				assert.Equal(t, 10, heartbeats, "seed mode: seeking changes nothing, one clock\n%s", s.dump())
			}
		})
	}
}

// Scenario 4: watched time is the union of played ranges.
func TestScenarioWatchedAfterSeek(t *testing.T) {
	s := newSim(t, 600, "student=john_doe", webhook("w", 6, true))
	s.play()
	s.run(sec(10))
	s.seek(590)
	s.run(sec(30))
	last := s.sent[len(s.sent)-1]
	require.Equal(t, EventEnded, last.Event, s.dump())
	assert.Equal(t, "20", last.field("watched"))
	assert.Equal(t, "0.0333", last.field("progress"))
	assert.Equal(t, "600", last.field("position"))
	assert.Equal(t, "600", last.field("duration"))
}

// Scenario 5: a clip played to the end ends with "ended", not "pause".
func TestScenarioEndedNotPause(t *testing.T) {
	s := newSim(t, 30, "student=john_doe", webhook("w", 6, true))
	s.play()
	s.run(sec(60))
	assert.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "ended@30"}, s.events(""))
	assert.Equal(t, "30", s.sent[len(s.sent)-1].field("position"))
	assert.Equal(t, "1", s.sent[len(s.sent)-1].field("progress"))
}

// Scenario 6: a clip shorter than the interval still reports.
func TestScenarioShortClip(t *testing.T) {
	s := newSim(t, 8, "student=john_doe", webhook("ev", 6, true), webhook("seed", 6, false))
	s.play()
	s.run(sec(20))
	assert.Equal(t, []string{"play@0", "ended@8"}, s.events("ev"))
	assert.Equal(t, []string{"heartbeat@8"}, s.events("seed"), "seed mode flushes the final position")
	assert.Equal(t, "8", s.sent[len(s.sent)-1].field("position"))
}

// Scenario 7: two players on one page, each with the session its page load
// gave it (the page token's sid, or a random one of the player's own; the
// browser test TestScenarioTwoIframes shows they differ). Only the one
// playing sends; each sends its own session with its own seq and clock, and
// nothing of one leaks into the other.
func TestScenarioTwoPlayers(t *testing.T) {
	player := func(session string) *sim {
		s := newSim(t, 600, "student=john_doe", webhook("w", 6, true))
		s.e = New(Config{UUID: "uuid-1234", Session: session, Query: ParseQuery("student=john_doe"),
			Webhooks: []Webhook{webhook("w", 6, true)}})
		return s
	}
	a, b := player("sess-A"), player("sess-B")
	a.play()
	a.run(sec(30))
	b.run(sec(30))
	b.hide()
	b.leave()
	require.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "heartbeat@30"}, a.events(""))
	assert.Empty(t, b.sent, "a player that never played sends nothing, not even leave")

	// Now B plays too, from 35 s on: its sends start at seq 1 with its own
	// session, and A's clock is not disturbed.
	b.run(sec(35))
	b.play()
	a.run(sec(50))
	b.run(sec(50))
	assert.Equal(t, []string{"play@0", "heartbeat@10", "heartbeat@20", "heartbeat@30", "heartbeat@40", "heartbeat@50"}, a.events(""))
	assert.Equal(t, []string{"play@35", "heartbeat@45"}, b.events(""))
	for name, p := range map[string]*sim{"sess-A": a, "sess-B": b} {
		for i, f := range p.sent {
			assert.Equal(t, name, f.field("session"), f.String())
			assert.Equal(t, strconv.Itoa(i+1), f.field("seq"), f.String())
		}
	}
}

// Scenario 8: going hidden with data pending for three webhooks sends three
// beacons.
func TestScenarioHiddenFlushesEveryWebhook(t *testing.T) {
	beacons := func(s *sim) []string {
		var out []string
		for _, f := range s.sent {
			if f.Beacon {
				out = append(out, f.Webhook+":"+string(f.Event)+"@"+f.field("position"))
			}
		}
		return out
	}
	t.Run("playing", func(t *testing.T) {
		s := newSim(t, 600, "student=john_doe", webhook("a", 6, true), webhook("b", 2, true), webhook("c", 6, false))
		s.play()
		s.run(sec(12))
		s.hide()
		assert.Equal(t, []string{"a:hidden@12", "b:hidden@12", "c:heartbeat@12"}, beacons(s), s.dump())
	})
	t.Run("paused behind a slow receiver", func(t *testing.T) {
		s := newSim(t, 600, "student=john_doe", webhook("a", 6, true), webhook("b", 6, true), webhook("c", 6, false))
		s.latency = 5 * time.Second // data waits behind requests in flight
		s.play()
		s.run(sec(11.5))
		s.pause()
		s.hide()
		assert.Equal(t, []string{"a:pause@11.5", "b:pause@11.5", "c:heartbeat@11.5"}, beacons(s), s.dump())
	})
}

// Scenario 9a: an rpm of 600 is clamped to 60.
func TestScenarioRPMClamped(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 600, false))
	s.play()
	s.run(sec(10))
	assert.Len(t, s.sent, 10)
}

// Scenario 9b: a receiver answering 429 sees backoff, not immediate retries.
func TestScenarioBackoffOn429(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 1, false))
	s.respond = func(Send) Result { return Result{Status: 429} }
	s.play()
	s.run(sec(75))
	var got []string
	for _, f := range s.sent {
		got = append(got, f.String())
	}
	assert.Equal(t, []string{
		"fetch w heartbeat@1m0s pos=60",
		"fetch w heartbeat@1m1s pos=60", // retry 1 after 1 s
		"fetch w heartbeat@1m3s pos=60", // retry 2 after 2 s
		"fetch w heartbeat@1m7s pos=60", // retry 3 after 4 s, then it gives up
	}, got)
	for _, f := range s.sent[1:] {
		assert.Equal(t, s.sent[0].Seq, f.Seq, "a retry keeps its seq")
	}
}

// Scenario 10: the playback rate does not change the wall-clock interval,
// and position is the media position.
func TestScenarioPlaybackRate(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, false))
	s.play()
	s.run(sec(10))
	s.rate = 1.5
	s.run(sec(20))
	s.rate = 2
	s.run(sec(30))
	s.rate = 1
	s.run(sec(40))
	var got []string
	for _, f := range s.sent {
		got = append(got, f.field("position")+"@"+strconv.Itoa(int(f.at.Seconds())))
	}
	assert.Equal(t, []string{"10@10", "25@20", "45@30", "55@40"}, got)
}

// Scenario 11: the student id travels in every send of every kind.
func TestScenarioStudentInEverySend(t *testing.T) {
	s := newSim(t, 30, "student=john_doe&other=x", webhook("a", 6, true), webhook("b", 6, false))
	s.play()
	s.run(sec(5))
	s.seek(3)
	s.run(sec(8))
	s.pause()
	s.run(sec(10))
	s.play()
	s.run(sec(15))
	s.hide()
	s.run(sec(60)) // plays on to the end
	s.seek(10)
	s.play()
	s.run(sec(65))
	s.leave()
	kinds := map[Event]bool{}
	for _, f := range s.sent {
		kinds[f.Event] = true
		assert.Equal(t, "john_doe", f.field("student_id"), f.String())
		assert.NotContains(t, f.Fields, Field{"other", "x"}, "other URL parameters are never sent")
	}
	for _, ev := range []Event{EventPlay, EventHeartbeat, EventPause, EventSeeked, EventHidden, EventEnded, EventLeave} {
		assert.True(t, kinds[ev], "no %s send in\n%s", ev, s.dump())
	}
}

func TestExtendedPayload(t *testing.T) {
	e := New(Config{
		UUID: "u1", Session: "s1", Token: "tok",
		Query:    ParseQuery("student=john_doe"),
		Webhooks: []Webhook{webhook("w", 6, true)},
	})
	e.Play(t0, Media{Position: 0, Duration: 100})
	sends := e.Poll(t0, Media{Position: 0, Duration: 100})
	require.Len(t, sends, 1)
	assert.Equal(t, []Field{
		{"uuid", "u1"}, {"position", "0"}, {"student_id", "john_doe"},
		{"event", "play"}, {"duration", "100"}, {"session", "s1"}, {"seq", "1"},
		{"watched", "0"}, {"progress", "0"}, {"token", "tok"},
	}, sends[0].Fields)

	// Live or loading media: no duration and no progress.
	e = New(Config{UUID: "u1", Session: "s1", Webhooks: []Webhook{webhook("w", 6, true)}})
	e.Play(t0, Media{Position: 0, Duration: posInf()})
	sends = e.Poll(t0, Media{Position: 0, Duration: posInf()})
	require.Len(t, sends, 1)
	for _, f := range sends[0].Fields {
		assert.NotContains(t, []string{"duration", "progress", "token"}, f.Name)
	}
	assert.Equal(t, Field{"student_id", ""}, sends[0].Fields[2], "absent parameter is an empty string")
}

func TestSeqCountsSendsPerWebhook(t *testing.T) {
	s := newSim(t, 600, "", webhook("a", 6, true), webhook("b", 2, true))
	s.play()
	s.run(sec(61))
	for _, id := range []string{"a", "b"} {
		n := 0
		for _, f := range s.sent {
			if f.Webhook == id {
				n++
				assert.Equal(t, strconv.Itoa(n), f.field("seq"), f.String())
			}
		}
	}
}

func TestRequireParam(t *testing.T) {
	hook := webhook("w", 6, true)
	hook.RequireParam = true
	for _, tc := range []struct {
		query string
		sends bool
	}{
		{"student=john_doe", true},
		{"", false},
		{"student=", false},
		{"pupil=john_doe", false},
	} {
		s := newSim(t, 60, tc.query, hook)
		s.play()
		s.run(sec(30))
		s.hide()
		s.leave()
		assert.Equal(t, tc.sends, len(s.sent) > 0, "query %q sent %v", tc.query, s.events(""))
	}
}

func TestDelivery(t *testing.T) {
	netErr := errors.New("TypeError: Failed to fetch")
	for _, tc := range []struct {
		name   string
		result Result
		want   []string
	}{
		{"ok", Result{Status: 200}, []string{"heartbeat@10"}},
		{"500 retried three times", Result{Status: 500}, []string{"heartbeat@10", "heartbeat@11", "heartbeat@13", "heartbeat@17"}},
		{"network error retried", Result{Err: netErr}, []string{"heartbeat@10", "heartbeat@11", "heartbeat@13", "heartbeat@17"}},
		{"404 dropped", Result{Status: 404}, []string{"heartbeat@10"}},
		{"400 dropped", Result{Status: 400}, []string{"heartbeat@10"}},
		// fetch follows redirects (redirect: "follow", see the browser
		// package's tests): the engine only sees the final status.
		{"204 no content is success", Result{Status: 204}, []string{"heartbeat@10"}},
		{"499 dropped", Result{Status: 499}, []string{"heartbeat@10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 600, "", webhook("w", 6, false))
			s.respond = func(Send) Result { return tc.result }
			s.play()
			s.run(sec(19))
			assert.Equal(t, tc.want, s.events(""))
		})
	}
}

func TestNewerPayloadReplacesWaitingRetry(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, true))
	fail := true
	s.respond = func(Send) Result {
		if fail {
			return Result{Status: 503}
		}
		return Result{Status: 200}
	}
	s.play()
	s.run(sec(0.5))
	s.pause() // queued behind the event spacing; the play's retry waits
	s.run(sec(0.9))
	fail = false
	s.run(sec(10))
	assert.Equal(t, []string{"play@0", "pause@1"}, s.events(""), "the retry of play gave way to pause")
}

func TestLatestWinsWhileInFlight(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 60, false))
	s.latency = 3500 * time.Millisecond
	s.play()
	s.run(sec(10))
	// One request at a time: sends at 1, then at 4.5 with the latest due
	// heartbeat (queued at 4), then at 8 with the one queued at 6.5.
	assert.Equal(t, []string{"heartbeat@1", "heartbeat@4.5", "heartbeat@8"}, s.events(""))
	assert.Equal(t, "4", s.sent[1].field("position"), "the latest payload won, not the oldest")
}

func TestEventsCoalesce(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, true))
	s.play()
	s.run(sec(0.2))
	s.pause()
	s.run(sec(0.4))
	s.play()
	s.run(sec(0.6))
	s.pause()
	s.run(sec(5))
	assert.Equal(t, []string{"play@0", "pause@1"}, s.events(""), "at most one event a second, the latest wins")
	assert.Equal(t, "0.4", s.sent[1].field("position"), "played 0–0.2 and 0.4–0.6")
}

func TestSeekWhilePaused(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, true))
	s.play()
	s.run(sec(5))
	s.pause()
	s.run(sec(8))
	s.seek(100)
	s.run(sec(8.2))
	s.seek(120)
	s.run(sec(30))
	assert.Equal(t, []string{"play@0", "pause@5", "seeked@8.7"}, s.events(""))
	assert.Equal(t, "120", s.sent[2].field("position"))
	assert.Equal(t, "5", s.sent[2].field("watched"), "seeking adds nothing")
}

func TestReplayAfterEnded(t *testing.T) {
	s := newSim(t, 10, "", webhook("w", 6, true))
	s.play()
	s.run(sec(12))
	s.e.Ended(s.at(), s.media()) // a duplicate ended event
	s.run(sec(14))
	s.seek(0)
	s.play()
	s.run(sec(30))
	// The seek back and the play coalesce into the play.
	assert.Equal(t, []string{"play@0", "ended@10", "play@14", "ended@24"}, s.events(""), "ended once per reaching the end")
}

func TestDuplicatePlayKeepsOneClock(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, false))
	s.play()
	s.run(sec(5))
	s.play() // a second play event, or "playing" after a stall
	s.play()
	s.run(sec(25))
	assert.Equal(t, []string{"heartbeat@10", "heartbeat@20"}, s.events(""))
}

func TestBeaconRefusedGoesOnceByFetch(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 6, true))
	s.respond = func(Send) Result { return Result{Status: 500} }
	s.play()
	s.run(sec(3))
	s.pause()
	s.run(sec(5))
	s.sent = nil
	b := s.e.Hidden(s.at(), s.media())
	require.Empty(t, b, "paused with nothing waiting")
	s.play()
	s.run(sec(7))
	b = s.e.Hidden(s.at(), s.media())
	require.Len(t, b, 1)
	s.e.BeaconRefused(s.at(), b[0])
	s.run(sec(60))
	var fetches []string
	for _, f := range s.sent {
		if f.Event == EventHidden {
			fetches = append(fetches, f.String())
		}
	}
	assert.Equal(t, []string{"fetch w hidden@7s pos=5"}, fetches, "one fetch, no retry loop")
}

// A final send that would tell nothing new is skipped: a "leave" or
// "hidden" at the position of the last send, when that send arrived. The
// final position is never lost: a send in flight or failed does not count.
func TestFinalSendWithNothingNewSkipped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		dur     float64
		latency time.Duration
		respond func(Send) Result
		script  func(s *sim)
		want    []string
	}{
		{"paused, the pause arrived", 600, 0, nil, func(s *sim) {
			s.play()
			s.run(sec(12))
			s.pause()
			s.run(sec(20))
			s.hide() // paused, nothing waiting: nothing to send
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w heartbeat@10s pos=10", "fetch w pause@12s pos=12"}},
		{"leave right after hidden", 600, 0, nil, func(s *sim) {
			s.play()
			s.run(sec(12))
			s.hide()
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w heartbeat@10s pos=10", "beacon w hidden@12s pos=12"}},
		{"played on after hidden", 600, 0, nil, func(s *sim) {
			s.play()
			s.run(sec(12))
			s.hide()
			s.run(sec(15)) // audio plays on in the background
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w heartbeat@10s pos=10", "beacon w hidden@12s pos=12", "beacon w leave@15s pos=15"}},
		{"after ended", 8, 0, nil, func(s *sim) {
			s.play()
			s.run(sec(30))
			s.hide()
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w ended@8s pos=8"}},
		{"ended still in flight", 8, 5 * time.Second, nil, func(s *sim) {
			s.play()
			s.run(sec(10)) // "ended" went out at 8, its answer comes at 13
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w ended@8s pos=8", "beacon w leave@10s pos=8"}},
		{"ended refused", 8, 0, func(s Send) Result {
			if s.Event == EventEnded {
				return Result{Status: 404}
			}
			return Result{Status: 200}
		}, func(s *sim) {
			s.play()
			s.run(sec(30))
			s.leave()
		}, []string{"fetch w play@0s pos=0", "fetch w ended@8s pos=8", "beacon w leave@30s pos=8"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, tc.dur, "", webhook("w", 6, true))
			s.latency, s.respond = tc.latency, tc.respond
			tc.script(s)
			var got []string
			for _, f := range s.sent {
				got = append(got, f.String())
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func posInf() float64 { return math.Inf(1) }

// A failing endpoint gets its heartbeats on the heartbeat clock: retries do
// not restart it, and backoff (1 s, 2 s, 4 s) fits between two heartbeats.
// With jitter the third retry would come after the next heartbeat is due:
// the newer payload replaces it.
func TestRetriesKeepTheHeartbeatClock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter float64
		want   []string
	}{
		{"no jitter", 0, []string{
			"heartbeat@10#0", "heartbeat@11#1", "heartbeat@13#2", "heartbeat@17#3",
			"heartbeat@20#0", "heartbeat@21#1", "heartbeat@23#2", "heartbeat@27#3",
			"heartbeat@30#0", "heartbeat@31#1", "heartbeat@33#2", "heartbeat@37#3",
			"heartbeat@40#0"}},
		// Retries after 1.495 s and 2.99 s; the third would wait 5.98 s, to
		// 20.465 s, but the heartbeat due at 20 s replaces it.
		{"jitter", 0.99, []string{
			"heartbeat@10#0", "heartbeat@11.495#1", "heartbeat@14.485#2",
			"heartbeat@20#0", "heartbeat@21.495#1", "heartbeat@24.485#2",
			"heartbeat@30#0", "heartbeat@31.495#1", "heartbeat@34.485#2",
			"heartbeat@40#0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 600, "", webhook("w", 6, false))
			if tc.jitter != 0 {
				s.e.jitter = func() float64 { return tc.jitter }
			}
			s.respond = func(Send) Result { return Result{Status: 500} }
			s.play()
			s.run(sec(40.5))
			var got []string
			for _, f := range s.sent {
				got = append(got, fmt.Sprintf("%s@%s#%d", f.Event, FormatSeconds(f.at.Seconds()), f.Attempt))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// Seed mode flushes the last position on pause, as a heartbeat, when the last
// heartbeat is more than a second older than it (PROTOCOL.md §4).
func TestSeedModeFlushOnPause(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pauseAt float64
		want    []string
		lastPos string
	}{
		{"pause at 15", 15, []string{"heartbeat@10", "heartbeat@15"}, "15"},
		{"pause within a second of a heartbeat", 10.5, []string{"heartbeat@10"}, "10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, 600, "student=john_doe", webhook("w", 6, false))
			s.play()
			s.run(sec(tc.pauseAt))
			s.pause()
			s.run(sec(60))
			require.Equal(t, tc.want, s.events(""), "nothing more while paused\n%s", s.dump())
			last := s.sent[len(s.sent)-1]
			assert.Equal(t, []Field{{"uuid", "uuid-1234"}, {"position", tc.lastPos}, {"student_id", "john_doe"}}, last.Fields)
		})
	}
}

// Backoff is capped at the interval: at RPM 60 (1 s) with the largest
// jitter, retries come 1 s apart, not 1.495, 2.99 and 5.98 s. The media is
// paused right after the failed heartbeat, so no newer heartbeat replaces
// the retries and their timing shows.
func TestBackoffCappedAtInterval(t *testing.T) {
	s := newSim(t, 600, "", webhook("w", 60, false))
	s.e.jitter = func() float64 { return 0.99 }
	s.respond = func(Send) Result { return Result{Status: 503} }
	s.play()
	s.run(sec(1.2))
	s.pause() // within a second of the heartbeat: no seed-mode flush
	s.run(sec(30))
	var got []string
	for _, f := range s.sent {
		got = append(got, fmt.Sprintf("%s@%s#%d", f.Event, FormatSeconds(f.at.Seconds()), f.Attempt))
	}
	assert.Equal(t, []string{"heartbeat@1#0", "heartbeat@2#1", "heartbeat@3#2", "heartbeat@4#3"}, got)
}
