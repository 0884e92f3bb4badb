package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/storetest"
)

// MustOpen opens a store in a temporary folder, closed when the test ends.
func MustOpen(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path)
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pulse.Store {
		return MustOpen(t, filepath.Join(t.TempDir(), "pulse.db"))
	})
}

func TestPersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	require.NoError(t, err)
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://a.example/x", "student", "student_id"
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	require.NoError(t, s.Close())

	s2 := MustOpen(t, path)
	got, err := s2.Webhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, w.URL, got.URL)
	var mode string
	require.NoError(t, s2.DB().QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pulse.db")
	s := MustOpen(t, path)
	_, err := s.DB().Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`)
	require.NoError(t, err)
	s.Close()
	_, err = Open(context.Background(), path)
	assert.ErrorContains(t, err, "newer than this binary")
}

// The database holds signing keys and embed-key secrets: owner only.
func TestDatabaseFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pulse.db")
	s := MustOpen(t, path)
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	s.Close()

	require.NoError(t, os.Chmod(path, 0o644)) // made by an older version
	MustOpen(t, path)
	st, _ = os.Stat(path)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}
