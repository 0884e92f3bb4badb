package postgres

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Config puts Options and Pulse's settings into the pgx configuration,
// and what the URL says wins.
func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name             string
		url              string
		opts             Options
		connect          time.Duration
		statement, idleX string
	}{
		{"defaults", "postgres://pulse@db.example:5432/pulse", Options{}, DefaultTimeout, "5000", "20000"},
		{"--database-timeout", "postgres://pulse@db.example/pulse", Options{Timeout: 1500 * time.Millisecond}, 1500 * time.Millisecond, "1500", "6000"},
		{"the URL wins", "postgres://pulse@db.example/pulse?statement_timeout=10000&connect_timeout=3&idle_in_transaction_session_timeout=1234",
			Options{Timeout: 2 * time.Second}, 3 * time.Second, "10000", "1234"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config(tc.url, tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.connect, cfg.ConnectTimeout)
			assert.Equal(t, tc.statement, cfg.RuntimeParams["statement_timeout"])
			assert.Equal(t, tc.idleX, cfg.RuntimeParams["idle_in_transaction_session_timeout"])
			assert.Equal(t, "pulse", cfg.RuntimeParams["application_name"])
			assert.NotNil(t, cfg.DialFunc, "our dialer, with keep-alives")
		})
	}
	cfg, err := Config("postgres://pulse@db.example/pulse?application_name=pulse-eu-1", Options{})
	require.NoError(t, err)
	assert.Equal(t, "pulse-eu-1", cfg.RuntimeParams["application_name"])
}

func TestPool(t *testing.T) {
	assert.Equal(t, pool{maxOpen: DefaultMaxConns, maxIdle: DefaultMaxConns, maxIdleTime: 5 * time.Minute, maxLifetime: 30 * time.Minute}, poolOf(Options{}))
	assert.Equal(t, pool{maxOpen: 3, maxIdle: 3, maxIdleTime: ConnMaxIdleTime, maxLifetime: ConnMaxLifetime}, poolOf(Options{MaxConns: 3}))
}

// dialThroughConfig dials a local listener with the DialFunc Config sets
// and returns the client's side.
func dialThroughConfig(t *testing.T, url string) *net.TCPConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cfg, err := Config(url, Options{})
	require.NoError(t, err)
	c, err := cfg.DialFunc(context.Background(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	tc, ok := c.(*net.TCPConn)
	require.True(t, ok, "%T", c)
	return tc
}
