package pulse

import "context"

// Store keeps webhooks and media. Implementations live in their own
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

	// Close releases the store.
	Close() error
}

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
