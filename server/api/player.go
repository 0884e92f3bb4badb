package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/wasm/ui"
)

// pageConfig is what the player page hands to the wasm player.
type pageConfig struct {
	UUID      string  `json:"uuid"`
	Title     string  `json:"title"`
	MediaURL  string  `json:"media_url"`
	Type      string  `json:"type"`
	Duration  float64 `json:"duration,omitempty"`
	ConfigURL string  `json:"config_url"`
	PeaksURL  string  `json:"peaks_url,omitempty"`
}

func (s *Server) handlePlayerPage(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	m, err := s.media(r, uuid)
	if pulse.ErrorCode(err) == pulse.ENotFound {
		setPageHeaders(w, s.cfg.FrameAncestors)
		s.render(w, r, http.StatusNotFound, "notfound.html", map[string]string{"UUID": uuid})
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	cfg := pageConfig{
		UUID:      m.UUID,
		Title:     m.Title,
		MediaURL:  "/media/" + m.UUID,
		Type:      m.Type,
		Duration:  m.Duration,
		ConfigURL: "/api/player/" + m.UUID + "/webhooks",
	}
	if len(m.Peaks) > 0 {
		cfg.PeaksURL = "/media/" + m.UUID + "/peaks"
	}
	setPageHeaders(w, s.cfg.FrameAncestors)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "player.html", map[string]any{
		"Media":        m,
		"MediaURL":     cfg.MediaURL,
		"Config":       cfg,
		"Duration":     strconv.FormatFloat(m.Duration, 'f', 3, 64),
		"DurationText": ui.Clock(m.Duration),
	})
}

// media returns the media with the uuid; a malformed uuid is not found.
func (s *Server) media(r *http.Request, uuid string) (*pulse.Media, error) {
	if !pulse.ValidUUID(uuid) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
	}
	return s.store.Media(r.Context(), uuid)
}

// playerWebhook is the part of a webhook a player needs (PROTOCOL.md §2).
type playerWebhook struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	RequestField  string `json:"request_field"`
	ResponseField string `json:"response_field"`
	RPM           int    `json:"rpm"`
	Events        bool   `json:"events"`
	RequireParam  bool   `json:"require_param"`
}

type playerConfig struct {
	UUID     string          `json:"uuid"`
	Webhooks []playerWebhook `json:"webhooks"`
}

func (s *Server) handlePlayerConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	uuid := r.PathValue("uuid")
	body, etag, err := s.configs.get(uuid, func() ([]byte, string, error) {
		// Waiting requests share this result: it must not end with the
		// first one's connection.
		return s.renderConfig(context.WithoutCancel(r.Context()), uuid)
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.ConfigMaxAge.Seconds())))
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
}

// renderConfig returns the player config of a media (PROTOCOL.md §2) as
// the response body and its ETag.
func (s *Server) renderConfig(ctx context.Context, uuid string) ([]byte, string, error) {
	if !pulse.ValidUUID(uuid) {
		return nil, "", pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
	}
	m, err := s.store.Media(ctx, uuid)
	if err != nil {
		return nil, "", err
	}
	all, err := s.store.Webhooks(ctx)
	if err != nil {
		return nil, "", err
	}
	cfg := playerConfig{UUID: m.UUID, Webhooks: []playerWebhook{}}
	for _, wh := range pulse.PlayerWebhooks(all, m.UUID) {
		cfg.Webhooks = append(cfg.Webhooks, playerWebhook{
			ID: wh.ID, URL: wh.URL, RequestField: wh.RequestField, ResponseField: wh.ResponseField,
			RPM: wh.RPM, Events: wh.Events, RequireParam: wh.RequireParam,
		})
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(body)
	return append(body, '\n'), `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}

func (s *Server) handleMediaFile(w http.ResponseWriter, r *http.Request) {
	m, err := s.media(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.MediaDir, filepath.Base(m.File)))
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("media file missing", "uuid", m.UUID, "file", m.File, "dir", s.cfg.MediaDir)
		s.error(w, r, pulse.Errorf(pulse.ENotFound, "the file of media %q is missing on this server", m.UUID))
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", m.Type)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) handlePeaks(w http.ResponseWriter, r *http.Request) {
	m, err := s.media(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(m.Peaks) == 0 {
		s.error(w, r, pulse.Errorf(pulse.ENotFound, "media %q has no waveform", m.UUID))
		return
	}
	peaks := make([]int, len(m.Peaks))
	for i, p := range m.Peaks {
		peaks[i] = int(p)
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSON(w, http.StatusOK, map[string]any{"uuid": m.UUID, "duration": m.Duration, "peaks": peaks})
}
