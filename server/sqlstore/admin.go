package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

const adminCols = `id, username, password_hash, created_at, updated_at`

func scanAdmin(r scanner) (*pulse.Admin, error) {
	var a pulse.Admin
	var created, updated int64
	if err := r.Scan(&a.ID, &a.Username, &a.PasswordHash, &created, &updated); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromMilli(created), fromMilli(updated)
	return &a, nil
}

// CreateAdmin implements pulse.Store.
func (s *Store) CreateAdmin(ctx context.Context, a *pulse.Admin) error {
	now := s.nowMilli()
	id := pulse.NewID("adm")
	_, err := s.exec(ctx, `INSERT INTO admins (`+adminCols+`) VALUES (?,?,?,?,?)`,
		id, a.Username, a.PasswordHash, now.UnixMilli(), now.UnixMilli())
	if s.isUnique(err) {
		return pulse.Errorf(pulse.EConflict, "the user name %q is taken", a.Username)
	}
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	a.ID, a.CreatedAt, a.UpdatedAt = id, now, now
	return nil
}

// admin reads one admin by a column.
func (s *Store) admin(ctx context.Context, where, value string) (*pulse.Admin, error) {
	var a *pulse.Admin
	err := s.get(ctx, `SELECT `+adminCols+` FROM admins WHERE `+where+` = ?`, []any{value}, func(r scanner) (err error) {
		a, err = scanAdmin(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no admin %q", value)
	}
	return a, err
}

// Admin implements pulse.Store.
func (s *Store) Admin(ctx context.Context, id string) (*pulse.Admin, error) {
	return s.admin(ctx, "id", id)
}

// AdminByUsername implements pulse.Store.
func (s *Store) AdminByUsername(ctx context.Context, username string) (*pulse.Admin, error) {
	return s.admin(ctx, "username", username)
}

// Admins implements pulse.Store.
func (s *Store) Admins(ctx context.Context) ([]*pulse.Admin, error) {
	return list(ctx, s, `SELECT `+adminCols+` FROM admins ORDER BY created_at, rowid`, nil, scanAdmin)
}

// SetAdminPassword implements pulse.Store.
func (s *Store) SetAdminPassword(ctx context.Context, id, hash string) error {
	return s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?`), hash, s.nowMilli().UnixMilli(), id)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return pulse.Errorf(pulse.ENotFound, "no admin %q", id)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE admin_id = ?`), id); err != nil {
			return fmt.Errorf("set password: end sessions: %w", err)
		}
		return nil
	})
}

// CreateSession implements pulse.Store.
func (s *Store) CreateSession(ctx context.Context, ss *pulse.Session) error {
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = s.nowMilli()
	}
	ss.CreatedAt = ss.CreatedAt.UTC().Truncate(time.Millisecond)
	ss.ExpiresAt = ss.ExpiresAt.UTC().Truncate(time.Millisecond)
	_, err := s.exec(ctx, `INSERT INTO sessions (id, admin_id, created_at, expires_at) VALUES (?,?,?,?)`,
		ss.ID, ss.AdminID, ss.CreatedAt.UnixMilli(), ss.ExpiresAt.UnixMilli())
	if s.isForeignKey(err) {
		return pulse.Errorf(pulse.ENotFound, "no admin %q", ss.AdminID)
	}
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session implements pulse.Store.
func (s *Store) Session(ctx context.Context, id string) (*pulse.Session, error) {
	var ss pulse.Session
	var created, expires int64
	err := s.get(ctx, `SELECT id, admin_id, created_at, expires_at FROM sessions WHERE id = ?`, []any{id}, func(r scanner) error {
		return r.Scan(&ss.ID, &ss.AdminID, &created, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no such session")
	}
	if err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.ExpiresAt = fromMilli(created), fromMilli(expires)
	return &ss, nil
}

// DeleteSession implements pulse.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no such session"), `DELETE FROM sessions WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions implements pulse.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

const tokenCols = `id, name, prefix, hash, admin_id, created_at, last_used_at, revoked_at`

func scanToken(r scanner) (*pulse.Token, error) {
	var t pulse.Token
	var created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &t.Prefix, &t.Hash, &t.AdminID, &created, &used, &revoked); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromMilli(created), fromNullMilli(used), fromNullMilli(revoked)
	return &t, nil
}

// CreateToken implements pulse.Store.
func (s *Store) CreateToken(ctx context.Context, t *pulse.Token) error {
	now := s.nowMilli()
	id := pulse.NewID("tok")
	_, err := s.exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?,?,?,?,?,?,NULL,NULL)`,
		id, t.Name, t.Prefix, t.Hash, t.AdminID, now.UnixMilli())
	if s.isForeignKey(err) {
		return pulse.Errorf(pulse.ENotFound, "no admin %q", t.AdminID)
	}
	if s.isUnique(err) {
		return pulse.Errorf(pulse.EConflict, "a token with this secret exists")
	}
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.ID, t.CreatedAt, t.LastUsedAt, t.RevokedAt = id, now, nil, nil
	return nil
}

// TokenByHash implements pulse.Store.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*pulse.Token, error) {
	var t *pulse.Token
	err := s.get(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, []any{hash}, func(r scanner) (err error) {
		t, err = scanToken(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no such token")
	}
	return t, err
}

// Tokens implements pulse.Store.
func (s *Store) Tokens(ctx context.Context) ([]*pulse.Token, error) {
	return list(ctx, s, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at, rowid`, nil, scanToken)
}

// RevokeToken implements pulse.Store.
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no token %q", id),
		`UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, now.UnixMilli(), id); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// TouchToken implements pulse.Store.
func (s *Store) TouchToken(ctx context.Context, id string, now time.Time) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no token %q", id),
		`UPDATE tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), id); err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}
