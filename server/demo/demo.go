// Package demo is Pulse's demo webhook receiver: it does what the seed's
// Express example does (CORS, parse the FormData body, log
// "student <id> is at <position>s in video <uuid>") and shows the
// heartbeats it received, newest first, on a page that updates live.
// `pulse serve` mounts it at /demo/receiver; scripts/receiver runs it alone.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/receiver"
	"github.com/pulsehq/pulse/server/token"
	"github.com/pulsehq/pulse/web"
)

// Keep is how many heartbeats the receiver remembers, and MaxValue how
// much of each field value: the demo is public, so what anyone posts must
// not grow without bound.
const (
	Keep     = 500
	MaxValue = 2048
)

// Entry is one request the receiver saw.
type Entry struct {
	ID          int         `json:"id"`
	Received    time.Time   `json:"received"`
	Method      string      `json:"method"`
	Origin      string      `json:"origin"`
	ContentType string      `json:"content_type"`
	UUID        string      `json:"uuid,omitempty"`
	Position    string      `json:"position,omitempty"`
	Event       string      `json:"event,omitempty"`
	Field       string      `json:"field,omitempty"` // the response field, such as student_id
	Value       string      `json:"value,omitempty"` // its value
	Fields      [][2]string `json:"fields,omitempty"`
	Error       string      `json:"error,omitempty"` // why the request was refused
	// Verified says what the page token proves: "verified",
	// "verified, signed link", "unverified: <why>", or "" without a token
	// (seed mode) or without a Verifier.
	Verified string `json:"verified,omitempty"`
}

// Receiver is the demo receiver, an http.Handler serving everything under
// its prefix: POST prefix (heartbeats), GET prefix (the page),
// GET prefix/heartbeats.json and GET prefix/events (server-sent events).
type Receiver struct {
	// Verifier, when set, checks each heartbeat's page token against the
	// Pulse server's JWKS (PROTOCOL.md §5).
	Verifier *receiver.Verifier
	// RequestFields, when set, returns the request fields of the media's
	// webhooks that send responseField: the heartbeat's value must be the
	// token's q value under one of them, as a real receiver checks it.
	// Without it (a receiver that does not know the webhooks), a value the
	// page was opened with under any request field is accepted: weaker.
	RequestFields func(ctx context.Context, uuid, responseField string) ([]string, error)

	prefix string
	log    *slog.Logger
	out    io.Writer // where the seed's log line goes
	page   *template.Template

	mu         sync.Mutex
	entries    []Entry // oldest first, at most Keep
	next       int
	preflights int
	subs       map[chan Entry]struct{}
}

// New returns a receiver serving under prefix (such as "/demo/receiver"),
// writing one line per heartbeat to out.
func New(prefix string, out io.Writer, log *slog.Logger) *Receiver {
	page := template.Must(template.ParseFS(web.Templates(), "receiver.html"))
	return &Receiver{prefix: strings.TrimSuffix(prefix, "/"), out: out, log: log, page: page, subs: map[chan Entry]struct{}{}}
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch rest := strings.TrimPrefix(r.URL.Path, rc.prefix); {
	case r.Method == http.MethodOptions:
		rc.mu.Lock()
		rc.preflights++
		rc.mu.Unlock()
		receiver.CORS(nil).ServeHTTP(w, r)
	case r.Method == http.MethodPost && (rest == "" || rest == "/"):
		receiver.CORS(http.HandlerFunc(rc.receive)).ServeHTTP(w, r)
	case r.Method == http.MethodGet && (rest == "" || rest == "/"):
		rc.servePage(w, r)
	case r.Method == http.MethodGet && rest == "/heartbeats.json":
		rc.serveJSON(w, r)
	case r.Method == http.MethodGet && rest == "/events":
		rc.serveEvents(w, r)
	case r.Method == http.MethodGet && (rest == "/receiver.js" || rest == "/site.css"):
		rc.serveAsset(w, r, path.Base(rest))
	case r.Method == http.MethodDelete && rest == "/heartbeats":
		rc.mu.Lock()
		rc.entries, rc.preflights = nil, 0
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func (rc *Receiver) receive(w http.ResponseWriter, r *http.Request) {
	e := Entry{Received: time.Now().UTC(), Method: r.Method, Origin: r.Header.Get("Origin")}
	e.ContentType, _, _ = mime.ParseMediaType(r.Header.Get("Content-Type"))
	hb, err := receiver.Parse(r)
	if err != nil {
		e.Error = err.Error()
		rc.add(e)
		rc.log.Info("demo receiver refused a request", "origin", e.Origin, "err", err)
		http.Error(w, err.Error(), receiver.Status(err))
		return
	}
	e.UUID, e.Position, e.Event = clip(hb.UUID), clip(hb.Position), clip(hb.Event)
	for _, f := range hb.Fields {
		e.Fields = append(e.Fields, [2]string{clip(f[0]), clip(f[1])})
	}
	e.Field, e.Value = hb.Custom()
	if rc.Verifier != nil && hb.Token != "" {
		c, err := rc.verify(r.Context(), hb, e.Field)
		switch {
		case err != nil:
			e.Verified = "unverified: " + strings.TrimPrefix(strings.TrimPrefix(err.Error(), "receiver: "), "token: ")
		case c.LV:
			e.Verified = "verified, signed link"
		default:
			e.Verified = "verified"
		}
	}
	if hb.Token == "" && hb.Event != "" && rc.Verifier != nil {
		// An extended payload always carries a token; seed mode has none.
		e.Verified = "unverified: no token"
	}
	e.Field, e.Value = clip(e.Field), clip(e.Value)
	rc.add(e)
	who := e.Value
	if who == "" {
		who = "(anonymous)"
	}
	fmt.Fprintf(rc.out, "student %s is at %ss in video %s\n", printable(who), hb.Position, printable(hb.UUID))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "OK")
}

// verify checks hb's token and that its value under field is the one the
// token vouches for.
func (rc *Receiver) verify(ctx context.Context, hb *receiver.Heartbeat, field string) (*token.Claims, error) {
	if rc.RequestFields == nil {
		return rc.Verifier.Verify(ctx, hb, receiver.Expect{ResponseField: field})
	}
	fields, err := rc.RequestFields(ctx, hb.UUID, field)
	if err != nil {
		return nil, fmt.Errorf("cannot tell which URL parameter %s comes from: %s", field, pulse.ErrorMessage(err))
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: no webhook of this media sends %q", receiver.ErrMismatch, field)
	}
	var first error
	for _, f := range fields {
		c, err := rc.Verifier.Verify(ctx, hb, receiver.Expect{RequestField: f, ResponseField: field})
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// clip bounds a value kept for display.
func clip(s string) string {
	if len(s) <= MaxValue {
		return s
	}
	return strings.ToValidUTF8(s[:MaxValue], "") + "…"
}

// printable keeps a log line on one line whatever a client sends.
func printable(s string) string {
	const max = 200
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

func (rc *Receiver) add(e Entry) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.next++
	e.ID = rc.next
	rc.entries = append(rc.entries, e)
	if len(rc.entries) > Keep {
		rc.entries = rc.entries[len(rc.entries)-Keep:]
	}
	for ch := range rc.subs {
		select {
		case ch <- e:
		default: // a slow page misses an update, the list on reload has it
		}
	}
}

// Entries returns what was received, newest first, and how many preflight
// (OPTIONS) requests arrived.
func (rc *Receiver) Entries() ([]Entry, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Entry, len(rc.entries))
	for i, e := range rc.entries {
		out[len(out)-1-i] = e
	}
	return out, rc.preflights
}

func (rc *Receiver) serveJSON(w http.ResponseWriter, r *http.Request) {
	entries, preflights := rc.Entries()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	json.NewEncoder(w).Encode(map[string]any{"heartbeats": entries, "preflights": preflights})
}

func (rc *Receiver) servePage(w http.ResponseWriter, r *http.Request) {
	entries, preflights := rc.Entries()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(entries) > 200 {
		entries = entries[:200]
	}
	err := rc.page.Execute(w, map[string]any{"Prefix": rc.prefix, "Entries": entries, "Preflights": preflights})
	if err != nil {
		rc.log.Error("render receiver page", "err", err)
	}
}

func (rc *Receiver) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(web.Static(), name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

// serveEvents streams new entries as server-sent events until the client
// goes away.
func (rc *Receiver) serveEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := make(chan Entry, 64)
	rc.mu.Lock()
	rc.subs[ch] = struct{}{}
	rc.mu.Unlock()
	defer func() {
		rc.mu.Lock()
		delete(rc.subs, ch)
		rc.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": connected\n\n")
	flusher.Flush()
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			b, _ := json.Marshal(e)
			fmt.Fprintf(w, "data: %s\n\n", b)
			flusher.Flush()
		case <-ping.C:
			io.WriteString(w, ": ping\n\n")
			flusher.Flush()
		}
	}
}
