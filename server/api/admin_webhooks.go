package api

import (
	"net/http"
	"slices"

	"github.com/pulsehq/pulse/server/pulse"
)

// The webhooks admin API. POST creates (omitted fields take the protocol's
// defaults), PUT replaces (omitted fields return to their defaults), PATCH
// changes only the fields sent, and /activate and /deactivate switch a
// webhook on and off. Bodies are strict JSON; every refusal is a 400 naming
// the field, and nothing is stored.

// DefaultMaxWebhooks is the default limit on webhooks.
const DefaultMaxWebhooks = 100

// webhookJSON is a webhook as the admin API shows it.
type webhookJSON struct {
	*pulse.Webhook
	Warnings []string `json:"warnings"`
}

func showWebhook(w *pulse.Webhook) webhookJSON {
	warnings := w.Warnings()
	if warnings == nil {
		warnings = []string{}
	}
	return webhookJSON{Webhook: w, Warnings: warnings}
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.store.Webhooks(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]webhookJSON, 0, len(hooks))
	for _, h := range hooks {
		out = append(out, showWebhook(h))
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out, "limit": s.cfg.MaxWebhooks})
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	h, err := s.store.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, showWebhook(h))
}

// decodeWebhook reads the body onto into and validates the result; old is
// the stored webhook (nil on create), whose scope may name media deleted
// since.
func (s *Server) decodeWebhook(w http.ResponseWriter, r *http.Request, into, old *pulse.Webhook) error {
	body, err := readJSON(w, r)
	if err != nil {
		return err
	}
	if err := pulse.DecodeWebhook(body, into); err != nil {
		return err
	}
	if err := into.Validate(); err != nil {
		return err
	}
	// Media named in the scope must exist; those already named may have
	// been deleted since (they cover nothing then), so that a webhook
	// stays editable.
	for _, id := range into.Scope.Media {
		if old != nil && slices.Contains(old.Scope.Media, id) {
			continue
		}
		if _, err := s.store.Media(r.Context(), id); err != nil {
			if pulse.ErrorCode(err) == pulse.ENotFound {
				return pulse.FieldError("scope", "there is no media %q", id)
			}
			return err
		}
	}
	return nil
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	h := pulse.NewWebhook()
	if err := s.decodeWebhook(w, r, h, nil); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.CreateWebhook(r.Context(), h, s.cfg.MaxWebhooks); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("webhook created", "id", h.ID, "url", h.URL, "by", principal(r.Context()).Admin.Username)
	w.Header().Set("Location", "/api/admin/webhooks/"+h.ID)
	writeJSON(w, http.StatusCreated, showWebhook(h))
}

func (s *Server) handleReplaceWebhook(w http.ResponseWriter, r *http.Request) {
	s.updateWebhook(w, r, func(old *pulse.Webhook) *pulse.Webhook {
		h := pulse.NewWebhook()
		h.ID, h.CreatedAt = old.ID, old.CreatedAt
		return h
	})
}

func (s *Server) handlePatchWebhook(w http.ResponseWriter, r *http.Request) {
	s.updateWebhook(w, r, func(old *pulse.Webhook) *pulse.Webhook {
		h := *old
		h.Scope.Media = slices.Clone(old.Scope.Media)
		return &h
	})
}

// updateWebhook decodes the body onto start(stored) and stores the result.
func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, start func(old *pulse.Webhook) *pulse.Webhook) {
	old, err := s.store.Webhook(r.Context(), r.PathValue("id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := start(old)
	if err := s.decodeWebhook(w, r, h, old); err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.store.UpdateWebhook(r.Context(), h); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("webhook updated", "id", h.ID, "by", principal(r.Context()).Admin.Username)
	writeJSON(w, http.StatusOK, showWebhook(h))
}

func (s *Server) handleSetActive(active bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h, err := s.store.Webhook(r.Context(), r.PathValue("id"))
		if err != nil {
			s.error(w, r, err)
			return
		}
		h.Active = active
		if err := s.store.UpdateWebhook(r.Context(), h); err != nil {
			s.error(w, r, err)
			return
		}
		s.log.Info("webhook switched", "id", h.ID, "active", active, "by", principal(r.Context()).Admin.Username)
		writeJSON(w, http.StatusOK, showWebhook(h))
	}
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.store.DeleteWebhook(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("webhook deleted", "id", id, "by", principal(r.Context()).Admin.Username)
	w.WriteHeader(http.StatusNoContent)
}
