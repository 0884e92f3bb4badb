// Package sqlite opens Pulse's store on an embedded SQLite database
// (modernc.org/sqlite, pure Go: CGO_ENABLED=0 builds work). The queries and
// the migrations are server/sqlstore's, shared with PostgreSQL.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/pulsehq/pulse/server/sqlstore"
)

// Store is a pulse.Store on SQLite.
type Store = sqlstore.Store

// Dialect is SQLite's side of the shared store: the migrations and queries
// are written in its SQL, and rows keep their insertion order in rowid.
var Dialect = sqlstore.Dialect{
	Name:         "sqlite",
	IsUnique:     func(err error) bool { return strings.Contains(err.Error(), "UNIQUE constraint failed") },
	IsForeignKey: func(err error) bool { return strings.Contains(err.Error(), "FOREIGN KEY constraint failed") },
}

// WatchEvery is how often a store that is watched checks whether another
// process (such as `pulse webhook add`) changed the database.
const WatchEvery = 250 * time.Millisecond

// Open opens (creating if needed) the database at path and migrates it to
// the current schema. The database runs in WAL mode with full sync, so a
// killed process loses no committed write.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := private(path); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s, err := sqlstore.New(ctx, db, Dialect, sqlstore.Options{Watch: func(ctx context.Context, notify func(string)) {
		watch(ctx, db, notify)
	}})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return s, nil
}

// private makes the database file readable by its owner only, creating it
// if needed: it holds the keys that sign page tokens and the embed keys'
// secrets. SQLite gives its -wal and -shm files the database file's mode.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return f.Chmod(0o600)
	}
	return nil
}

// watch reports commits made by other connections, this process's own
// included, by polling PRAGMA data_version on a connection of its own.
// It cannot tell which table changed.
func watch(ctx context.Context, db *sql.DB, notify func(string)) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	last := int64(-1)
	t := time.NewTicker(WatchEvery)
	defer t.Stop()
	for {
		var v int64
		if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err == nil {
			if last >= 0 && v != last {
				notify("")
			}
			last = v
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
