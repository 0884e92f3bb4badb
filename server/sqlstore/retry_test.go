package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/postgres"
	"github.com/pulsehq/pulse/server/postgres/pgtest"
	"github.com/pulsehq/pulse/server/pulse"
)

// A read whose connection the server ended (pg_terminate_backend, as a
// failover or an idle-connection reaper does) is tried once more on a new
// connection: the caller sees no error. Without the retry it fails, as
// the raw query shows.
func TestReadRetriedOnLostConnection(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	ctx := context.Background()
	// One connection in the pool: the reads reuse the one that is killed.
	s, err := postgres.Open(ctx, url, postgres.Options{MaxConns: 1})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://lms.example/t", "student", "student_id"
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	admin := pgtest.Conn(t, url)

	// kill ends the backend of the pooled connection and waits until it is
	// gone. pgx pings a reused connection (and replaces a dead one by
	// itself) only when it was last checked more than a second ago: the
	// connection is reused twice here, so that it was checked just now and
	// the next read goes to the dead connection.
	kill := func() {
		t.Helper()
		_, err := s.DB().ExecContext(ctx, `SELECT 1`)
		require.NoError(t, err)
		var pid int
		require.NoError(t, s.DB().QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid))
		var ok bool
		require.NoError(t, admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok))
		require.True(t, ok)
		require.Eventually(t, func() bool {
			var n int
			require.NoError(t, admin.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n))
			return n == 0
		}, 5*time.Second, 5*time.Millisecond)
	}

	kill()
	var n int
	err = s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM webhooks`).Scan(&n)
	require.Error(t, err, "a read on the lost connection fails without a retry")
	assert.True(t, postgres.Unavailable(err), "%v", err)

	kill()
	got, err := s.Webhooks(ctx)
	require.NoError(t, err, "the store tries the read again on a new connection")
	require.Len(t, got, 1)
	assert.Equal(t, w.ID, got[0].ID)

	kill()
	one, err := s.Webhook(ctx, w.ID)
	require.NoError(t, err, "single-row reads too")
	assert.Equal(t, w.ID, one.ID)
}
