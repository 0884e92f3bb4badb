package pulse

import (
	"context"
	"time"
)

// Store keeps webhooks, media, admins, their sessions and API tokens, the
// keys that sign page tokens and the embed keys that sign player links.
// Implementations live in their own
// packages (sqlite); handlers depend on this interface only.
//
// Methods return an *Error with ENotFound for unknown ids and ELimit when
// a limit is reached; other errors are internal.
type Store interface {
	// CreateWebhook stores w, which must be valid, and sets its ID and
	// timestamps. It fails with ELimit when limit webhooks exist already
	// (limit <= 0 means no limit).
	CreateWebhook(ctx context.Context, w *Webhook, limit int) error
	// Webhook returns the webhook with the id.
	Webhook(ctx context.Context, id string) (*Webhook, error)
	// Webhooks returns every webhook, oldest first.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// UpdateWebhook replaces the stored webhook with w's ID and sets
	// UpdatedAt.
	UpdateWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook removes the webhook with the id.
	DeleteWebhook(ctx context.Context, id string) error

	// CreateMedia stores m and sets its CreatedAt. m.UUID must be set.
	CreateMedia(ctx context.Context, m *Media) error
	// Media returns the media with the uuid, peaks included.
	Media(ctx context.Context, uuid string) (*Media, error)
	// MediaList returns every media, newest first, without peaks.
	MediaList(ctx context.Context) ([]*Media, error)
	// UpdateMedia stores m's title.
	UpdateMedia(ctx context.Context, m *Media) error
	// DeleteMedia removes the media with the uuid; its file is the caller's.
	DeleteMedia(ctx context.Context, uuid string) error

	// CreateAdmin stores a, whose Username and PasswordHash must be set,
	// and sets its ID and timestamps. It fails with EConflict when the
	// user name is taken.
	CreateAdmin(ctx context.Context, a *Admin) error
	// Admin returns the admin with the id.
	Admin(ctx context.Context, id string) (*Admin, error)
	// AdminByUsername returns the admin with the user name.
	AdminByUsername(ctx context.Context, username string) (*Admin, error)
	// Admins returns every admin, oldest first.
	Admins(ctx context.Context) ([]*Admin, error)
	// SetAdminPassword replaces the admin's password hash and ends every
	// session of that admin, in one transaction.
	SetAdminPassword(ctx context.Context, id, hash string) error

	// CreateSession stores s; its ID (a hash) and AdminID must be set.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with the id, expired or not: callers
	// check Expired.
	Session(ctx context.Context, id string) (*Session, error)
	// DeleteSession removes the session with the id.
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes the sessions expired at now and returns
	// how many.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// CreateToken stores t, whose Name, Prefix, Hash and AdminID must be
	// set, and sets its ID and CreatedAt.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the token whose secret has the hash, revoked or
	// not: callers check Revoked.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// Tokens returns every token, revoked ones included, oldest first.
	Tokens(ctx context.Context) ([]*Token, error)
	// RevokeToken marks the token revoked at now. Revoking a revoked token
	// changes nothing and is not an error.
	RevokeToken(ctx context.Context, id string, now time.Time) error
	// TouchToken records that the token was used at now.
	TouchToken(ctx context.Context, id string, now time.Time) error

	// SigningKeys returns every page-token signing key, retired ones
	// included, oldest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
	// AddSigningKey stores k, whose ID, Private and CreatedAt must be set
	// (a zero SignsFrom means CreatedAt), and retires every key not yet
	// retired at k.SignsFrom, in one transaction: from k.SignsFrom on, k is
	// the only key that signs, and until then the keys that signed go on.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// DeleteSigningKeys removes the keys retired before t and returns how
	// many.
	DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error)

	// CreateEmbedKey stores k, whose Name and Secret must be set, and sets
	// its ID and CreatedAt.
	CreateEmbedKey(ctx context.Context, k *EmbedKey) error
	// EmbedKey returns the embed key with the id, revoked or not: callers
	// check Revoked.
	EmbedKey(ctx context.Context, id string) (*EmbedKey, error)
	// EmbedKeys returns every embed key, revoked ones included, oldest first.
	EmbedKeys(ctx context.Context) ([]*EmbedKey, error)
	// RevokeEmbedKey marks the key revoked at now. Revoking a revoked key
	// changes nothing and is not an error.
	RevokeEmbedKey(ctx context.Context, id string, now time.Time) error

	// Close releases the store.
	Close() error
}

// Watcher is implemented by stores that report changes to their data,
// whoever made them: this process, another instance on the same database,
// or a command-line tool. Instances drop cached data on these reports.
type Watcher interface {
	// Watch calls f after a change to one of the tables below is committed,
	// with the table's name, or with "" when changes may have been missed
	// (the store lost its notification channel for a while): anything may
	// have changed. f is called from the writing goroutine or the store's
	// own and must not block. cancel stops the reports to f.
	Watch(f func(table string)) (cancel func())
}

// The tables a Watcher reports changes of: what instances may cache.
const (
	TableWebhooks    = "webhooks"
	TableMedia       = "media"
	TableSigningKeys = "signing_keys"
	TableEmbedKeys   = "embed_keys"
)

// PlayerWebhooks returns the active webhooks of ws that apply to the media.
func PlayerWebhooks(ws []*Webhook, mediaUUID string) []*Webhook {
	var out []*Webhook
	for _, w := range ws {
		if w.Active && w.Scope.Covers(mediaUUID) {
			out = append(out, w)
		}
	}
	return out
}
