package pulse

import (
	"encoding/json"
	neturl "net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MustWebhook returns a valid webhook with the seed's example values.
func MustWebhook(tb testing.TB) *Webhook {
	tb.Helper()
	w := NewWebhook()
	w.URL = "https://api.my-school.com/video-tracking"
	w.RequestField, w.ResponseField = "student", "student_id"
	require.NoError(tb, w.Validate())
	return w
}

func TestWebhookValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(w *Webhook)
		field string // "" when valid
	}{
		{"seed example", func(w *Webhook) {}, ""},
		{"http accepted", func(w *Webhook) { w.URL = "http://lms.example/x" }, ""},
		{"port and query", func(w *Webhook) { w.URL = "https://lms.example:8443/x?k=v" }, ""},
		{"ipv6 host", func(w *Webhook) { w.URL = "https://[::1]:3000/x" }, ""},
		{"user_id request field", func(w *Webhook) { w.RequestField = "user_id" }, ""},
		{"dots and dashes", func(w *Webhook) { w.ResponseField = "a.b-c_D9" }, ""},
		{"rpm 1", func(w *Webhook) { w.RPM = 1 }, ""},
		{"rpm 60", func(w *Webhook) { w.RPM = 60 }, ""},
		{"name 120 runes", func(w *Webhook) { w.Name = strings.Repeat("é", 120) }, ""},
		{"empty url", func(w *Webhook) { w.URL = "" }, "url"},
		{"javascript url", func(w *Webhook) { w.URL = "javascript:alert(1)" }, "url"},
		{"data url", func(w *Webhook) { w.URL = "data:text/plain,hi" }, "url"},
		{"ftp url", func(w *Webhook) { w.URL = "ftp://files.example/x" }, "url"},
		{"relative url", func(w *Webhook) { w.URL = "/video-tracking" }, "url"},
		{"no host", func(w *Webhook) { w.URL = "https:///x" }, "url"},
		{"credentials", func(w *Webhook) { w.URL = "https://user:pass@lms.example/x" }, "url"},
		{"user only", func(w *Webhook) { w.URL = "https://user@lms.example/x" }, "url"},
		{"space", func(w *Webhook) { w.URL = "https://lms.example/a b" }, "url"},
		{"newline", func(w *Webhook) { w.URL = "https://lms.example/a\nb" }, "url"},
		{"fragment", func(w *Webhook) { w.URL = "https://lms.example/a#b" }, "url"},
		{"bad port", func(w *Webhook) { w.URL = "https://lms.example:99999/a" }, "url"},
		{"url too long", func(w *Webhook) { w.URL = "https://lms.example/" + strings.Repeat("a", 2048) }, "url"},
		{"empty request field", func(w *Webhook) { w.RequestField = "" }, "request_field"},
		{"request field space", func(w *Webhook) { w.RequestField = "stu dent" }, "request_field"},
		{"request field unicode", func(w *Webhook) { w.RequestField = "étudiant" }, "request_field"},
		{"request field too long", func(w *Webhook) { w.RequestField = strings.Repeat("a", 65) }, "request_field"},
		{"request field markup", func(w *Webhook) { w.RequestField = "<b>" }, "request_field"},
		{"empty response field", func(w *Webhook) { w.ResponseField = "" }, "response_field"},
		{"response field brackets", func(w *Webhook) { w.ResponseField = "a[b]" }, "response_field"},
		{"reserved uuid", func(w *Webhook) { w.ResponseField = "uuid" }, "response_field"},
		{"reserved position", func(w *Webhook) { w.ResponseField = "position" }, "response_field"},
		{"reserved token", func(w *Webhook) { w.ResponseField = "token" }, "response_field"},
		{"reserved session", func(w *Webhook) { w.ResponseField = "session" }, "response_field"},
		{"rpm 0", func(w *Webhook) { w.RPM = 0 }, "rpm"},
		{"rpm 61", func(w *Webhook) { w.RPM = 61 }, "rpm"},
		{"rpm -1", func(w *Webhook) { w.RPM = -1 }, "rpm"},
		{"name too long", func(w *Webhook) { w.Name = strings.Repeat("a", 121) }, "name"},
		{"name control", func(w *Webhook) { w.Name = "a\x00b" }, "name"},
		{"scope bad id", func(w *Webhook) { w.Scope.Media = []string{"../etc"} }, "scope"},
		{"scope duplicate", func(w *Webhook) { w.Scope.Media = []string{"a", "a"} }, "scope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := MustWebhook(t)
			tc.edit(w)
			err := w.Validate()
			if tc.field == "" {
				assert.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, EInvalid, e.Code)
			assert.Equal(t, tc.field, e.Field, e.Message)
		})
	}
}

func TestWebhookWarnings(t *testing.T) {
	w := MustWebhook(t)
	assert.Empty(t, w.Warnings())
	w.URL = "http://lms.example/x"
	assert.Len(t, w.Warnings(), 1)
	assert.Contains(t, w.Warnings()[0], "mixed content")
	w.URL = "http://127.0.0.1:3000/x"
	assert.Empty(t, w.Warnings(), "loopback is a secure context")
}

func TestScopeJSON(t *testing.T) {
	var s Scope
	require.NoError(t, json.Unmarshal([]byte(`"all"`), &s))
	assert.True(t, s.All())
	b, _ := json.Marshal(s)
	assert.Equal(t, `"all"`, string(b))

	require.NoError(t, json.Unmarshal([]byte(`["m1","m2"]`), &s))
	assert.Equal(t, []string{"m1", "m2"}, s.Media)
	assert.True(t, s.Covers("m2"))
	assert.False(t, s.Covers("m3"))
	b, _ = json.Marshal(s)
	assert.Equal(t, `["m1","m2"]`, string(b))

	for _, bad := range []string{`"some"`, `[]`, `3`, `null`, `{"a":1}`, `[1]`} {
		var s Scope
		assert.Error(t, json.Unmarshal([]byte(bad), &s), bad)
	}
}

func TestPlayerWebhooks(t *testing.T) {
	all := MustWebhook(t)
	inactive := MustWebhook(t)
	inactive.Active = false
	scoped := MustWebhook(t)
	scoped.Scope.Media = []string{"m1"}
	got := PlayerWebhooks([]*Webhook{all, inactive, scoped}, "m1")
	assert.Equal(t, []*Webhook{all, scoped}, got)
	got = PlayerWebhooks([]*Webhook{all, inactive, scoped}, "m2")
	assert.Equal(t, []*Webhook{all}, got)
}

func FuzzWebhookValidate(f *testing.F) {
	f.Add("https://a.example/x", "student", "student_id", 2, "name")
	f.Add("javascript:alert(1)", "a b", "uuid", 0, "\x00")
	f.Fuzz(func(t *testing.T, url, req, resp string, rpm int, name string) {
		w := &Webhook{URL: url, RequestField: req, ResponseField: resp, RPM: rpm, Name: name}
		err := w.Validate()
		if err == nil {
			// What passes must be safe to hand to every player.
			if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
				t.Fatalf("accepted non-http URL %q", url)
			}
			u, perr := neturl.Parse(url)
			if perr != nil || u.User != nil || u.Host == "" || rpm < 1 || rpm > 60 || req == "" || resp == "" {
				t.Fatalf("accepted %+v", w)
			}
			return
		}
		var e *Error
		if !asError(err, &e) || e.Field == "" || e.Code != EInvalid {
			t.Fatalf("error without a field: %v", err)
		}
	})
}

func asError(err error, e **Error) bool {
	v, ok := err.(*Error)
	*e = v
	return ok
}
