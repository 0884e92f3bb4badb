// Package api is Pulse's HTTP layer: the player page, the player config API,
// media files, static assets and the demo receiver. Handlers get their
// dependencies through Server; every route is listed in routes.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/keyring"
	"github.com/pulsehq/pulse/server/library"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/web"
)

// Config is what the HTTP layer needs to know of its deployment.
type Config struct {
	// MediaDir is the folder that holds media files.
	MediaDir string
	// FrameAncestors is the CSP frame-ancestors source list of the player
	// page: who may embed it. Empty means anyone ("*"); New refuses a list
	// that ParseFrameAncestors refuses.
	FrameAncestors string
	// ConfigMaxAge is how long browsers and proxies may cache a player
	// config. Zero means 60 s.
	ConfigMaxAge time.Duration
	// BaseURL is the public URL of the server, for links the admin panel
	// shows; empty means the URL each request was made to.
	BaseURL string
	// Issuer is the iss of page tokens: the one public URL of the server,
	// whatever host a page was opened at, so that receivers (the demo's
	// included) can expect it. Empty means BaseURL, or when that is empty
	// too, the URL each request was made to.
	Issuer string
	// MaxWebhooks limits how many webhooks may exist; zero means
	// DefaultMaxWebhooks.
	MaxWebhooks int
	// MaxUpload limits the size of an uploaded media file in bytes; zero
	// means library.DefaultMaxSize.
	MaxUpload int64
	// Auth signs admins in; nil means one with default settings.
	Auth *auth.Auth
	// Keys signs page tokens; nil means a keyring on the store with the
	// default token lifetime.
	Keys *keyring.Keyring
	// CacheTTL bounds how long player configs and media stay cached in
	// this process when the store reports no change (see cache); zero
	// means DefaultCacheTTL, negative turns the cache off.
	CacheTTL time.Duration
}

// Server serves Pulse over HTTP.
type Server struct {
	cfg    Config
	store  pulse.Store
	log    *slog.Logger
	assets *assets
	pages  *template.Template
	extra  map[string]http.Handler
	auth   *auth.Auth
	lib    *library.Library
	csrf   *http.CrossOriginProtection
	keys   *keyring.Keyring
	cache  *cache
}

// New returns a Server. Mount adds handlers, such as the demo receiver,
// before Handler is called.
func New(cfg Config, store pulse.Store, log *slog.Logger) (*Server, error) {
	if cfg.ConfigMaxAge == 0 {
		cfg.ConfigMaxAge = 60 * time.Second
	}
	fa, err := ParseFrameAncestors(cfg.FrameAncestors)
	if err != nil {
		return nil, err
	}
	cfg.FrameAncestors = fa
	if cfg.MaxWebhooks <= 0 {
		cfg.MaxWebhooks = DefaultMaxWebhooks
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = library.DefaultMaxSize
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.New(store, auth.Config{})
	}
	if cfg.Keys == nil {
		cfg.Keys = keyring.New(store, 0)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	s := &Server{cfg: cfg, store: store, log: log, assets: newAssets(web.Static()), extra: map[string]http.Handler{},
		auth: cfg.Auth, lib: &library.Library{Store: store, Dir: cfg.MediaDir, MaxSize: cfg.MaxUpload},
		csrf: http.NewCrossOriginProtection(), keys: cfg.Keys, cache: newCache(cfg.CacheTTL, log)}
	s.cache.watch(store)
	if w, ok := store.(pulse.Watcher); ok {
		// Another instance or `pulse keys rotate` changed the keys:
		// publish the new one at once rather than after keyring.Refresh.
		w.Watch(func(table string) {
			if table == "" || table == pulse.TableSigningKeys {
				s.keys.Invalidate()
			}
		})
	}
	s.csrf.SetDenyHandler(http.HandlerFunc(s.denyCrossOrigin))
	pages, err := template.New("").Funcs(template.FuncMap{"asset": s.assets.url}).ParseFS(web.Templates(), "*.html")
	if err != nil {
		return nil, err
	}
	s.pages = pages
	return s, nil
}

// Mount serves h under the pattern (a net/http ServeMux pattern).
func (s *Server) Mount(pattern string, h http.Handler) { s.extra[pattern] = h }

// Handler returns the server's handler with every route.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routes(mux)
	for p, h := range s.extra {
		mux.Handle(p, h)
	}
	return s.recoverer(s.logRequests(mux))
}

// routes lists every route of the server in one place.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.Handle("GET /static/", s.assets)
	mux.HandleFunc("GET /v/{uuid}", s.handlePlayerPage)
	mux.HandleFunc("GET /api/player/{uuid}/webhooks", s.handlePlayerConfig)
	mux.HandleFunc("GET /media/{uuid}", s.handleMediaFile)
	mux.HandleFunc("GET /media/{uuid}/peaks", s.handlePeaks)
	mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	mux.HandleFunc("GET /embed.js", s.handleEmbedJS)
	s.adminRoutes(mux) // /admin and /api/admin/: admin_*.go
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleIndex is a landing page. It lists no media: a player link is only
// known to those it was given to.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w, "'none'")
	s.render(w, r, http.StatusOK, "index.html", nil)
}

// render executes a page template into a buffer first, so that a failing
// template becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// setPageHeaders sets the security headers of an HTML page; frameAncestors
// says who may embed it.
func setPageHeaders(w http.ResponseWriter, frameAncestors string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "+
		"img-src 'self' data:; media-src 'self' blob:; connect-src *; base-uri 'none'; form-action 'self'; "+
		"frame-ancestors "+frameAncestors)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin")
	if frameAncestors == "'none'" {
		h.Set("X-Frame-Options", "DENY")
	}
}

// errorBody is the JSON shape of every API error.
type errorBody struct {
	Error *pulse.Error `json:"error"`
}

// error answers with err mapped to a status code and a JSON body. Internal
// errors are logged and never shown in detail.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := pulse.ErrorCode(err)
	status := statusOf(code)
	e := &pulse.Error{Code: code, Message: pulse.ErrorMessage(err)}
	var pe *pulse.Error
	if errors.As(err, &pe) {
		e.Field = pe.Field
	}
	switch {
	case status == http.StatusServiceUnavailable:
		s.log.Warn("request failed: the database is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	case status >= 500:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{e})
}

func statusOf(code string) int {
	switch code {
	case pulse.EInvalid:
		return http.StatusBadRequest
	case pulse.ENotFound:
		return http.StatusNotFound
	case pulse.EConflict, pulse.ELimit:
		return http.StatusConflict
	case pulse.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case pulse.EUnsupported:
		return http.StatusUnsupportedMediaType
	case pulse.EUnauthorized:
		return http.StatusUnauthorized
	case pulse.EForbidden:
		return http.StatusForbidden
	case pulse.ERateLimited:
		return http.StatusTooManyRequests
	case pulse.EUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// recoverer turns a panicking handler into a logged 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers (server-sent events) flush through.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start))
	})
}
