package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pulsehq/pulse/server/postgres"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/sqlite"
)

// databaseFlag adds --database-url to a command's flags. Its default is
// not shown in --help: the URL may hold a password.
func databaseFlag(fs *flag.FlagSet) {
	fs.String("database-url", "", "PostgreSQL database shared by several instances, such as postgres://pulse:PASSWORD@db.example.edu/pulse?sslmode=require "+
		"(env PULSE_DATABASE_URL; default: SQLite in the data folder)")
}

// databaseURL returns the PostgreSQL URL the command was given, or "".
func (env environment) databaseURL(fs *flag.FlagSet) string {
	if f := fs.Lookup("database-url"); f != nil && f.Value.String() != "" {
		return f.Value.String()
	}
	return env.getenv("PULSE_DATABASE_URL")
}

// openStore opens the store a command's flags name: PostgreSQL when it
// has a database URL, else SQLite in the data folder (created if needed).
func (env environment) openStore(ctx context.Context, fs *flag.FlagSet) (pulse.Store, error) {
	return env.openStoreWith(ctx, fs, postgres.Options{})
}

// openStoreWith is openStore with settings for PostgreSQL.
func (env environment) openStoreWith(ctx context.Context, fs *flag.FlagSet, opts postgres.Options) (pulse.Store, error) {
	if url := env.databaseURL(fs); url != "" {
		return postgres.Open(ctx, url, opts)
	}
	data := fs.Lookup("data").Value.String()
	// Only the server's user needs the data folder; a folder that exists
	// keeps its mode (media files in it may be served by others too).
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(data, "pulse.db"))
}

func mediaDir(data string) string { return filepath.Join(data, "media") }

// storeFlags are serve's settings of the PostgreSQL connection and of the
// cache of player data.
type storeFlags struct {
	maxConns, timeout, cacheTTL *string
}

func (env environment) storeFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		maxConns: fs.String("database-max-conns", env.or("PULSE_DATABASE_MAX_CONNS", strconv.Itoa(postgres.DefaultMaxConns)),
			"PostgreSQL: most connections this instance opens, plus one that listens for changes (env PULSE_DATABASE_MAX_CONNS)"),
		timeout: fs.String("database-timeout", env.or("PULSE_DATABASE_TIMEOUT", postgres.DefaultTimeout.String()),
			"PostgreSQL: longest a statement or a connection attempt may take (env PULSE_DATABASE_TIMEOUT)"),
		cacheTTL: fs.String("cache-ttl", env.or("PULSE_CACHE_TTL", "30s"),
			"longest player configs and media stay cached in this instance when no change is reported; 0 turns the cache off (env PULSE_CACHE_TTL)"),
	}
}

func (f storeFlags) resolve(log *slog.Logger) (postgres.Options, time.Duration, error) {
	n, err := strconv.Atoi(*f.maxConns)
	if err != nil || n < 1 {
		return postgres.Options{}, 0, usagef("serve: --database-max-conns must be a positive whole number, got %q", *f.maxConns)
	}
	timeout, err := time.ParseDuration(*f.timeout)
	if err != nil || timeout < 100*time.Millisecond {
		return postgres.Options{}, 0, usagef("serve: --database-timeout must be a duration of at least 100ms, such as 5s, got %q", *f.timeout)
	}
	ttl, err := time.ParseDuration(*f.cacheTTL)
	if err != nil || ttl < 0 {
		return postgres.Options{}, 0, usagef("serve: --cache-ttl must be a duration such as 30s (0 turns the cache off), got %q", *f.cacheTTL)
	}
	if ttl == 0 {
		ttl = -1 // api.Config: negative is off
	}
	return postgres.Options{MaxConns: n, Timeout: timeout, Log: log}, ttl, nil
}
