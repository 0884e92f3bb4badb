package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// migration is one step of the schema, applied once, in its own
// transaction, and recorded in schema_migrations under its position in
// migrations (1, 2, …).
type migration struct {
	// sql runs on every database. It is written in SQLite's DDL, which
	// Dialect.Schema rewrites where types differ.
	sql string
	// postgres runs on PostgreSQL only, after sql.
	postgres string
}

// migrations are the schema, in order. Never edit one that has shipped:
// add a new one at the end.
var migrations = []migration{
	// 1: webhooks and media.
	{sql: `CREATE TABLE webhooks (
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
	);`},
	// 2: admins, their sessions and API tokens (issue 4).
	{sql: `CREATE TABLE admins (
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
	);`},
	// 3: page-token signing keys and embed keys (issue 7).
	{sql: `CREATE TABLE signing_keys (
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
	);`},
	// 4: change notifications (issue 8). On PostgreSQL every committed
	// change to a table that instances cache sends a NOTIFY on the
	// pulse_changes channel with the table's name, whoever made it (an
	// instance, the command line, psql). SQLite has no such thing: its
	// store watches PRAGMA data_version instead.
	{postgres: `CREATE FUNCTION pulse_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM pg_notify('` + ChangesChannel + `', TG_TABLE_NAME);
		RETURN NULL;
	END
	$$;
	CREATE TRIGGER webhooks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhooks
		FOR EACH STATEMENT EXECUTE FUNCTION pulse_notify_change();
	CREATE TRIGGER media_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON media
		FOR EACH STATEMENT EXECUTE FUNCTION pulse_notify_change();
	CREATE TRIGGER signing_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
		FOR EACH STATEMENT EXECUTE FUNCTION pulse_notify_change();
	CREATE TRIGGER embed_keys_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON embed_keys
		FOR EACH STATEMENT EXECUTE FUNCTION pulse_notify_change();`},
	// 5: a signing key signs from signs_from (NULL: from created_at), some
	// time after it is published, so that receivers know it first.
	{sql: `ALTER TABLE signing_keys ADD COLUMN signs_from INTEGER`},
}

// ChangesChannel is the PostgreSQL notification channel of migration 4.
const ChangesChannel = "pulse_changes"

// SchemaVersion is the version a migrated database is at.
func SchemaVersion() int { return len(migrations) }

// migrate applies the migrations a database lacks, holding the dialect's
// lock on one connection meanwhile.
func migrate(ctx context.Context, db *sql.DB, d Dialect) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d.LockMigrations != "" {
		if _, err := conn.ExecContext(ctx, d.LockMigrations); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), d.UnlockMigrations)
	}
	if _, err := conn.ExecContext(ctx, schema(d, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)); err != nil {
		return err
	}
	var current int
	if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return err
	}
	if current > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if err := apply(ctx, conn, d, v); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

func apply(ctx context.Context, conn *sql.Conn, d Dialect, v int) error {
	m := migrations[v-1]
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	steps := []string{schema(d, m.sql)}
	if d.Name == "postgres" {
		steps = append(steps, m.postgres)
	}
	for _, step := range steps {
		if step == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, step); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, rebind(d, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

func schema(d Dialect, ddl string) string {
	if d.Schema == nil || ddl == "" {
		return ddl
	}
	return d.Schema(ddl)
}
