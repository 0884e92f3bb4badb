package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

// SigningKeys implements pulse.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]*pulse.SigningKey, error) {
	return list(ctx, s, `SELECT id, private_key, created_at, signs_from, retired_at FROM signing_keys ORDER BY created_at, rowid`, nil,
		func(r scanner) (*pulse.SigningKey, error) {
			var k pulse.SigningKey
			var created int64
			var signs, retired sql.NullInt64
			if err := r.Scan(&k.ID, &k.Private, &created, &signs, &retired); err != nil {
				return nil, err
			}
			k.CreatedAt, k.RetiredAt = fromMilli(created), fromNullMilli(retired)
			k.SignsFrom = k.CreatedAt
			if signs.Valid {
				k.SignsFrom = fromMilli(signs.Int64)
			}
			return &k, nil
		})
}

// AddSigningKey implements pulse.Store.
func (s *Store) AddSigningKey(ctx context.Context, k *pulse.SigningKey) error {
	at := k.CreatedAt.UTC().Truncate(time.Millisecond)
	signs := at
	if !k.SignsFrom.IsZero() {
		signs = k.SignsFrom.UTC().Truncate(time.Millisecond)
	}
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL`), signs.UnixMilli()); err != nil {
			return fmt.Errorf("retire signing keys: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO signing_keys (id, private_key, created_at, signs_from) VALUES (?,?,?,?)`),
			k.ID, k.Private, at.UnixMilli(), signs.UnixMilli()); err != nil {
			if s.isUnique(err) {
				return pulse.Errorf(pulse.EConflict, "a signing key %q exists", k.ID)
			}
			return fmt.Errorf("add signing key: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	k.CreatedAt, k.SignsFrom, k.RetiredAt = at, signs, nil
	s.changed(pulse.TableSigningKeys)
	return nil
}

// DeleteSigningKeys implements pulse.Store.
func (s *Store) DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error) {
	res, err := s.exec(ctx, `DELETE FROM signing_keys WHERE retired_at IS NOT NULL AND retired_at < ?`, retiredBefore.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete signing keys: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		s.changed(pulse.TableSigningKeys)
	}
	return int(n), nil
}

const embedKeyCols = `id, name, secret, created_at, revoked_at`

func scanEmbedKey(r scanner) (*pulse.EmbedKey, error) {
	var k pulse.EmbedKey
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&k.ID, &k.Name, &k.Secret, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromMilli(created), fromNullMilli(revoked)
	return &k, nil
}

// CreateEmbedKey implements pulse.Store.
func (s *Store) CreateEmbedKey(ctx context.Context, k *pulse.EmbedKey) error {
	now := s.nowMilli()
	id := pulse.NewID("ek")
	if _, err := s.exec(ctx, `INSERT INTO embed_keys (`+embedKeyCols+`) VALUES (?,?,?,?,NULL)`,
		id, k.Name, k.Secret, now.UnixMilli()); err != nil {
		return fmt.Errorf("create embed key: %w", err)
	}
	k.ID, k.CreatedAt, k.RevokedAt = id, now, nil
	s.changed(pulse.TableEmbedKeys)
	return nil
}

// EmbedKey implements pulse.Store.
func (s *Store) EmbedKey(ctx context.Context, id string) (*pulse.EmbedKey, error) {
	var k *pulse.EmbedKey
	err := s.get(ctx, `SELECT `+embedKeyCols+` FROM embed_keys WHERE id = ?`, []any{id}, func(r scanner) (err error) {
		k, err = scanEmbedKey(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no embed key %q", id)
	}
	return k, err
}

// EmbedKeys implements pulse.Store.
func (s *Store) EmbedKeys(ctx context.Context) ([]*pulse.EmbedKey, error) {
	return list(ctx, s, `SELECT `+embedKeyCols+` FROM embed_keys ORDER BY created_at, rowid`, nil, scanEmbedKey)
}

// RevokeEmbedKey implements pulse.Store.
func (s *Store) RevokeEmbedKey(ctx context.Context, id string, now time.Time) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no embed key %q", id),
		`UPDATE embed_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		now.UTC().Truncate(time.Millisecond).UnixMilli(), id); err != nil {
		return fmt.Errorf("revoke embed key: %w", err)
	}
	s.changed(pulse.TableEmbedKeys)
	return nil
}
