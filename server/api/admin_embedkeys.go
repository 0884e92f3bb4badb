package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/pulsehq/pulse/server/pulse"
)

// The embed keys admin API (PROTOCOL.md §5 signed links): list, create (the
// secret is in the answer and nowhere else the admin can see it again),
// revoke.

func (s *Server) handleListEmbedKeys(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.EmbedKeys(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	if list == nil {
		list = []*pulse.EmbedKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"embed_keys": list})
}

func (s *Server) handleCreateEmbedKey(w http.ResponseWriter, r *http.Request) {
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
	if err := pulse.ValidateKeyName(name); err != nil {
		s.error(w, r, err)
		return
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		s.error(w, r, err)
		return
	}
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	k := &pulse.EmbedKey{Name: strings.TrimSpace(name), Secret: []byte(secret)}
	if err := s.store.CreateEmbedKey(r.Context(), k); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("embed key created", "id", k.ID, "name", k.Name, "by", principal(r.Context()).Admin.Username)
	w.Header().Set("Location", "/api/admin/embed-keys/"+k.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"embed_key": k, "secret": secret})
}

func (s *Server) handleRevokeEmbedKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.store.RevokeEmbedKey(r.Context(), id, s.now()); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("embed key revoked", "id", id, "by", principal(r.Context()).Admin.Username)
	w.WriteHeader(http.StatusNoContent)
}
