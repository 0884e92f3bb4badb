package token

import (
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/wasm/heartbeat"
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
	}{
		{"sorted, sig left out", "student=john_doe&kid=k1&exp=1800000000&sig=abc", "/v/u?exp=1800000000&kid=k1&student=john_doe"},
		{"reordered gives the same", "kid=k1&student=john_doe&exp=1800000000", "/v/u?exp=1800000000&kid=k1&student=john_doe"},
		{"repeated keep their order", "b=2&a=x&b=1", "/v/u?a=x&b=2&b=1"},
		{"percent-encoding normalised", "name=J%c3%b6rg+M&x=%41", "/v/u?name=J%C3%B6rg%20M&x=A"},
		{"reserved characters escaped", "q=a/b?c&d=!'()*~", "/v/u?d=%21%27%28%29%2A~&q=a%2Fb%3Fc"},
		{"empty value", "a=", "/v/u?a="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			assert.Equal(t, tc.want, Canonical("/v/u", q))
		})
	}
}

func TestSignedLinks(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	keys := func(kid string) ([]byte, bool) {
		if kid == "k1" {
			return secret, true
		}
		return nil, false
	}
	exp := now.Add(time.Hour)
	signed, err := SignLink("https://pulse.example/v/uuid-1234?student=john_doe&t=30", "k1", secret, exp)
	require.NoError(t, err)

	check := func(raw string, at time.Time) (bool, error) {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		return VerifyLink(u.EscapedPath(), u.RawQuery, keys, at)
	}
	ok, err := check(signed, now)
	require.NoError(t, err)
	assert.True(t, ok)

	u, _ := url.Parse(signed)
	q := u.Query()

	// The same parameters in another order and encoding still verify.
	reordered := "https://pulse.example/v/uuid-1234?sig=" + q.Get("sig") + "&t=30&exp=" + q.Get("exp") + "&kid=k1&student=john%5Fdoe"
	ok, err = check(reordered, now)
	require.NoError(t, err)
	assert.True(t, ok, "order and percent-encoding do not matter")

	ok, err = check("https://pulse.example/v/uuid-1234?student=john_doe", now)
	assert.NoError(t, err)
	assert.False(t, ok, "an unsigned link is not verified, and not an error")

	for _, tc := range []struct {
		name string
		edit func(q url.Values)
		at   time.Time
		want error
	}{
		{"other student", func(q url.Values) { q.Set("student", "jane") }, now, ErrLinkSignature},
		{"added parameter", func(q url.Values) { q.Add("student", "jane") }, now, ErrLinkSignature},
		{"longer expiry", func(q url.Values) { q.Set("exp", "9999999999") }, now, ErrLinkSignature},
		{"expired", func(q url.Values) {}, exp, ErrLinkExpired},
		{"unknown key", func(q url.Values) { q.Set("kid", "k2") }, now, ErrLinkKey},
		{"no kid", func(q url.Values) { q.Del("kid") }, now, ErrLinkIncomplete},
		{"no exp", func(q url.Values) { q.Del("exp") }, now, ErrLinkIncomplete},
		{"bad exp", func(q url.Values) { q.Set("exp", "soon") }, now, ErrLinkIncomplete},
		{"two sigs", func(q url.Values) { q.Add("sig", "x") }, now, ErrLinkIncomplete},
		{"garbage sig", func(q url.Values) { q.Set("sig", "!!!") }, now, ErrLinkSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := u.Query()
			tc.edit(q)
			ok, err := VerifyLink(u.EscapedPath(), q.Encode(), keys, tc.at)
			assert.False(t, ok)
			assert.ErrorIs(t, err, tc.want)
		})
	}

	// Another path (another media) with the same query fails.
	ok, err = VerifyLink("/v/other", u.RawQuery, keys, now)
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrLinkSignature)

	// A wrong secret for the same kid fails.
	ok, err = VerifyLink(u.EscapedPath(), u.RawQuery, func(string) ([]byte, bool) { return []byte("wrong"), true }, now)
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrLinkSignature)
}

// A signature covers what the page and the player read: a signed link
// whose query one parser reads differently from another (Go's url.Query
// drops parameters with ";" or a bad "%", the player keeps them) is
// refused, whatever was prefixed or appended to a valid one.
func TestSignedLinkQueryMustBeWellFormed(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	keys := func(kid string) ([]byte, bool) { return secret, kid == "k1" }
	signed, err := SignLink("https://pulse.example/v/uuid-1234?student=john_doe", "k1", secret, now.Add(time.Hour))
	require.NoError(t, err)
	u, err := url.Parse(signed)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, raw string
		goDrops   bool // url.ParseQuery silently drops a parameter of it
	}{
		{"semicolon in a prefixed value", "student=jane;&" + u.RawQuery, true},
		{"bad escape in a prefixed value", "student=jane%zz&" + u.RawQuery, true},
		{"bad escape at the end of a value", "student=jane%2&" + u.RawQuery, true},
		{"semicolon in a name", "stu;dent=jane&" + u.RawQuery, true},
		{"appended", u.RawQuery + "&student=jane;", true},
		{"semicolon inside sig", strings.Replace(u.RawQuery, "sig=", "sig=;", 1), true},
		{"not UTF-8", "student=%FF&" + u.RawQuery, false},
		{"second question mark", "?" + u.RawQuery, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := url.ParseQuery(tc.raw); tc.goDrops {
				require.Error(t, err, "url.ParseQuery drops a parameter of %q", tc.raw)
			}
			ok, err := VerifyLink(u.EscapedPath(), tc.raw, keys, now)
			assert.False(t, ok)
			assert.ErrorIs(t, err, ErrLinkMalformed)
		})
	}

	ok, err := VerifyLink(u.EscapedPath(), "student=jane;&t=1", keys, now)
	assert.NoError(t, err, "an unsigned link with odd parameters is not an error")
	assert.False(t, ok, "and it is not verified")

	_, err = SignLink("https://pulse.example/v/uuid-1234?student=john;doe", "k1", secret, now.Add(time.Hour))
	assert.ErrorIs(t, err, ErrLinkMalformed, "SignLink does not sign what it would silently drop")
}

// On every query ParseQuery accepts, the player's parser reads the same
// parameters, so a verified signature covers what the page token says.
func TestParseQueryAgreesWithThePlayer(t *testing.T) {
	for _, raw := range []string{
		"student=john_doe",
		"student=J%C3%B6rg+M%C3%BCller&course=c1&course=c0",
		"b=2&a=x&b=1&&c",
		"name=a%2Fb%21%27%28%29%2A~&z=&=v&a=%3B%25",
		"%73tudent=x&student=y",
		"q=%E2%82%AC+%F0%9F%8E%B5",
	} {
		t.Run(raw, func(t *testing.T) {
			q, err := ParseQuery(raw)
			require.NoError(t, err)
			agreeWithPlayer(t, raw, q)
		})
	}
}

func agreeWithPlayer(t *testing.T, raw string, q url.Values) {
	t.Helper()
	player := heartbeat.ParseQuery(raw)
	for name, values := range q {
		got, ok := player.Get(name)
		assert.True(t, ok, "the player sees %q in %q", name, raw)
		assert.Equal(t, values[0], got, "the player's %s in %q", name, raw)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"student=john_doe", "a=1;b=2", "a=%zz&b=%41", "a=%FF", "x+y=%2B&x y=1", "=&&=a", "?", "??a=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := ParseQuery(raw)
		if err != nil {
			return
		}
		if std, err := url.ParseQuery(raw); assert.NoError(t, err, "url.ParseQuery accepts %q too", raw) {
			assert.Equal(t, std, q, "url.ParseQuery reads %q the same", raw)
		}
		agreeWithPlayer(t, raw, q)
	})
}

// The README's Node.js signing code (scripts/examples/sign-link.js) makes
// links that Go verifies.
func TestNodeSignedLinks(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("PULSE_REQUIRE_E2E") != "" {
			t.Fatal("node is needed (make test installs it)")
		}
		t.Skip("no node")
	}
	secret := "k9r2mZ1Qx8vQ3a7Hc0pLwE5tY6uI4oP2sD1fG8hJ3kL"
	for _, raw := range []string{
		"https://pulse.example/v/uuid-1234?student=john_doe",
		"https://pulse.example/v/uuid-1234?student=J%C3%B6rg+M%C3%BCller&course=c1&course=c0&t=30",
		"https://pulse.example/v/uuid-1234?name=a%2Fb%21%27%28%29%2A~&z=&a=1",
		// URLSearchParams keeps ";" and a stray "%" as characters and
		// escapes them: the signed URL is well formed.
		"https://pulse.example/v/uuid-1234?student=jane;doe&x=100%zz",
	} {
		out, err := exec.Command(node, "../../scripts/examples/sign-link.js", "ek_1", secret, raw, "600").CombinedOutput()
		require.NoError(t, err, string(out))
		u, err := url.Parse(strings.TrimSpace(string(out)))
		require.NoError(t, err)
		ok, err := VerifyLink(u.EscapedPath(), u.RawQuery, func(kid string) ([]byte, bool) { return []byte(secret), kid == "ek_1" }, time.Now())
		assert.NoError(t, err, raw)
		assert.True(t, ok, raw)
	}
}
