package heartbeat

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFormatSeconds(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{15.4, "15.4"},
		{30, "30"},
		{0.125, "0.125"},
		{0.1 + 0.2, "0.3"},
		{15.39999999, "15.4"},
		{1.0006, "1.001"},
		{0.0004, "0"},
		{1e21, "1000000000000000000000"},
		{1e-7, "0"},
		{-3, "0"},
		{math.NaN(), "0"},
		{math.Inf(1), "0"},
		{math.Inf(-1), "0"},
		{math.Copysign(0, -1), "0"},
	} {
		assert.Equal(t, tc.want, FormatSeconds(tc.in), "FormatSeconds(%v)", tc.in)
	}
}

func TestFormatRatio(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{20.0 / 600, "0.0333"},
		{1, "1"},
		{1.2, "1"},
		{0.99999, "1"},
		{0.5, "0.5"},
		{math.NaN(), "0"},
	} {
		assert.Equal(t, tc.want, FormatRatio(tc.in), "FormatRatio(%v)", tc.in)
	}
}

func TestParseQuery(t *testing.T) {
	long := strings.Repeat("a", 10*1024)
	for _, tc := range []struct {
		name, raw, key string
		want           string
		present        bool
	}{
		{"plain", "?student=john_doe", "student", "john_doe", true},
		{"no question mark", "student=john_doe", "student", "john_doe", true},
		{"repeated: first wins", "?student=a&student=b", "student", "a", true},
		{"percent-encoded", "?student=j%C3%B6rg%20m%26m", "student", "jörg m&m", true},
		{"plus is space", "?student=john+doe", "student", "john doe", true},
		{"encoded plus", "?student=a%2Bb", "student", "a+b", true},
		{"unicode as is", "?student=学生", "student", "学生", true},
		{"markup is a string", "?student=%3Cscript%3Ealert(1)%3C/script%3E", "student", "<script>alert(1)</script>", true},
		{"quotes", "?student=%22%27%60", "student", "\"'`", true},
		{"10 KB", "?student=" + long, "student", long, true},
		{"bad escape kept", "?student=100%zz", "student", "100%zz", true},
		{"truncated escape kept", "?student=100%2", "student", "100%2", true},
		{"invalid utf-8 replaced", "?student=%FF%FE", "student", "\uFFFD\uFFFD", true},
		{"cut sequence is one replacement", "?student=%E0%A4%A", "student", "\uFFFD%A", true},
		{"cut 4-byte sequence", "?student=%F0%9F%8E", "student", "\uFFFD", true},
		{"surrogate", "?student=%ED%A0%80x", "student", "\uFFFD\uFFFD\uFFFDx", true},
		{"overlong", "?student=%C0%AF", "student", "\uFFFD\uFFFD", true},
		{"nul byte", "?student=a%00b", "student", "a\x00b", true},
		{"empty value", "?student=", "student", "", true},
		{"no equals", "?student", "student", "", true},
		{"absent", "?other=1", "student", "", false},
		{"encoded name", "?stud%65nt=x", "student", "x", true},
		{"case matters", "?Student=x", "student", "", false},
		{"empty pairs skipped", "?&&student=x&", "student", "x", true},
		{"equals in value", "?student=a=b", "student", "a=b", true},
		{"hash is not part", "?student=a%23b", "student", "a#b", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseQuery(tc.raw).Get(tc.key)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.present, ok)
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	f.Add("student=john_doe&x=%zz")
	f.Add("a=%FF%2")
	f.Fuzz(func(t *testing.T, raw string) {
		q := ParseQuery(raw)
		for _, p := range q.pairs {
			if !utf8Valid(p[0]) || !utf8Valid(p[1]) {
				t.Fatalf("ParseQuery(%q) gave invalid UTF-8 %q", raw, p)
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestWatched(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(sec(s)) }
	type op struct {
		kind string // start, update, stop, seek
		t    float64
		pos  float64
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want float64
	}{
		{"nothing", nil, 0},
		{"straight", []op{{"start", 0, 0}, {"update", 10, 10}, {"stop", 12, 12}}, 12},
		{"open range counts", []op{{"start", 0, 0}, {"update", 10, 10}}, 10},
		{"replay adds nothing", []op{{"start", 0, 0}, {"stop", 10, 10}, {"start", 20, 0}, {"stop", 30, 10}}, 10},
		{"replay overlapping", []op{{"start", 0, 0}, {"stop", 10, 10}, {"start", 20, 5}, {"stop", 30, 15}}, 15},
		{"seek forward adds nothing", []op{{"start", 0, 0}, {"update", 10, 10}, {"seek", 10, 590}, {"start", 10, 590}, {"stop", 20, 600}}, 20},
		{"seek back over open range", []op{{"start", 0, 0}, {"update", 30, 30}, {"seek", 30, 10}, {"start", 30, 10}, {"update", 40, 20}}, 30},
		{"unreported jump forward", []op{{"start", 0, 0}, {"update", 1, 1}, {"update", 1.25, 300}, {"update", 2.25, 301}}, 2},
		{"unreported jump back", []op{{"start", 0, 0}, {"update", 10, 10}, {"update", 10.25, 2}, {"update", 12.25, 4}}, 10},
		{"fast playback counts", []op{{"start", 0, 0}, {"update", 1, 2}, {"update", 2, 4}}, 4},
		{"stop with earlier pos keeps range", []op{{"start", 0, 0}, {"update", 10, 10}, {"stop", 10, 9.99}}, 10},
		{"disjoint", []op{{"start", 0, 0}, {"stop", 5, 5}, {"start", 5, 100}, {"stop", 10, 105}}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Watched
			for _, o := range tc.ops {
				switch o.kind {
				case "start":
					w.Start(at(o.t), o.pos)
				case "update":
					w.Update(at(o.t), o.pos)
				case "stop":
					w.Stop(at(o.t), o.pos)
				case "seek":
					w.Stop(at(o.t), -1)
				}
			}
			assert.InDelta(t, tc.want, w.Seconds(), 1e-9)
			for _, r := range w.done {
				assert.LessOrEqual(t, r.start, r.end, "a range never ends before it starts")
			}
		})
	}
}
