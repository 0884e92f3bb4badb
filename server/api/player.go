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
	"slices"
	"strconv"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/wasm/audio"
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
	Token     string  `json:"token,omitempty"`   // the page token (PROTOCOL.md §5)
	Session   string  `json:"session,omitempty"` // the token's sid: the player's session
	Verified  bool    `json:"lv"`                // the link was signed and verified
}

// maxPlayerQuery bounds a player URL's query: ample for a 10 KB parameter,
// and no 1 MB pages for a 1 MB query.
const maxPlayerQuery = 32 << 10

func (s *Server) handlePlayerPage(w http.ResponseWriter, r *http.Request) {
	uuid := r.PathValue("uuid")
	if len(r.URL.RawQuery) > maxPlayerQuery {
		setPageHeaders(w, s.cfg.FrameAncestors)
		s.render(w, r, http.StatusRequestURITooLong, "badlink.html", map[string]string{
			"Message": "This link is too long: its parameters exceed 32 KB. Shorten the values in the link."})
		return
	}
	m, err := s.playerMedia(r, uuid)
	if pulse.ErrorCode(err) == pulse.ENotFound {
		setPageHeaders(w, s.cfg.FrameAncestors)
		s.render(w, r, http.StatusNotFound, "notfound.html", map[string]string{"UUID": uuid})
		return
	}
	if pulse.ErrorCode(err) == pulse.EUnavailable {
		s.unavailablePage(w, r, err)
		return
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	lv, err := s.checkLink(r)
	switch pulse.ErrorCode(err) {
	case "":
	case pulse.EForbidden:
		setPageHeaders(w, s.cfg.FrameAncestors)
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusForbidden, "badlink.html", map[string]string{"Message": pulse.ErrorMessage(err)})
		return
	case pulse.EUnavailable:
		// The link may well be good: the server cannot tell now.
		s.unavailablePage(w, r, err)
		return
	default:
		s.error(w, r, err)
		return
	}
	var fields []string
	cfgBody, err := s.cachedPlayerConfig(r.Context(), m.UUID)
	if err == nil {
		fields = cfgBody.requestFields
	}
	tok, sid, err := s.pageToken(r, m, fields, lv)
	if err != nil {
		// Tracking degrades, playback does not: the page goes out without a
		// token and the player makes its own session.
		s.log.Error("sign page token", "uuid", m.UUID, "err", err)
	}
	cfg := pageConfig{
		Token:     tok,
		Session:   sid,
		Verified:  lv,
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
		"IsMP3":        m.Type == "audio/mpeg",
		"DurationText": audio.Clock(m.Duration),
	})
}

// unavailablePage answers a player page that needs the database while it
// is away: 503, and a page that says to try again, not that the link is
// bad.
func (s *Server) unavailablePage(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Warn("player page failed: the database is unavailable", "path", r.URL.Path, "err", err)
	setPageHeaders(w, s.cfg.FrameAncestors)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "10")
	s.render(w, r, http.StatusServiceUnavailable, "badlink.html", map[string]string{
		"Title":   "Try again in a moment",
		"Heading": "The player cannot start right now",
		"Message": "Pulse cannot check this link at the moment: its database is unavailable. Nothing is wrong with the link: reload the page in a moment."})
}

// media returns the media with the uuid; a malformed uuid is not found.
func (s *Server) media(r *http.Request, uuid string) (*pulse.Media, error) {
	if !pulse.ValidUUID(uuid) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %s", pulse.QuoteID(uuid))
	}
	return s.store.Media(r.Context(), uuid)
}

// playerMedia is media through the cache, for the player's routes: they
// keep working while the database is down. The admin's read the store.
func (s *Server) playerMedia(r *http.Request, uuid string) (*pulse.Media, error) {
	if !pulse.ValidUUID(uuid) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %s", pulse.QuoteID(uuid))
	}
	m, err := cached(r.Context(), s.cache, "media "+uuid, func(ctx context.Context) (*pulse.Media, error) {
		return s.store.Media(ctx, uuid)
	})
	if err != nil {
		return nil, err
	}
	c := *m // callers may change their copy, not the cached one
	return &c, nil
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
	// RequireSignedLink: players opened without a verified signed link
	// send nothing to this webhook.
	RequireSignedLink bool `json:"require_signed_link"`
}

type playerConfig struct {
	UUID     string          `json:"uuid"`
	Webhooks []playerWebhook `json:"webhooks"`
}

func (s *Server) handlePlayerConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	uuid := r.PathValue("uuid")
	if !pulse.ValidUUID(uuid) {
		s.error(w, r, pulse.Errorf(pulse.ENotFound, "no media %s", pulse.QuoteID(uuid)))
		return
	}
	cfg, err := s.cachedPlayerConfig(r.Context(), uuid)
	if err != nil {
		s.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", cfg.etag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.ConfigMaxAge.Seconds())))
	if etagMatch(r.Header.Get("If-None-Match"), cfg.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.Write(cfg.body)
}

// jsonBody is a JSON response body and its ETag, a hash of the body.
type jsonBody struct {
	body []byte
	etag string
	// requestFields of the webhooks in the config, for the page token.
	requestFields []string
	// fields maps each webhook's response field to its request field.
	fields [][2]string
}

// RequestFields returns the request fields of the webhooks that apply to
// the media and send responseField: the URL parameters whose value, as the
// page token's q claim has it, a heartbeat's responseField must carry. It
// reads the cached player config, so it keeps working while the database
// is away. The demo receiver checks heartbeats with it.
func (s *Server) RequestFields(ctx context.Context, uuid, responseField string) ([]string, error) {
	if !pulse.ValidUUID(uuid) {
		return nil, pulse.Errorf(pulse.ENotFound, "no media %s", pulse.QuoteID(uuid))
	}
	cfg, err := s.cachedPlayerConfig(ctx, uuid)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range cfg.fields {
		if f[1] == responseField && !slices.Contains(out, f[0]) {
			out = append(out, f[0])
		}
	}
	return out, nil
}

func (s *Server) cachedPlayerConfig(ctx context.Context, uuid string) (*jsonBody, error) {
	return cached(ctx, s.cache, "config "+uuid, func(ctx context.Context) (*jsonBody, error) {
		return s.playerConfig(ctx, uuid)
	})
}

// playerConfig builds the player config of a media from the store.
func (s *Server) playerConfig(ctx context.Context, uuid string) (*jsonBody, error) {
	m, err := s.store.Media(ctx, uuid)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	cfg := playerConfig{UUID: m.UUID, Webhooks: []playerWebhook{}}
	var fields []string
	var pairs [][2]string
	for _, wh := range pulse.PlayerWebhooks(all, m.UUID) {
		fields = append(fields, wh.RequestField)
		pairs = append(pairs, [2]string{wh.RequestField, wh.ResponseField})
		cfg.Webhooks = append(cfg.Webhooks, playerWebhook{
			ID: wh.ID, URL: wh.URL, RequestField: wh.RequestField, ResponseField: wh.ResponseField,
			RPM: wh.RPM, Events: wh.Events, RequireParam: wh.RequireParam, RequireSignedLink: wh.RequireSignedLink,
		})
	}
	body, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	return &jsonBody{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, requestFields: fields, fields: pairs}, nil
}

func (s *Server) handleMediaFile(w http.ResponseWriter, r *http.Request) {
	m, err := s.playerMedia(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	path := filepath.Join(s.cfg.MediaDir, filepath.Base(m.File))
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("media file missing", "uuid", m.UUID, "path", path)
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
	m, err := s.playerMedia(r, r.PathValue("uuid"))
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
	w.Header().Set("Access-Control-Allow-Origin", "*") // as the media: for sandboxed players
	writeJSON(w, http.StatusOK, map[string]any{"uuid": m.UUID, "duration": m.Duration, "peaks": peaks})
}
