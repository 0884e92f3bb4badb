package main

import (
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/keyring"
	"github.com/pulsehq/pulse/server/pulse"
)

// keyRows parses `pulse keys list`: kid → state.
func keyRows(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Regexp(t, `^KID +CREATED +STATE$`, lines[0])
	rows := map[string]string{}
	for _, l := range lines[1:] {
		f := regexp.MustCompile(`  +`).Split(l, 3)
		require.Len(t, f, 3, l)
		_, err := time.Parse(time.RFC3339, f[1])
		require.NoError(t, err, "CREATED of %q", l)
		rows[f[0]] = f[2]
	}
	return rows
}

func TestKeysRotateAndList(t *testing.T) {
	data := t.TempDir()
	out, _, err := runPulse(t, "keys", "list", "--data", data)
	require.NoError(t, err)
	assert.Empty(t, keyRows(t, out), "no key before the first start")

	out, _, err = runPulse(t, "keys", "rotate", "--data", data)
	require.NoError(t, err)
	first := strings.TrimSpace(out)
	assert.Regexp(t, `^k\d{8}-[0-9a-f]{18}$`, first)
	out, _, err = runPulse(t, "keys", "list", "--data", data)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{first: "signs"}, keyRows(t, out), "with no key, the first signs at once")

	before := time.Now().Truncate(time.Second)
	out, stderr, err := runPulse(t, "keys", "rotate", "--data", data)
	require.NoError(t, err)
	after := time.Now()
	next := strings.TrimSpace(out)
	assert.NotEqual(t, first, next)
	assert.Contains(t, stderr, "The new key is in the JWKS now")
	assert.Contains(t, stderr, "in "+keyring.PublishDelay.String())
	assert.Contains(t, stderr, "until then the current key signs")

	out, _, err = runPulse(t, "keys", "list", "--data", data)
	require.NoError(t, err)
	rows := keyRows(t, out)
	require.Len(t, rows, 2)
	m := regexp.MustCompile(`^next: signs from (\S+)$`).FindStringSubmatch(rows[next])
	require.NotNil(t, m, rows[next])
	due, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	assert.False(t, due.Before(before.Add(keyring.PublishDelay)), "due %v", due)
	assert.False(t, due.After(after.Add(keyring.PublishDelay)), "due %v", due)
	assert.Equal(t, "signs until "+m[1], rows[first], "the current key signs until the new one is due")

	_, _, err = runPulse(t, "keys", "rotate", "extra", "--data", data)
	assert.Equal(t, 2, exitCode(err))
	_, _, err = runPulse(t, "keys", "list", "extra", "--data", data)
	assert.Equal(t, 2, exitCode(err))
}

func TestKeyState(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	later := t0.Add(2 * time.Minute)
	for _, tc := range []struct {
		name string
		key  pulse.SigningKey
		want string
	}{
		{"signs", pulse.SigningKey{SignsFrom: t0}, "signs"},
		{"due", pulse.SigningKey{SignsFrom: later}, "next: signs from 2026-12-03T12:02:00Z"},
		{"until the next is due", pulse.SigningKey{SignsFrom: t0.Add(-time.Hour), RetiredAt: &later}, "signs until 2026-12-03T12:02:00Z"},
		{"retired", pulse.SigningKey{SignsFrom: t0.Add(-time.Hour), RetiredAt: &t0}, "retired 2026-12-03T12:00:00Z, in the JWKS until its tokens expire"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, keyState(&tc.key, t0))
		})
	}
}

// `pulse embedkey revoke` on a running server's data: links signed with
// the key stop opening a player, and the list says it is revoked.
func TestEmbedKeyRevoke(t *testing.T) {
	data := t.TempDir()
	out, _, err := runPulse(t, "media", "add", filepath.Join(mp3Dir(t), "mpeg2.mp3"), "--data", data)
	require.NoError(t, err)
	uuid := strings.TrimSpace(out)
	secret := filepath.Join(t.TempDir(), "lms.secret")
	out, _, err = runPulse(t, "embedkey", "add", "--name", "LMS", "--secret-file", secret, "--data", data)
	require.NoError(t, err)
	kid := strings.TrimSpace(out)
	s := serveIn(t, data, nil)

	out, _, err = runPulse(t, "link", "sign", "--kid", kid, "--secret-file", secret, s.url+"/v/"+uuid+"?student=john_doe")
	require.NoError(t, err)
	link := strings.TrimSpace(out)
	status := func() int {
		res, err := noKeepAlive.Get(link)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, status(), "the signed link opens a player")

	_, stderr, err := runPulse(t, "embedkey", "revoke", kid, "--data", data)
	require.NoError(t, err)
	assert.Contains(t, stderr, "revoked: links signed with "+kid+" no longer open a player")
	// The server drops its cached key when it sees the change (SQLite is
	// polled every 250 ms).
	require.Eventually(t, func() bool { return status() == http.StatusForbidden }, 5*time.Second, 50*time.Millisecond,
		"the revoked key's link is refused")

	out, _, err = runPulse(t, "embedkey", "list", "--data", data)
	require.NoError(t, err)
	assert.Regexp(t, kid+` +\S+ +revoked \d{4}-\d\d-\d\dT\S+ +LMS`, out)

	_, _, err = runPulse(t, "embedkey", "revoke", kid, "--data", data)
	assert.NoError(t, err, "revoking twice is not an error")
	_, _, err = runPulse(t, "embedkey", "revoke", "ek_nope", "--data", data)
	assert.ErrorContains(t, err, `embedkey revoke: no embed key "ek_nope"`)
	assert.Equal(t, 1, exitCode(err))
	_, _, err = runPulse(t, "embedkey", "revoke", "--data", data)
	assert.ErrorContains(t, err, "give exactly one KID")
	assert.Equal(t, 2, exitCode(err))
}

// The signing key exists once `pulse serve` has started, before any page
// load, and a restart keeps it.
func TestServeCreatesTheSigningKeyAtStart(t *testing.T) {
	data := t.TempDir()
	s := serveIn(t, data, nil, "--log-level", "info")
	out, _, err := runPulse(t, "keys", "list", "--data", data)
	require.NoError(t, err)
	rows := keyRows(t, out)
	require.Len(t, rows, 1, "the key is made at start")
	var kid string
	for k, state := range rows {
		kid = k
		assert.Equal(t, "signs", state)
	}
	assert.Regexp(t, `level=INFO msg="created the page-token signing key \(first start\); `+"`pulse keys rotate`"+` replaces it" kid=`+kid, s.errOut.String())
	res, err := noKeepAlive.Get(s.url + "/.well-known/jwks.json")
	require.NoError(t, err)
	res.Body.Close()

	s.stop()
	<-s.done
	s = serveIn(t, data, nil, "--log-level", "info")
	out, _, err = runPulse(t, "keys", "list", "--data", data)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{kid: "signs"}, keyRows(t, out), "a restart keeps the key")
	assert.NotContains(t, s.errOut.String(), "created the page-token signing key")
}
