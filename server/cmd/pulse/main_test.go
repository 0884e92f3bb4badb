package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pulse runs the program in-process and returns stdout, stderr and the error.
func runPulse(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	err := run(context.Background(), args, env, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

func mp3Dir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("PULSE_MP3_DIR"); d != "" {
		return d
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hajimehoshi/go-mp3").Output()
	require.NoError(t, err)
	return filepath.Join(strings.TrimSpace(string(out)), "example")
}

func TestMediaAndWebhookCommands(t *testing.T) {
	data := t.TempDir()
	out, _, err := runPulse(t, "media", "add", filepath.Join(mp3Dir(t), "mpeg2.mp3"), "--title", "Alice", "--data", data)
	require.NoError(t, err)
	uuid := strings.TrimSpace(out)
	assert.Len(t, uuid, 36)

	out, _, err = runPulse(t, "media", "list", "--data", data)
	require.NoError(t, err)
	assert.Contains(t, out, uuid)
	assert.Contains(t, out, "Alice")
	assert.Contains(t, out, "75.0s")

	out, stderr, err := runPulse(t, "webhook", "add", "--data", data, "--url", "http://lms.example/t",
		"--request-field", "student", "--response-field", "student_id", "--rpm", "6", "--events=false")
	require.NoError(t, err)
	id := strings.TrimSpace(out)
	assert.True(t, strings.HasPrefix(id, "wh_"), id)
	assert.Contains(t, stderr, "mixed content", "http:// gets a warning")

	out, _, err = runPulse(t, "webhook", "list", "--data", data)
	require.NoError(t, err)
	assert.Contains(t, out, id)
	assert.Contains(t, out, "student→student_id")
}

func TestCommandErrors(t *testing.T) {
	data := t.TempDir()
	text := filepath.Join(data, "notes.mp3")
	require.NoError(t, os.WriteFile(text, []byte("just text"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, 2, "no command"},
		{"unknown", []string{"frobnicate"}, 2, "unknown command"},
		{"webhook bad url", []string{"webhook", "add", "--url", "javascript:alert(1)", "--request-field", "s", "--response-field", "r"}, 2, "--url must start with"},
		{"webhook reserved", []string{"webhook", "add", "--url", "https://a.example", "--request-field", "s", "--response-field", "uuid"}, 2, "reserved"},
		{"webhook rpm", []string{"webhook", "add", "--url", "https://a.example", "--request-field", "s", "--response-field", "r", "--rpm", "61"}, 2, "--rpm must be 1-60"},
		{"webhook rpm not a number", []string{"webhook", "add", "--url", "https://a.example", "--rpm", "two"}, 2, "invalid value"},
		{"media add text", []string{"media", "add", text}, 1, "unsupported or unrecognised file type"},
		{"media add missing", []string{"media", "add", filepath.Join(data, "nope.mp3")}, 1, "no such file"},
		{"media add no file", []string{"media", "add"}, 2, "exactly one FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if len(args) > 0 {
				args = append(args, "--data", data)
			}
			_, _, err := runPulse(t, args...)
			require.Error(t, err)
			assert.Equal(t, tc.code, exitCode(err))
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	out, _, _ := runPulse(t, "media", "list", "--data", data)
	assert.Equal(t, 1, strings.Count(out, "\n"), "nothing was imported: %s", out)
	entries, _ := os.ReadDir(filepath.Join(data, "media"))
	assert.Empty(t, entries, "no partial file left behind")
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"serve", "--help"}, {"media", "add", "--help"}, {"webhook", "add", "-h"}, {"media", "--help"}} {
		_, stderr, err := runPulse(t, args...)
		assert.True(t, errors.Is(err, flag.ErrHelp), "%v: %v", args, err)
		assert.Equal(t, 0, exitCode(err))
		assert.Contains(t, stderr, "Usage", args)
	}
}

func TestWebhookAddRespectsLimit(t *testing.T) {
	data := t.TempDir()
	add := func() error {
		_, _, err := runPulse(t, "webhook", "add", "--data", data, "--url", "https://a.example/x",
			"--request-field", "student", "--response-field", "student_id", "--max-webhooks", "2")
		return err
	}
	require.NoError(t, add())
	require.NoError(t, add())
	err := add()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "limit of 2 webhooks")
}

func TestCLIRefusesBadInput(t *testing.T) {
	data := t.TempDir()
	existing := filepath.Join(data, "existing.secret")
	require.NoError(t, os.WriteFile(existing, []byte("another key's secret\n"), 0o644))
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"secret file exists", []string{"embedkey", "add", "--name", "x", "--secret-file", existing}, "must not exist yet"},
		{"scope names no media", []string{"webhook", "add", "--url", "https://a.example/x", "--request-field", "s", "--response-field", "r", "--scope", "nope"}, "no media"},
		{"media add a folder", []string{"media", "add", data}, "is not a file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runPulse(t, append(tc.args, "--data", data)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
	b, _ := os.ReadFile(existing)
	assert.Equal(t, "another key's secret\n", string(b), "nothing overwritten")
	keys, _, _ := runPulse(t, "embedkey", "list", "--data", data)
	assert.Equal(t, 1, strings.Count(keys, "\n"), "no key made: %s", keys)

	secret := filepath.Join(data, "new.secret")
	out, _, err := runPulse(t, "embedkey", "add", "--name", "LMS", "--secret-file", secret, "--data", data)
	require.NoError(t, err)
	st, err := os.Stat(secret)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	kid := strings.TrimSpace(out)
	for _, bad := range []string{"not a url", "ftp://h/v/x", "/v/x", "https://pulse.example/admin"} {
		_, _, err := runPulse(t, "link", "sign", "--kid", kid, "--secret-file", secret, bad)
		assert.ErrorContains(t, err, "not a player URL", bad)
	}
	out, _, err = runPulse(t, "link", "sign", "--kid", kid, "--secret-file", secret, "https://pulse.example/v/abc?student=x")
	require.NoError(t, err)
	assert.Contains(t, out, "sig=")
}
