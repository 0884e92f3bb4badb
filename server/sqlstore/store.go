// Package sqlstore implements pulse.Store on a SQL database through
// database/sql: the queries, the versioned migrations and their runner are
// written once and run on SQLite and on PostgreSQL. A Dialect holds the few
// differences: placeholders, type names in the schema, which errors mean a
// duplicate or an unreachable database, and how to lock. The packages
// server/sqlite and server/postgres open their databases and hand them here.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

// Dialect is what differs between the databases the store runs on.
type Dialect struct {
	// Name names the database in errors: "sqlite" or "postgres".
	Name string
	// NumberedParams turns the "?" placeholders of the queries into $1, $2…
	NumberedParams bool
	// Schema rewrites a migration, written in SQLite's DDL, for this
	// database; nil keeps it as it is.
	Schema func(ddl string) string
	// LockMigrations and UnlockMigrations run on one connection around the
	// migrations, so that processes starting together migrate once.
	LockMigrations, UnlockMigrations string
	// LockWebhooks runs first in the transaction that counts the webhooks
	// and adds one, so that concurrent creations respect the limit.
	LockWebhooks string
	// IsUnique and IsForeignKey recognise constraint violations.
	IsUnique, IsForeignKey func(error) bool
	// Unavailable recognises errors that mean the database cannot be
	// reached: refused or lost connections, a shutdown, a timeout. The
	// store answers them with pulse.EUnavailable, and retries reads once.
	Unavailable func(error) bool
}

// Options tune a Store.
type Options struct {
	// Timeout bounds every call to the database; zero means no bound.
	Timeout time.Duration
	// Watch, when set, reports changes made by other processes: it runs
	// from the first call of Store.Watch until Close, and calls notify with
	// the table that changed, or "" when anything may have changed.
	Watch func(ctx context.Context, notify func(table string))
}

// Store is a pulse.Store on a SQL database.
type Store struct {
	db   *sql.DB
	d    Dialect
	opts Options
	now  func() time.Time

	mu        sync.Mutex
	watchers  map[int]func(table string)
	nextID    int
	stopWatch context.CancelFunc // set once Options.Watch runs
	watchDone chan struct{}
	closed    bool
}

var (
	_ pulse.Store   = (*Store)(nil)
	_ pulse.Watcher = (*Store)(nil)
)

// New migrates db to the current schema and returns a Store on it. The
// Store owns db: Close closes it.
func New(ctx context.Context, db *sql.DB, d Dialect, opts Options) (*Store, error) {
	if err := migrate(ctx, db, d); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return &Store{db: db, d: d, opts: opts, now: time.Now, watchers: map[int]func(string){}}, nil
}

// DB returns the database, for tests and checks.
func (s *Store) DB() *sql.DB { return s.db }

// Close stops watching for changes and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	stop, done := s.stopWatch, s.watchDone
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return s.db.Close()
}

// Watch implements pulse.Watcher: f hears of this store's own writes at
// once, and of other processes' through Options.Watch.
func (s *Store) Watch(f func(table string)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	s.watchers[id] = f
	if s.stopWatch == nil && s.opts.Watch != nil && !s.closed {
		ctx, stop := context.WithCancel(context.Background())
		s.stopWatch, s.watchDone = stop, make(chan struct{})
		go func(done chan struct{}) {
			defer close(done)
			s.opts.Watch(ctx, s.changed)
		}(s.watchDone)
	}
	return func() {
		s.mu.Lock()
		delete(s.watchers, id)
		s.mu.Unlock()
	}
}

// changed tells the watchers that table changed ("" for anything).
func (s *Store) changed(table string) {
	s.mu.Lock()
	fs := slices.Collect(maps.Values(s.watchers))
	s.mu.Unlock()
	for _, f := range fs {
		f(table)
	}
}

// errUnavailable is the error clients see while the database is down.
var errUnavailable = &pulse.Error{Code: pulse.EUnavailable, Message: "the database is unavailable: try again in a moment"}

// wrap marks errors that mean the database is unreachable as
// EUnavailable, keeping the cause for the logs.
func (s *Store) wrap(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) {
		return err
	}
	var pe *pulse.Error
	if errors.As(err, &pe) {
		return err
	}
	if s.unavailable(err) {
		return fmt.Errorf("%s: %w: %w", s.d.Name, errUnavailable, err)
	}
	return err
}

func (s *Store) unavailable(err error) bool {
	return err != nil && s.d.Unavailable != nil && s.d.Unavailable(err) && !errors.Is(err, context.Canceled)
}

func (s *Store) isUnique(err error) bool { return err != nil && s.d.IsUnique(err) }

func (s *Store) isForeignKey(err error) bool { return err != nil && s.d.IsForeignKey(err) }

// q rewrites the placeholders of a query for the dialect.
func (s *Store) q(query string) string { return rebind(s.d, query) }

func rebind(d Dialect, query string) string {
	if !d.NumberedParams || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opts.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.Timeout)
}

type scanner interface{ Scan(...any) error }

// exec runs one statement. Writes are not retried here: database/sql
// retries by itself when the statement never reached the database.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	return res, s.wrap(err)
}

// affected runs one statement and fails with notFound when it changed no
// row.
func (s *Store) affected(ctx context.Context, notFound error, query string, args ...any) error {
	res, err := s.exec(ctx, query, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(err)
	} else if n == 0 {
		return notFound
	}
	return nil
}

// get reads one row with scan; sql.ErrNoRows when there is none. A read
// whose connection was lost is tried once more.
func (s *Store) get(ctx context.Context, query string, args []any, scan func(scanner) error) error {
	return s.retry(ctx, func(ctx context.Context) error {
		return scan(s.db.QueryRowContext(ctx, s.q(query), args...))
	})
}

// list reads rows, calling scan for each. A read whose connection was lost
// before the first row is tried once more.
func list[T any](ctx context.Context, s *Store, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	var out []T
	err := s.retry(ctx, func(ctx context.Context) error {
		rows, err := s.db.QueryContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil && len(out) > 0 {
			return permanent{err}
		} else if err != nil {
			return err
		}
		return nil
	})
	return out, err
}

// permanent is an error that retry must not retry.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs a read, and once more when the database connection was lost.
func (s *Store) retry(ctx context.Context, read func(ctx context.Context) error) error {
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	err := read(ctx)
	var p permanent
	if s.unavailable(err) && !errors.As(err, &p) && ctx.Err() == nil {
		err = read(ctx)
	}
	if errors.As(err, &p) {
		err = p.error
	}
	return s.wrap(err)
}

// tx runs f in a transaction, committed when f returns nil.
func (s *Store) tx(ctx context.Context, f func(ctx context.Context, tx *sql.Tx) error) error {
	ctx, cancel := s.timeout(ctx)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	defer tx.Rollback()
	if err := f(ctx, tx); err != nil {
		return s.wrap(err)
	}
	return s.wrap(tx.Commit())
}

func (s *Store) nowMilli() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMilli(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMilli(ms.Int64)
	return &t
}

// b2i stores a bool as 0 or 1: the schema keeps booleans in integer
// columns, which both databases accept from an int.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
