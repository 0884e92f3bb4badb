package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/sqlite"
)

func TestParseFrameAncestors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "*"},
		{"  ", "*"},
		{"*", "*"},
		{"'self'", "'self'"},
		{"'SELF'", "'self'"},
		{"'none'", "'none'"},
		{" 'None' ", "'none'"},
		{"https:", "https:"},
		{"https://lms.example.edu", "https://lms.example.edu"},
		{"https://*.example.edu:443", "https://*.example.edu:443"},
		{"http://lms.example:*", "http://lms.example:*"},
		{"lms.example.edu", "lms.example.edu"},
		{"lms.example.edu:8443", "lms.example.edu:8443"},
		{"*.example.edu", "*.example.edu"},
		{"https://lms.example.edu/courses/", "https://lms.example.edu/courses/"},
		{"https://lms.example.edu.", "https://lms.example.edu."},
		{"https://xn--bcher-kva.example", "https://xn--bcher-kva.example"},
		{"'self'   https://a.example\thttps://b.example", "'self' https://a.example https://b.example"},
	} {
		got, err := ParseFrameAncestors(tc.in)
		require.NoError(t, err, "ParseFrameAncestors(%q)", tc.in)
		assert.Equal(t, tc.want, got, "ParseFrameAncestors(%q)", tc.in)
	}
	for _, tc := range []struct{ in, msg string }{
		{"https://lms.example; script-src *", "may not contain ';'"},
		{"'none'; report-uri https://evil.example", "may not contain ';'"},
		{"https://a.example, https://b.example", "may not contain ','"},
		{"https://a.example\x00", "control character"},
		{"https://a.example\x1b[31m", "control character"},
		{"https://a.example\x7f", "control character"},
		{"https://bücher.example", "non-ASCII"},
		{"'none' 'self'", "'none' must stand alone"},
		{"https://a.example 'none'", "'none' must stand alone"},
		{"'unsafe-inline'", "keywords are 'self' and 'none'"},
		{"'self", "keywords"},
		{"self", ""}, // a host named self is fine…
		{"https://", "no host"},
		{"*.", "no host"},
		{"https://a..example", "empty label"},
		{"https://a_b.example", "letters, digits"},
		{"https://[::1]", "letters, digits"},
		{"https://a.example:port", "port must be digits"},
		{"https://a.example:", "port must be digits"},
		{"https://a.example//x", "may not start with //"},
		{"https://a.example/x?y=1", `may not contain '?'`},
		{"https://a.example/x#y", `may not contain '#'`},
		{"https://a.example/<x>", `may not contain '<'`},
		{"https://*a.example", "letters, digits"},
		{"http:a.example", "port must be digits"},
	} {
		got, err := ParseFrameAncestors(tc.in)
		if tc.msg == "" {
			assert.NoError(t, err, "ParseFrameAncestors(%q)", tc.in)
			continue
		}
		require.Error(t, err, "ParseFrameAncestors(%q) = %q", tc.in, got)
		assert.Contains(t, err.Error(), tc.msg, "ParseFrameAncestors(%q)", tc.in)
		assert.True(t, strings.HasPrefix(err.Error(), "api: frame-ancestors: "), err.Error())
	}
}

func TestFrameAncestorsInPlayerCSP(t *testing.T) {
	newServer := func(t *testing.T, frameAncestors string) (*fixture, error) {
		dir := t.TempDir()
		store, err := sqlite.Open(context.Background(), filepath.Join(dir, "pulse.db"))
		require.NoError(t, err)
		t.Cleanup(func() { store.Close() })
		s, err := New(Config{MediaDir: dir, FrameAncestors: frameAncestors}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return nil, err
		}
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return &fixture{srv: srv, store: store, dir: dir}, nil
	}
	for _, tc := range []struct{ set, csp, xfo string }{
		{"'self'  https://lms.example.edu", "frame-ancestors 'self' https://lms.example.edu", ""},
		{"'NONE'", "frame-ancestors 'none'", "DENY"},
		{"", "frame-ancestors *", ""},
	} {
		t.Run(tc.set, func(t *testing.T) {
			f, err := newServer(t, tc.set)
			require.NoError(t, err)
			m := f.media(t, "Lecture", []byte("x"))
			res, _ := get(t, f.srv.URL+"/v/"+m.UUID)
			require.Equal(t, http.StatusOK, res.StatusCode)
			csp := res.Header.Get("Content-Security-Policy")
			assert.True(t, strings.HasSuffix(csp, "; "+tc.csp), csp)
			assert.Equal(t, tc.xfo, res.Header.Get("X-Frame-Options"))
		})
	}
	_, err := newServer(t, "https://lms.example; script-src 'unsafe-inline'")
	assert.ErrorContains(t, err, "frame-ancestors", "New refuses a list that would add a directive")
}
