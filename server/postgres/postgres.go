// Package postgres opens Pulse's store on PostgreSQL through
// github.com/jackc/pgx/v5, so that several `pulse serve` instances can share
// one database. The queries and the migrations are server/sqlstore's,
// shared with SQLite; this package adds the connection pool, timeouts, the
// advisory lock that makes concurrent starts migrate once, and a LISTEN
// connection that reports other instances' changes.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jackc/pgxlisten"

	"github.com/pulsehq/pulse/server/sqlstore"
)

// Defaults of Options.
const (
	DefaultMaxConns = 10
	DefaultTimeout  = 5 * time.Second
)

// Pool limits beyond Options: a connection idle this long is closed, and
// none lives longer than ConnMaxLifetime (so that a load balancer or a
// failover in front of PostgreSQL sees connections move).
const (
	ConnMaxIdleTime = 5 * time.Minute
	ConnMaxLifetime = 30 * time.Minute
)

// keepAlive is how TCP keep-alives notice a dead server or network: probes
// after 15 s idle, every 5 s, 3 unanswered ones end the connection.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3}

// pool is the database/sql pool of a store.
type pool struct {
	maxOpen, maxIdle         int
	maxIdleTime, maxLifetime time.Duration
}

func poolOf(opts Options) pool {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	return pool{maxOpen: opts.MaxConns, maxIdle: opts.MaxConns, maxIdleTime: ConnMaxIdleTime, maxLifetime: ConnMaxLifetime}
}

func (p pool) apply(db *sql.DB) {
	db.SetMaxOpenConns(p.maxOpen)
	db.SetMaxIdleConns(p.maxIdle)
	db.SetConnMaxIdleTime(p.maxIdleTime)
	db.SetConnMaxLifetime(p.maxLifetime)
}

// Options tune the connection to PostgreSQL; zero values take the defaults.
type Options struct {
	// MaxConns bounds the pool of connections of this process (the LISTEN
	// connection comes on top).
	MaxConns int
	// Timeout bounds every statement (PostgreSQL's statement_timeout and a
	// deadline on our side), and connecting when the URL has no
	// connect_timeout.
	Timeout time.Duration
	// Log hears of lost and regained notification connections; nil
	// discards.
	Log *slog.Logger
}

// Store is a pulse.Store on PostgreSQL.
type Store = sqlstore.Store

// Dialect is PostgreSQL's side of the shared store.
var Dialect = sqlstore.Dialect{
	Name:           "postgres",
	NumberedParams: true,
	Schema:         Schema,
	// A session lock, held while migrating: a second instance waits, then
	// finds nothing left to do. No statement timeout meanwhile: a long
	// migration must not fail half-way, nor the wait for it.
	LockMigrations:   `SET statement_timeout = 0; SELECT pg_advisory_lock(` + migrateLock + `)`,
	UnlockMigrations: `SELECT pg_advisory_unlock(` + migrateLock + `); RESET statement_timeout`,
	LockWebhooks:     `SELECT pg_advisory_xact_lock(` + webhooksLock + `)`,
	IsUnique:         func(err error) bool { return pgCode(err) == "23505" },
	IsForeignKey:     func(err error) bool { return pgCode(err) == "23503" },
	Unavailable:      Unavailable,
}

// Advisory lock keys ("pulse" in ASCII, then a number).
const (
	migrateLock  = "7075736501"
	webhooksLock = "7075736502"
)

var (
	typeNames   = regexp.MustCompile(`\b(INTEGER|BLOB|REAL)\b`)
	createTable = regexp.MustCompile(`CREATE TABLE (\w+) \(`)
)

// Schema rewrites a migration written for SQLite for PostgreSQL: 64-bit
// integers (SQLite's INTEGER is 64-bit, PostgreSQL's 32), BYTEA for BLOB,
// DOUBLE PRECISION for REAL; and every table gets an identity column named
// rowid, which orders rows created in the same millisecond as SQLite's
// implicit rowid does.
func Schema(ddl string) string {
	ddl = typeNames.ReplaceAllStringFunc(ddl, func(t string) string {
		return map[string]string{"INTEGER": "BIGINT", "BLOB": "BYTEA", "REAL": "DOUBLE PRECISION"}[t]
	})
	return createTable.ReplaceAllString(ddl, "CREATE TABLE $1 (\n\t\trowid BIGINT GENERATED ALWAYS AS IDENTITY,")
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Unavailable reports whether err means that PostgreSQL cannot be reached
// or is not answering: the connection was refused, lost or timed out, or
// the server is shutting down, starting or out of connections.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if code := pgCode(err); code != "" {
		return strings.HasPrefix(code, "08") || // connection exception
			code == "57P01" || code == "57P02" || code == "57P03" || // admin or crash shutdown, cannot connect now
			code == "53300" || // too many connections
			code == "57014" // statement timeout
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed)
}

// Open connects to the database at url (postgres://user:pass@host:port/db?
// sslmode=…), migrates it to the current schema (once, however many
// instances start together) and returns a store on it.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	cfg, err := Config(url, opts)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	poolOf(opts).apply(db)
	pingCtx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+opts.Timeout)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", where(cfg), err)
	}
	s, err := sqlstore.New(ctx, db, Dialect, sqlstore.Options{
		Timeout: opts.Timeout,
		Watch:   func(ctx context.Context, notify func(string)) { listen(ctx, cfg, opts.Log, notify) },
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres %s: %w", where(cfg), err)
	}
	return s, nil
}

// where names a database in messages, without its password.
func where(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s@%s/%s", cfg.User, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database)
}

// Config parses url and sets what Options and Pulse need: statement
// timeouts, the connect timeout, TCP keep-alives that notice a dead
// server within a minute, and application_name. Settings in the URL win.
func Config(url string, opts Options) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: the database URL is malformed: it looks like postgres://user:password@host:5432/database?sslmode=require")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = opts.Timeout
	}
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAliveConfig: keepAlive}
	cfg.DialFunc = dialer.DialContext
	params := map[string]string{
		"application_name":                    "pulse",
		"statement_timeout":                   strconv.FormatInt(opts.Timeout.Milliseconds(), 10),
		"idle_in_transaction_session_timeout": strconv.FormatInt((4 * opts.Timeout).Milliseconds(), 10),
	}
	for k, v := range params {
		if _, set := cfg.RuntimeParams[k]; !set {
			cfg.RuntimeParams[k] = v
		}
	}
	return cfg, nil
}

// listen reports the changes every process makes (migration 4's triggers
// NOTIFY them) until ctx ends, on a connection of its own that it opens
// again a second after losing it. On each (re)connection it reports ""
// (anything may have changed), since notifications sent meanwhile are lost.
func listen(ctx context.Context, cfg *pgx.ConnConfig, log *slog.Logger, notify func(string)) {
	var down atomic.Bool
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return pgx.ConnectConfig(ctx, cfg) },
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil && !down.Swap(true) {
				log.Warn("database change notifications lost: cached player data may be stale until they are back", "err", err)
			}
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(sqlstore.ChangesChannel, changes{notify: notify, back: func() {
		if down.Swap(false) {
			log.Info("database change notifications are back")
		}
	}})
	l.Listen(ctx)
}

type changes struct {
	notify func(string)
	back   func()
}

func (c changes) HandleNotification(_ context.Context, n *pgconn.Notification, _ *pgx.Conn) error {
	c.notify(n.Payload)
	return nil
}

func (c changes) HandleBacklog(context.Context, string, *pgx.Conn) error {
	c.back()
	c.notify("")
	return nil
}
