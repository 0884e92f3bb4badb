package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/postgres/pgtest"
)

// runEnv runs the program with environment variables.
func runEnv(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// Every command works on PostgreSQL, given PULSE_DATABASE_URL or
// --database-url; the data folder then holds media files only.
func TestCommandsOnPostgres(t *testing.T) {
	db := pgtest.DatabaseURL(t)
	data := t.TempDir()
	out, _, err := runEnv(t, map[string]string{"PULSE_DATABASE_URL": db}, "webhook", "add", "--data", data,
		"--url", "https://lms.example/t", "--request-field", "student", "--response-field", "student_id")
	require.NoError(t, err)
	id := strings.TrimSpace(out)

	out, _, err = runEnv(t, nil, "webhook", "list", "--data", data, "--database-url", db)
	require.NoError(t, err)
	assert.Contains(t, out, id)
	out, _, err = runEnv(t, nil, "media", "add", filepath.Join(mp3Dir(t), "mpeg2.mp3"), "--data", data, "--database-url", db)
	require.NoError(t, err)
	uuid := strings.TrimSpace(out)
	out, _, err = runEnv(t, map[string]string{"PULSE_DATABASE_URL": db}, "media", "list")
	require.NoError(t, err)
	assert.Contains(t, out, uuid)
	_, stderr, err := runEnv(t, map[string]string{"PULSE_DATABASE_URL": db}, "admin", "reset-password", "--user", "ops")
	require.NoError(t, err)
	assert.Contains(t, stderr, "admin ops created")

	_, err = os.Stat(filepath.Join(data, "pulse.db"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no SQLite database beside the media")
	files, _ := filepath.Glob(filepath.Join(data, "media", uuid+".*"))
	assert.Len(t, files, 1, "the media file is in the data folder")
}

func TestDatabaseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--database-max-conns", "0"}, "--database-max-conns must be a positive whole number"},
		{[]string{"--database-timeout", "5"}, "--database-timeout must be a duration"},
		{[]string{"--cache-ttl", "-1s"}, "--cache-ttl must be a duration"},
	} {
		_, _, err := runPulse(t, append([]string{"serve", "--data", t.TempDir()}, tc.args...)...)
		require.Error(t, err)
		assert.Equal(t, 2, exitCode(err))
		assert.Contains(t, err.Error(), tc.msg)
	}
	_, _, err := runEnv(t, map[string]string{"PULSE_DATABASE_URL": "postgres://pulse:s3cret@127.0.0.1:1/pulse?connect_timeout=2"},
		"webhook", "list", "--data", t.TempDir())
	require.Error(t, err, "nothing listens on port 1")
	assert.Contains(t, err.Error(), "postgres: connect to pulse@127.0.0.1:1/pulse")
	assert.NotContains(t, err.Error(), "s3cret")

	_, stderr, _ := runPulse(t, "serve", "--help")
	assert.Contains(t, stderr, "-database-url")
}
