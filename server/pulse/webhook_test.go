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
		{"port 0", func(w *Webhook) { w.URL = "https://lms.example:00/a" }, "url"},
		{"port with a leading zero", func(w *Webhook) { w.URL = "https://lms.example:0443/a" }, ""},
		{"empty port", func(w *Webhook) { w.URL = "https://a.example:/x" }, "url"},
		{"empty port, no path", func(w *Webhook) { w.URL = "https://a.example:" }, "url"},
		{"host a hyphen", func(w *Webhook) { w.URL = "https://-/x" }, "url"},
		{"label starting with a hyphen", func(w *Webhook) { w.URL = "https://-a.example/x" }, "url"},
		{"label ending with a hyphen", func(w *Webhook) { w.URL = "https://a-.example/x" }, "url"},
		{"empty label", func(w *Webhook) { w.URL = "https://a..example/x" }, "url"},
		{"label too long", func(w *Webhook) { w.URL = "https://" + strings.Repeat("a", 64) + ".example/x" }, "url"},
		{"host too long", func(w *Webhook) { w.URL = "https://" + strings.Repeat("abcdefgh.", 29) + "example/x" }, "url"},
		{"host with a bang", func(w *Webhook) { w.URL = "https://a!b.example/x" }, "url"},
		{"non-ASCII host", func(w *Webhook) { w.URL = "https://bücher.example/x" }, "url"},
		{"percent-encoded non-ASCII host", func(w *Webhook) { w.URL = "https://b%C3%BCcher.example/x" }, "url"},
		{"punycode host", func(w *Webhook) { w.URL = "https://xn--bcher-kva.example/x" }, ""},
		{"underscore in a host", func(w *Webhook) { w.URL = "https://a_b.example/x" }, ""},
		{"fully qualified host", func(w *Webhook) { w.URL = "https://lms.example./x" }, ""},
		{"single-label host", func(w *Webhook) { w.URL = "http://receiver:8080/x" }, ""},
		{"ipv4 host", func(w *Webhook) { w.URL = "http://192.0.2.1/x" }, ""},
		{"short ipv4 form", func(w *Webhook) { w.URL = "http://127.1/x" }, "url"},
		{"hex ipv4 form", func(w *Webhook) { w.URL = "http://0x7f.1/x" }, "url"},
		{"octal-looking ipv4", func(w *Webhook) { w.URL = "http://127.000.0.1/x" }, "url"},
		{"five numbers", func(w *Webhook) { w.URL = "https://1.2.3.4.5/x" }, "url"},
		{"ipv4 over 255", func(w *Webhook) { w.URL = "https://1.2.3.256/x" }, "url"},
		{"ipv4 in brackets", func(w *Webhook) { w.URL = "https://[127.0.0.1]/x" }, "url"},
		{"ipv6 zone", func(w *Webhook) { w.URL = "https://[fe80::1%25eth0]/x" }, "url"},
		{"name ending in digits is fine", func(w *Webhook) { w.URL = "https://host1.example/x" }, ""},
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
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1.evil.example/x", true},
		{"http://127.example/x", true},
		{"http://localhost.evil.example/x", true},
		{"http://127.255.0.9/x", false},
		{"http://[::1]:3000/x", false},
		{"http://localhost:8080/x", false},
		{"http://LocalHost/x", false},
		{"http://receiver.localhost/x", false},
		{"http://10.0.0.1/x", true},
		{"http://[::2]/x", true},
		{"https://127.0.0.1.evil.example/x", false},
	} {
		w.URL = tc.url
		assert.Equal(t, tc.warn, len(w.Warnings()) > 0, "Warnings(%q)", tc.url)
	}
}

// TestOrigin: origins as Chromium's new URL(u).origin writes them (each
// expected value was checked in Chromium).
func TestOrigin(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://A.Example:443/x", "https://a.example"},
		{"HTTPS://A.EXAMPLE/x?y=Z", "https://a.example"},
		{"http://a.example:80/x", "http://a.example"},
		{"https://a.example:80/x", "https://a.example:80"},
		{"http://a.example:443", "http://a.example:443"},
		{"https://a.example:0443/", "https://a.example"},
		{"https://a.example:8443/", "https://a.example:8443"},
		{"https://[::1]:443/", "https://[::1]"},
		{"https://[0:0:0:0:0:0:0:1]:3000/", "https://[::1]:3000"},
		{"https://[2001:DB8:0:0:1:0:0:1]/", "https://[2001:db8::1:0:0:1]"},
		{"https://[2001:db8:0:0:0:0:2:1]/", "https://[2001:db8::2:1]"},
		{"https://[2001:db8::]/", "https://[2001:db8::]"},
		{"https://[1:0:0:2:0:0:0:3]/", "https://[1:0:0:2::3]"},
		{"https://[1:2:3:4:5:6:7:8]/", "https://[1:2:3:4:5:6:7:8]"},
		{"https://[1:0:2:3:4:5:6:7]/", "https://[1:0:2:3:4:5:6:7]"},
		{"https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]"},
		{"https://example.com./", "https://example.com."},
		{"https://a_b.example/", "https://a_b.example"},
		{"http://127.0.0.1:8080/hook", "http://127.0.0.1:8080"},
		// Refused: no origin.
		{"https://bücher.example/x", ""},
		{"https://a.example:/x", ""},
		{"https://ex%41mple.com/", ""}, // Go's url.Parse refuses escaped ASCII in a host
		{"javascript:alert(1)", ""},
	} {
		got, err := Origin(tc.url)
		if tc.want == "" {
			assert.Error(t, err, "Origin(%q)", tc.url)
			continue
		}
		require.NoError(t, err, tc.url)
		assert.Equal(t, tc.want, got, "Origin(%q)", tc.url)
	}
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
	f.Add("HTTPS://[::ffff:127.0.0.1]:0443/x", "student", "student_id", 2, "")
	f.Add("http://127.0.0.1.evil.example:/x", "student", "student_id", 2, "")
	f.Fuzz(func(t *testing.T, url, req, resp string, rpm int, name string) {
		w := &Webhook{URL: url, RequestField: req, ResponseField: resp, RPM: rpm, Name: name}
		err := w.Validate()
		if err == nil {
			// What passes must be safe to hand to every player.
			if l := strings.ToLower(url); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
				t.Fatalf("accepted non-http URL %q", url)
			}
			u, perr := neturl.Parse(url)
			if perr != nil || u.User != nil || u.Host == "" || rpm < 1 || rpm > 60 || req == "" || resp == "" {
				t.Fatalf("accepted %+v", w)
			}
			o, err := Origin(url)
			_, host, _ := strings.Cut(o, "://")
			if err != nil || host == "" || strings.ContainsAny(host, "/?#@ ") {
				t.Fatalf("Origin(%q) = %q, %v", url, o, err)
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
