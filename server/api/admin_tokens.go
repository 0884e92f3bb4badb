package api

import (
	"net/http"

	"github.com/pulsehq/pulse/server/pulse"
)

// The API tokens admin API: list, create (the secret is in the answer and
// nowhere else), revoke.

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Tokens(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if list == nil {
		list = []*pulse.Token{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	body, err := readJSON(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	members, err := pulse.DecodeObject(body, []string{"name"})
	if err != nil {
		s.error(w, r, err)
		return
	}
	var name string
	if raw, ok := members["name"]; ok {
		if err := pulse.DecodeString("name", raw, &name); err != nil {
			s.error(w, r, err)
			return
		}
	}
	p := principal(r.Context())
	secret, t, err := s.auth.NewToken(r.Context(), p.Admin.ID, name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("API token created", "id", t.ID, "name", t.Name, "by", p.Admin.Username)
	w.Header().Set("Location", "/api/admin/tokens/"+t.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret})
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.store.RevokeToken(r.Context(), id, s.now()); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("API token revoked", "id", id, "by", principal(r.Context()).Admin.Username)
	w.WriteHeader(http.StatusNoContent)
}
