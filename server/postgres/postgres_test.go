package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/postgres/pgtest"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlstore"
	"github.com/pulsehq/pulse/server/storetest"
)

// MustOpen opens a store on url, closed when the test ends.
func MustOpen(tb testing.TB, url string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), url, Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pulse.Store {
		return MustOpen(t, pgtest.DatabaseURL(t))
	})
}

func TestSchema(t *testing.T) {
	got := Schema(`CREATE TABLE media (
		size     INTEGER NOT NULL,
		duration REAL NOT NULL DEFAULT 0,
		peaks    BLOB,
		note     TEXT NOT NULL DEFAULT 'INTEGER'
	);`)
	assert.Equal(t, `CREATE TABLE media (
		rowid BIGINT GENERATED ALWAYS AS IDENTITY,
		size     BIGINT NOT NULL,
		duration DOUBLE PRECISION NOT NULL DEFAULT 0,
		peaks    BYTEA,
		note     TEXT NOT NULL DEFAULT 'BIGINT'
	);`, got, "types are whole words; the migrations hold no such string literal")
	assert.Equal(t, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`,
		Schema(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`))
}

// Instances that start together on an empty database migrate it once: the
// others wait for the advisory lock and find nothing left to do.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s, err := Open(context.Background(), url, Options{MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	conn := pgtest.Conn(t, url)
	var rows, versions, max int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM schema_migrations`).Scan(&rows, &versions, &max))
	assert.Equal(t, sqlstore.SchemaVersion(), rows, "each migration ran once")
	assert.Equal(t, rows, versions)
	assert.Equal(t, sqlstore.SchemaVersion(), max)
}

func TestRefusesNewerSchema(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	s := MustOpen(t, url)
	_, err := s.DB().Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`)
	require.NoError(t, err)
	_, err = Open(context.Background(), url, Options{})
	assert.ErrorContains(t, err, "newer than this binary")
}

func TestBadURL(t *testing.T) {
	_, err := Open(context.Background(), "postgres://pulse:s3cret@127.0.0.1:notaport/x", Options{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret", "the password stays out of messages")
	_, err = Open(context.Background(), "postgres://pulse:s3cret@127.0.0.1:1/x?connect_timeout=2", Options{})
	require.Error(t, err, "nothing listens on port 1")
	assert.NotContains(t, err.Error(), "s3cret")
}

// A change committed through one store reaches a watcher of another store
// on the same database (another instance) through LISTEN/NOTIFY, with the
// table's name; so does a change made outside Pulse, such as with psql.
func TestWatchSeesOtherInstances(t *testing.T) {
	url := pgtest.DatabaseURL(t)
	a, b := MustOpen(t, url), MustOpen(t, url)
	heard := make(chan string, 100)
	cancel := b.Watch(func(table string) { heard <- table })
	defer cancel()
	expect := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case got := <-heard:
				if got == want {
					return
				}
			case <-deadline:
				t.Fatalf("no notification for %q", want)
			}
		}
	}
	expect("") // connected: anything may have changed since

	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://lms.example/t", "student", "student_id"
	start := time.Now()
	require.NoError(t, a.CreateWebhook(context.Background(), w, 0))
	expect(pulse.TableWebhooks)
	t.Logf("notification after %v", time.Since(start))
	assert.Less(t, time.Since(start), time.Second)

	_, err := pgtest.Conn(t, url).Exec(context.Background(), `UPDATE media SET title = 'x' WHERE false`)
	require.NoError(t, err)
	expect(pulse.TableMedia)
}

// Losing PostgreSQL makes calls fail with EUnavailable, fast, and the
// same store works again once it is back: no reopening.
func TestOutage(t *testing.T) {
	c := pgtest.StartCluster(t)
	s, err := Open(context.Background(), c.URL, Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	var connects atomic.Int32 // "" is reported on each (re)connection of LISTEN
	defer s.Watch(func(table string) {
		if table == "" {
			connects.Add(1)
		}
	})()
	require.Eventually(t, func() bool { return connects.Load() == 1 }, 10*time.Second, 10*time.Millisecond, "LISTEN connected")
	w := pulse.NewWebhook()
	w.URL, w.RequestField, w.ResponseField = "https://lms.example/t", "student", "student_id"
	require.NoError(t, s.CreateWebhook(ctx, w, 0))

	c.Stop()
	start := time.Now()
	_, err = s.Webhooks(ctx)
	assert.Equal(t, pulse.EUnavailable, pulse.ErrorCode(err), "read: %v", err)
	assert.Equal(t, "the database is unavailable: try again in a moment", pulse.ErrorMessage(err))
	w.RPM = 6
	err = s.UpdateWebhook(ctx, w)
	assert.Equal(t, pulse.EUnavailable, pulse.ErrorCode(err), "write: %v", err)
	err = s.CreateWebhook(ctx, w, 10)
	assert.Equal(t, pulse.EUnavailable, pulse.ErrorCode(err), "transaction: %v", err)
	assert.Less(t, time.Since(start), 2*time.Second, "a refused connection fails at once")

	c.Start()
	start = time.Now()
	require.Eventually(t, func() bool { return s.UpdateWebhook(ctx, w) == nil }, 10*time.Second, 20*time.Millisecond,
		"writes work again")
	t.Logf("writes work again %v after the restart", time.Since(start))
	got, err := s.Webhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, 6, got.RPM)
	require.Eventually(t, func() bool { return connects.Load() == 2 }, 10*time.Second, 20*time.Millisecond,
		"the LISTEN connection is back and says that anything may have changed")
}
