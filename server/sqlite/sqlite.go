// Package sqlite implements pulse.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go: CGO_ENABLED=0 builds work).
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Store is a pulse.Store on SQLite.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

var _ pulse.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and migrates it to
// the current schema. The database runs in WAL mode with full sync, so a
// killed process loses no committed write.
func Open(ctx context.Context, path string) (*Store, error) {
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
	s := &Store{db: db, now: time.Now}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// migrations are applied in order, each once, in its own transaction.
// Never edit one that has shipped: add a new one.
var migrations = []string{
	// 1: webhooks and media.
	`CREATE TABLE webhooks (
		id                  TEXT PRIMARY KEY,
		name                TEXT NOT NULL DEFAULT '',
		url                 TEXT NOT NULL,
		request_field       TEXT NOT NULL,
		response_field      TEXT NOT NULL,
		rpm                 INTEGER NOT NULL,
		active              INTEGER NOT NULL,
		events              INTEGER NOT NULL,
		require_param       INTEGER NOT NULL,
		require_signed_link INTEGER NOT NULL DEFAULT 0,
		scope               TEXT NOT NULL DEFAULT '',
		created_at          INTEGER NOT NULL,
		updated_at          INTEGER NOT NULL
	);
	CREATE TABLE media (
		uuid       TEXT PRIMARY KEY,
		title      TEXT NOT NULL,
		type       TEXT NOT NULL,
		size       INTEGER NOT NULL,
		duration   REAL NOT NULL DEFAULT 0,
		file       TEXT NOT NULL,
		peaks      BLOB,
		created_at INTEGER NOT NULL
	);`,
	// 2: admins, their sessions and API tokens (issue 4).
	`CREATE TABLE admins (
		id            TEXT PRIMARY KEY,
		username      TEXT NOT NULL UNIQUE,
		password_hash TEXT NOT NULL,
		created_at    INTEGER NOT NULL,
		updated_at    INTEGER NOT NULL
	);
	CREATE TABLE sessions (
		id         TEXT PRIMARY KEY,
		admin_id   TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL
	);
	CREATE INDEX sessions_admin ON sessions(admin_id);
	CREATE TABLE tokens (
		id           TEXT PRIMARY KEY,
		name         TEXT NOT NULL,
		prefix       TEXT NOT NULL,
		hash         TEXT NOT NULL UNIQUE,
		admin_id     TEXT NOT NULL REFERENCES admins(id) ON DELETE CASCADE,
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER,
		revoked_at   INTEGER
	);`,
	// 3: page-token signing keys and embed keys (issue 7).
	`CREATE TABLE signing_keys (
		id          TEXT PRIMARY KEY,
		private_key BLOB NOT NULL,
		created_at  INTEGER NOT NULL,
		retired_at  INTEGER
	);
	CREATE TABLE embed_keys (
		id         TEXT PRIMARY KEY,
		name       TEXT NOT NULL,
		secret     BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	);`,
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

const webhookCols = `id, name, url, request_field, response_field, rpm, active, events, require_param, require_signed_link, scope, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanWebhook(r scanner) (*pulse.Webhook, error) {
	var w pulse.Webhook
	var scope string
	var created, updated int64
	if err := r.Scan(&w.ID, &w.Name, &w.URL, &w.RequestField, &w.ResponseField, &w.RPM, &w.Active, &w.Events,
		&w.RequireParam, &w.RequireSignedLink, &scope, &created, &updated); err != nil {
		return nil, err
	}
	if scope != "" {
		if err := json.Unmarshal([]byte(scope), &w.Scope.Media); err != nil {
			return nil, fmt.Errorf("webhook %s: bad scope %q: %w", w.ID, scope, err)
		}
	}
	w.CreatedAt, w.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &w, nil
}

func scopeColumn(s pulse.Scope) string {
	if s.All() {
		return ""
	}
	b, _ := json.Marshal(s.Media)
	return string(b)
}

// CreateWebhook implements pulse.Store.
func (s *Store) CreateWebhook(ctx context.Context, w *pulse.Webhook, limit int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if limit > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhooks`).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return pulse.Errorf(pulse.ELimit, "the limit of %d webhooks is reached: delete one first", limit)
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	w.ID = pulse.NewID("wh")
	w.CreatedAt, w.UpdatedAt = now, now
	if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		w.ID, w.Name, w.URL, w.RequestField, w.ResponseField, w.RPM, w.Active, w.Events, w.RequireParam,
		w.RequireSignedLink, scopeColumn(w.Scope), now.UnixMilli(), now.UnixMilli()); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return tx.Commit()
}

// Webhook implements pulse.Store.
func (s *Store) Webhook(ctx context.Context, id string) (*pulse.Webhook, error) {
	w, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no webhook %q", id)
	}
	return w, err
}

// Webhooks implements pulse.Store.
func (s *Store) Webhooks(ctx context.Context) ([]*pulse.Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pulse.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// UpdateWebhook implements pulse.Store.
func (s *Store) UpdateWebhook(ctx context.Context, w *pulse.Webhook) error {
	now := s.now().UTC().Truncate(time.Millisecond)
	res, err := s.db.ExecContext(ctx, `UPDATE webhooks SET name=?, url=?, request_field=?, response_field=?, rpm=?, active=?,
		events=?, require_param=?, require_signed_link=?, scope=?, updated_at=? WHERE id=?`,
		w.Name, w.URL, w.RequestField, w.ResponseField, w.RPM, w.Active, w.Events, w.RequireParam,
		w.RequireSignedLink, scopeColumn(w.Scope), now.UnixMilli(), w.ID)
	if err != nil {
		return fmt.Errorf("update webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no webhook %q", w.ID)
	}
	w.UpdatedAt = now
	return nil
}

// DeleteWebhook implements pulse.Store.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no webhook %q", id)
	}
	return nil
}

// CreateMedia implements pulse.Store.
func (s *Store) CreateMedia(ctx context.Context, m *pulse.Media) error {
	m.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	_, err := s.db.ExecContext(ctx, `INSERT INTO media (uuid, title, type, size, duration, file, peaks, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		m.UUID, m.Title, m.Type, m.Size, m.Duration, m.File, m.Peaks, m.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	return nil
}

// Media implements pulse.Store.
func (s *Store) Media(ctx context.Context, uuid string) (*pulse.Media, error) {
	var m pulse.Media
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT uuid, title, type, size, duration, file, peaks, created_at FROM media WHERE uuid = ?`, uuid).
		Scan(&m.UUID, &m.Title, &m.Type, &m.Size, &m.Duration, &m.File, &m.Peaks, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = time.UnixMilli(created).UTC()
	return &m, nil
}

// MediaList implements pulse.Store.
func (s *Store) MediaList(ctx context.Context) ([]*pulse.Media, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uuid, title, type, size, duration, file, created_at FROM media ORDER BY created_at DESC, rowid DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pulse.Media
	for rows.Next() {
		var m pulse.Media
		var created int64
		if err := rows.Scan(&m.UUID, &m.Title, &m.Type, &m.Size, &m.Duration, &m.File, &created); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, &m)
	}
	return out, rows.Err()
}

// UpdateMedia implements pulse.Store.
func (s *Store) UpdateMedia(ctx context.Context, m *pulse.Media) error {
	res, err := s.db.ExecContext(ctx, `UPDATE media SET title = ? WHERE uuid = ?`, m.Title, m.UUID)
	if err != nil {
		return fmt.Errorf("update media: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no media %q", m.UUID)
	}
	return nil
}

// DeleteMedia implements pulse.Store.
func (s *Store) DeleteMedia(ctx context.Context, uuid string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM media WHERE uuid = ?`, uuid)
	if err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
	}
	return nil
}
