package api

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/pulse"
)

// The admin panel (/admin) and the admin API (/api/admin/): every route but
// sign-in needs a session cookie or an API token; every state-changing
// request passes net/http's cross-origin protection.

// maxJSONBody bounds an admin API request body: a webhook naming the
// maximum 1000 media fits with room to spare.
const maxJSONBody = 1 << 20

type principalKey struct{}

func principal(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// adminRoutes adds the admin panel and the admin API to mux.
func (s *Server) adminRoutes(mux *http.ServeMux) {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/admin/me", s.handleMe)
	api.HandleFunc("GET /api/admin/webhooks", s.handleListWebhooks)
	api.HandleFunc("POST /api/admin/webhooks", s.handleCreateWebhook)
	api.HandleFunc("GET /api/admin/webhooks/{id}", s.handleGetWebhook)
	api.HandleFunc("PUT /api/admin/webhooks/{id}", s.handleReplaceWebhook)
	api.HandleFunc("PATCH /api/admin/webhooks/{id}", s.handlePatchWebhook)
	api.HandleFunc("DELETE /api/admin/webhooks/{id}", s.handleDeleteWebhook)
	api.HandleFunc("POST /api/admin/webhooks/{id}/activate", s.handleSetActive(true))
	api.HandleFunc("POST /api/admin/webhooks/{id}/deactivate", s.handleSetActive(false))
	api.HandleFunc("GET /api/admin/media", s.handleListMedia)
	api.HandleFunc("POST /api/admin/media", s.handleUpload)
	api.HandleFunc("GET /api/admin/media/{uuid}", s.handleGetMedia)
	api.HandleFunc("PATCH /api/admin/media/{uuid}", s.handlePatchMedia)
	api.HandleFunc("DELETE /api/admin/media/{uuid}", s.handleDeleteMedia)
	api.HandleFunc("GET /api/admin/tokens", s.handleListTokens)
	api.HandleFunc("POST /api/admin/tokens", s.handleCreateToken)
	api.HandleFunc("DELETE /api/admin/tokens/{id}", s.handleRevokeToken)
	api.HandleFunc("GET /api/admin/embed-keys", s.handleListEmbedKeys)
	api.HandleFunc("POST /api/admin/embed-keys", s.handleCreateEmbedKey)
	api.HandleFunc("DELETE /api/admin/embed-keys/{id}", s.handleRevokeEmbedKey)
	api.HandleFunc("/api/admin/", func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, pulse.Errorf(pulse.ENotFound, "no admin API at %s %s", r.Method, r.URL.Path))
	})
	mux.Handle("/api/admin/", s.crossOrigin(s.requireAPI(api)))

	mux.Handle("GET /admin/login", http.HandlerFunc(s.handleLoginPage))
	mux.Handle("POST /admin/login", s.crossOrigin(http.HandlerFunc(s.handleLogin)))
	mux.Handle("POST /admin/logout", s.crossOrigin(http.HandlerFunc(s.handleLogout)))
	mux.Handle("GET /admin", s.requirePage(http.HandlerFunc(s.handleAdminPage)))
	mux.Handle("GET /admin/{$}", s.requirePage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	})))
	mux.Handle("/admin/", s.crossOrigin(s.requirePage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setAdminHeaders(w, nil)
		http.Error(w, "404 page not found", http.StatusNotFound)
	}))))
}

// crossOrigin refuses cross-site state-changing requests (CSRF) with a JSON
// 403. Safe methods pass; so do requests without Origin and Sec-Fetch-Site
// headers, which browsers always send on cross-site POSTs (scripts with API
// tokens send neither and carry no ambient credentials).
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	return s.csrf.Handler(next)
}

func (s *Server) denyCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path,
		"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
	w.Header().Set("Cache-Control", "no-store")
	s.error(w, r, pulse.Errorf(pulse.EForbidden, "cross-origin request refused: the admin API only accepts requests from the admin panel's own origin or from scripts with an API token"))
}

// requireAPI answers 401 (JSON) to requests without valid credentials.
func (s *Server) requireAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		p, err := s.auth.Authenticate(r)
		if err != nil {
			if pulse.ErrorCode(err) == pulse.EUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pulse"`)
			}
			s.error(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// requirePage answers 401 with the sign-in form to anonymous visitors of
// admin pages; signing in brings them back where they were.
func (s *Server) requirePage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Authenticate(r)
		if err != nil {
			if pulse.ErrorCode(err) != pulse.EUnauthorized {
				s.error(w, r, err)
				return
			}
			msg := ""
			if s.auth.Cookie(r) != "" {
				msg = pulse.ErrorMessage(err) // "your session has expired: sign in again"
				s.auth.ClearCookie(w, r)
			}
			s.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: r.URL.RequestURI(), Error: msg})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// setAdminHeaders sets the security headers of admin pages: nobody may frame
// them, scripts and styles come only from this server, and connections go
// to this server and to the webhook origins (for "send test heartbeat").
func setAdminHeaders(w http.ResponseWriter, connect []string) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"media-src 'self'; connect-src "+strings.Join(append([]string{"'self'"}, connect...), " ")+
		"; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// cspOrigin returns the origin of a webhook URL as a CSP source, or "" when
// it cannot be written safely as one. It is the origin as the browser
// computes it (pulse.Origin: no default port, lower case), because admin.js
// compares the two to know whether the page may contact the webhook.
func cspOrigin(raw string) string {
	o, err := pulse.Origin(raw)
	if err != nil {
		return ""
	}
	for _, c := range strings.TrimPrefix(strings.TrimPrefix(o, "https://"), "http://") {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return ""
		}
	}
	return o
}

type loginData struct {
	Username string
	Next     string
	Error    string
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	setAdminHeaders(w, nil)
	d.Next = safeNext(d.Next)
	s.render(w, r, status, "admin_login.html", d)
}

// safeNext keeps redirects after sign-in inside the admin panel.
func safeNext(next string) string {
	if next == "/admin" || strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "/admin?") || strings.HasPrefix(next, "/admin#") {
		if !strings.ContainsAny(next, "\\\r\n") && !strings.HasPrefix(next, "/admin/login") {
			return next
		}
	}
	return "/admin"
}

func (s *Server) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := s.auth.Authenticate(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next")})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderLogin(w, r, http.StatusBadRequest, loginData{Error: "the sign-in form could not be read"})
		return
	}
	d := loginData{Username: r.PostForm.Get("username"), Next: r.PostForm.Get("next")}
	if len(d.Username) > pulse.MaxUsernameLen {
		d.Username = ""
	}
	secret, session, err := s.auth.Login(r.Context(), r.PostForm.Get("username"), r.PostForm.Get("password"), s.auth.ClientIP(r))
	if err != nil {
		status := statusOf(pulse.ErrorCode(err))
		if status >= 500 {
			s.log.Error("sign-in failed", "err", err)
		} else {
			s.log.Warn("sign-in refused", "user", d.Username, "ip", s.auth.ClientIP(r), "reason", pulse.ErrorMessage(err))
		}
		if wait := auth.RetryAfter(err); wait > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		}
		d.Error = pulse.ErrorMessage(err)
		s.renderLogin(w, r, status, d)
		return
	}
	s.log.Info("signed in", "user", d.Username, "ip", s.auth.ClientIP(r))
	s.auth.SetCookie(w, r, secret, session)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeNext(d.Next), http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if secret := s.auth.Cookie(r); secret != "" {
		if err := s.auth.Logout(r.Context(), secret); err != nil {
			s.error(w, r, err)
			return
		}
	}
	s.auth.ClearCookie(w, r)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

// adminConfig is what the admin page hands to admin.js.
type adminConfig struct {
	Username       string   `json:"username"`
	BaseURL        string   `json:"base_url"`
	MaxUpload      int64    `json:"max_upload"`
	MaxWebhooks    int      `json:"max_webhooks"`
	ConnectOrigins []string `json:"connect_origins"` // where the page may send test heartbeats
}

func (s *Server) handleAdminPage(w http.ResponseWriter, r *http.Request) {
	hooks, err := s.store.Webhooks(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	origins := []string{}
	seen := map[string]bool{}
	for _, h := range hooks {
		if o := cspOrigin(h.URL); o != "" && !seen[o] {
			seen[o] = true
			origins = append(origins, o)
		}
	}
	setAdminHeaders(w, origins)
	s.render(w, r, http.StatusOK, "admin.html", map[string]any{
		"Username": principal(r.Context()).Admin.Username,
		"Config": adminConfig{
			Username: principal(r.Context()).Admin.Username, BaseURL: s.baseURL(r), MaxUpload: s.lib.MaxSize,
			MaxWebhooks: s.cfg.MaxWebhooks, ConnectOrigins: origins,
		},
	})
}

// baseURL is the public URL of this server: the configured one, or the
// one the request was made to.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.BaseURL != "" {
		return strings.TrimSuffix(s.cfg.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r.Context())
	out := map[string]any{"username": p.Admin.Username, "via": p.Via()}
	if p.Session != nil {
		out["session_expires_at"] = p.Session.ExpiresAt
	}
	if p.Token != nil {
		out["token"] = p.Token
	}
	writeJSON(w, http.StatusOK, out)
}

// readJSON reads a JSON request body of at most maxJSONBody bytes.
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		return nil, pulse.Errorf(pulse.EUnsupported, "send the body as JSON with Content-Type: application/json (got %q)", r.Header.Get("Content-Type"))
	}
	if r.ContentLength > maxJSONBody {
		return nil, pulse.Errorf(pulse.EInvalid, "the request body is %d bytes: the limit is %d", r.ContentLength, maxJSONBody)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, pulse.Errorf(pulse.EInvalid, "the request body is larger than the limit of %d bytes", maxJSONBody)
	}
	if err != nil {
		return nil, pulse.Errorf(pulse.EInvalid, "the request body could not be read: %v", err)
	}
	return b, nil
}

func (s *Server) now() time.Time { return s.auth.Now() }
