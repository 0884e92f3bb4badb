package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulsehq/pulse/server/pulse"
)

const webhookCols = `id, name, url, request_field, response_field, rpm, active, events, require_param, require_signed_link, scope, created_at, updated_at`

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
	w.CreatedAt, w.UpdatedAt = fromMilli(created), fromMilli(updated)
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
	now := s.nowMilli()
	id := pulse.NewID("wh")
	err := s.tx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if limit > 0 {
			if s.d.LockWebhooks != "" {
				if _, err := tx.ExecContext(ctx, s.d.LockWebhooks); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhooks`).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return pulse.Errorf(pulse.ELimit, "the limit of %d webhooks is reached: delete one first", limit)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhooks (`+webhookCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`),
			id, w.Name, w.URL, w.RequestField, w.ResponseField, w.RPM, b2i(w.Active), b2i(w.Events), b2i(w.RequireParam),
			b2i(w.RequireSignedLink), scopeColumn(w.Scope), now.UnixMilli(), now.UnixMilli()); err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.ID, w.CreatedAt, w.UpdatedAt = id, now, now
	s.changed(pulse.TableWebhooks)
	return nil
}

// Webhook implements pulse.Store.
func (s *Store) Webhook(ctx context.Context, id string) (*pulse.Webhook, error) {
	var w *pulse.Webhook
	err := s.get(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE id = ?`, []any{id}, func(r scanner) (err error) {
		w, err = scanWebhook(r)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no webhook %q", id)
	}
	return w, err
}

// Webhooks implements pulse.Store.
func (s *Store) Webhooks(ctx context.Context) ([]*pulse.Webhook, error) {
	return list(ctx, s, `SELECT `+webhookCols+` FROM webhooks ORDER BY created_at, rowid`, nil, scanWebhook)
}

// UpdateWebhook implements pulse.Store.
func (s *Store) UpdateWebhook(ctx context.Context, w *pulse.Webhook) error {
	now := s.nowMilli()
	err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no webhook %q", w.ID),
		`UPDATE webhooks SET name=?, url=?, request_field=?, response_field=?, rpm=?, active=?,
		events=?, require_param=?, require_signed_link=?, scope=?, updated_at=? WHERE id=?`,
		w.Name, w.URL, w.RequestField, w.ResponseField, w.RPM, b2i(w.Active), b2i(w.Events), b2i(w.RequireParam),
		b2i(w.RequireSignedLink), scopeColumn(w.Scope), now.UnixMilli(), w.ID)
	if err != nil {
		return fmt.Errorf("update webhook: %w", err)
	}
	w.UpdatedAt = now
	s.changed(pulse.TableWebhooks)
	return nil
}

// DeleteWebhook implements pulse.Store.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no webhook %q", id), `DELETE FROM webhooks WHERE id = ?`, id); err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	s.changed(pulse.TableWebhooks)
	return nil
}

// CreateMedia implements pulse.Store.
func (s *Store) CreateMedia(ctx context.Context, m *pulse.Media) error {
	created := s.nowMilli()
	if _, err := s.exec(ctx, `INSERT INTO media (uuid, title, type, size, duration, file, peaks, created_at) VALUES (?,?,?,?,?,?,?,?)`,
		m.UUID, m.Title, m.Type, m.Size, m.Duration, m.File, m.Peaks, created.UnixMilli()); err != nil {
		return fmt.Errorf("create media: %w", err)
	}
	m.CreatedAt = created
	s.changed(pulse.TableMedia)
	return nil
}

// Media implements pulse.Store.
func (s *Store) Media(ctx context.Context, uuid string) (*pulse.Media, error) {
	var m pulse.Media
	var created int64
	err := s.get(ctx, `SELECT uuid, title, type, size, duration, file, peaks, created_at FROM media WHERE uuid = ?`, []any{uuid},
		func(r scanner) error {
			return r.Scan(&m.UUID, &m.Title, &m.Type, &m.Size, &m.Duration, &m.File, &m.Peaks, &created)
		})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
	}
	if err != nil {
		return nil, err
	}
	m.CreatedAt = fromMilli(created)
	return &m, nil
}

// MediaList implements pulse.Store.
func (s *Store) MediaList(ctx context.Context) ([]*pulse.Media, error) {
	return list(ctx, s, `SELECT uuid, title, type, size, duration, file, created_at FROM media ORDER BY created_at DESC, rowid DESC`, nil,
		func(r scanner) (*pulse.Media, error) {
			var m pulse.Media
			var created int64
			if err := r.Scan(&m.UUID, &m.Title, &m.Type, &m.Size, &m.Duration, &m.File, &created); err != nil {
				return nil, err
			}
			m.CreatedAt = fromMilli(created)
			return &m, nil
		})
}

// UpdateMedia implements pulse.Store.
func (s *Store) UpdateMedia(ctx context.Context, m *pulse.Media) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no media %q", m.UUID), `UPDATE media SET title = ? WHERE uuid = ?`, m.Title, m.UUID); err != nil {
		return fmt.Errorf("update media: %w", err)
	}
	s.changed(pulse.TableMedia)
	return nil
}

// DeleteMedia implements pulse.Store.
func (s *Store) DeleteMedia(ctx context.Context, uuid string) error {
	if err := s.affected(ctx, pulse.Errorf(pulse.ENotFound, "no media %q", uuid), `DELETE FROM media WHERE uuid = ?`, uuid); err != nil {
		return fmt.Errorf("delete media: %w", err)
	}
	s.changed(pulse.TableMedia)
	return nil
}
