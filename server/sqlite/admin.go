package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

func (s *Store) nowMilli() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func fromNullMilli(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMilli(ms.Int64)
	return &t
}

// isUnique reports whether err is a UNIQUE constraint violation.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

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
	_, err := s.db.ExecContext(ctx, `INSERT INTO admins (`+adminCols+`) VALUES (?,?,?,?,?)`,
		id, a.Username, a.PasswordHash, now.UnixMilli(), now.UnixMilli())
	if isUnique(err) {
		return pulse.Errorf(pulse.EConflict, "the user name %q is taken", a.Username)
	}
	if err != nil {
		return fmt.Errorf("create admin: %w", err)
	}
	a.ID, a.CreatedAt, a.UpdatedAt = id, now, now
	return nil
}

// Admin implements pulse.Store.
func (s *Store) Admin(ctx context.Context, id string) (*pulse.Admin, error) {
	a, err := scanAdmin(s.db.QueryRowContext(ctx, `SELECT `+adminCols+` FROM admins WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no admin %q", id)
	}
	return a, err
}

// AdminByUsername implements pulse.Store.
func (s *Store) AdminByUsername(ctx context.Context, username string) (*pulse.Admin, error) {
	a, err := scanAdmin(s.db.QueryRowContext(ctx, `SELECT `+adminCols+` FROM admins WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no admin %q", username)
	}
	return a, err
}

// Admins implements pulse.Store.
func (s *Store) Admins(ctx context.Context) ([]*pulse.Admin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+adminCols+` FROM admins ORDER BY created_at, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pulse.Admin
	for rows.Next() {
		a, err := scanAdmin(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAdminPassword implements pulse.Store.
func (s *Store) SetAdminPassword(ctx context.Context, id, hash string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, s.nowMilli().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no admin %q", id)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE admin_id = ?`, id); err != nil {
		return fmt.Errorf("set password: end sessions: %w", err)
	}
	return tx.Commit()
}

// CreateSession implements pulse.Store.
func (s *Store) CreateSession(ctx context.Context, ss *pulse.Session) error {
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = s.nowMilli()
	}
	ss.CreatedAt = ss.CreatedAt.UTC().Truncate(time.Millisecond)
	ss.ExpiresAt = ss.ExpiresAt.UTC().Truncate(time.Millisecond)
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (id, admin_id, created_at, expires_at) VALUES (?,?,?,?)`,
		ss.ID, ss.AdminID, ss.CreatedAt.UnixMilli(), ss.ExpiresAt.UnixMilli())
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
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
	err := s.db.QueryRowContext(ctx, `SELECT id, admin_id, created_at, expires_at FROM sessions WHERE id = ?`, id).
		Scan(&ss.ID, &ss.AdminID, &created, &expires)
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
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no such session")
	}
	return nil
}

// DeleteExpiredSessions implements pulse.Store.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMilli())
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?,?,?,?,?,?,NULL,NULL)`,
		id, t.Name, t.Prefix, t.Hash, t.AdminID, now.UnixMilli())
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return pulse.Errorf(pulse.ENotFound, "no admin %q", t.AdminID)
	}
	if isUnique(err) {
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
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no such token")
	}
	return t, err
}

// Tokens implements pulse.Store.
func (s *Store) Tokens(ctx context.Context) ([]*pulse.Token, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at, rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*pulse.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements pulse.Store.
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no token %q", id)
	}
	return nil
}

// TouchToken implements pulse.Store.
func (s *Store) TouchToken(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return pulse.Errorf(pulse.ENotFound, "no token %q", id)
	}
	return nil
}
