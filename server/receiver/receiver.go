// Package receiver is a kit for writing Pulse webhook receivers in Go: it
// answers CORS the way players need it and parses a heartbeat request into
// a typed Heartbeat, with size limits and precise errors.
//
//	http.Handle("/video-tracking", receiver.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		hb, err := receiver.Parse(r)
//		if err != nil {
//			http.Error(w, err.Error(), receiver.Status(err))
//			return
//		}
//		log.Printf("student %s is at %ss in video %s", hb.Get("student_id"), hb.Position, hb.UUID)
//	})))
package receiver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxBodyBytes bounds a heartbeat body. A real one is well under 16 KB
// (a 10 KB URL parameter and a page token included).
const MaxBodyBytes = 64 << 10

// Reserved lists the payload names Pulse itself sends (PROTOCOL.md §3);
// any other field is a webhook's response field.
var Reserved = []string{"uuid", "position", "event", "duration", "session", "seq", "watched", "progress", "token"}

// Heartbeat is one parsed heartbeat request.
type Heartbeat struct {
	UUID     string  // the media's uuid
	Position string  // playback position in seconds, as sent
	Seconds  float64 // Position as a number
	Event    string  // play, heartbeat, pause, …; "" in seed mode
	Session  string  // player session; "" in seed mode
	Seq      int     // per session and webhook; 0 in seed mode
	Duration string  // "" while unknown or in seed mode
	Watched  string  // seconds of distinct media played; "" in seed mode
	Progress string  // watched/duration; "" when unknown
	Token    string  // page token (PROTOCOL.md §5), "" when absent

	// Fields holds every field in the order sent, the reserved ones
	// included; use Get for one.
	Fields [][2]string

	Origin      string // the Origin header: which site's player sent it
	ContentType string // the media type of the body
	Received    time.Time
}

// Get returns the first value of a field, "" when absent.
func (h *Heartbeat) Get(name string) string {
	for _, f := range h.Fields {
		if f[0] == name {
			return f[1]
		}
	}
	return ""
}

// Custom returns the first field that is not one of Pulse's own: the
// webhook's response field (such as student_id) and its value.
func (h *Heartbeat) Custom() (name, value string) {
	for _, f := range h.Fields {
		if !slices.Contains(Reserved, f[0]) {
			return f[0], f[1]
		}
	}
	return "", ""
}

// Error is a heartbeat request that cannot be used, with the HTTP status a
// receiver should answer.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return "receiver: " + e.Msg }

// Status returns the HTTP status for an error from Parse: its own for an
// *Error, 500 otherwise.
func Status(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}

// Parse reads a heartbeat: a POST with a multipart/form-data body (what
// FormData makes) of at most MaxBodyBytes, with a uuid and a position.
// URL-encoded bodies are accepted too, for curl users.
func Parse(r *http.Request) (*Heartbeat, error) {
	if r.Method != http.MethodPost {
		return nil, &Error{http.StatusMethodNotAllowed, "heartbeats are POST requests, got " + r.Method}
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "multipart/form-data" && ct != "application/x-www-form-urlencoded") {
		return nil, &Error{http.StatusUnsupportedMediaType, fmt.Sprintf("body must be multipart/form-data, got %q", r.Header.Get("Content-Type"))}
	}
	r.Body = http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	h := &Heartbeat{Origin: r.Header.Get("Origin"), ContentType: ct, Received: time.Now()}
	if ct == "multipart/form-data" {
		h.Fields, err = multipartFields(r)
	} else {
		h.Fields, err = urlencodedFields(r)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{http.StatusRequestEntityTooLarge, fmt.Sprintf("body is larger than %d bytes", MaxBodyBytes)}
		}
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, &Error{http.StatusBadRequest, "malformed body: " + err.Error()}
	}
	seen := map[string]bool{}
	for _, f := range h.Fields {
		if seen[f[0]] {
			// A player sends each field once; a second value is an attempt
			// to have a verifier and an application read different ones.
			return nil, &Error{http.StatusBadRequest, fmt.Sprintf("field %q is sent twice", f[0])}
		}
		seen[f[0]] = true
	}
	h.UUID = h.Get("uuid")
	h.Position = h.Get("position")
	if h.UUID == "" {
		return nil, &Error{http.StatusBadRequest, "missing field uuid"}
	}
	if h.Position == "" {
		return nil, &Error{http.StatusBadRequest, "missing field position"}
	}
	h.Seconds, err = strconv.ParseFloat(h.Position, 64)
	if err != nil || h.Seconds < 0 || strings.ContainsAny(h.Position, "eEnN") {
		return nil, &Error{http.StatusBadRequest, fmt.Sprintf("position %q is not a number of seconds", h.Position)}
	}
	h.Event, h.Session, h.Token = h.Get("event"), h.Get("session"), h.Get("token")
	h.Duration, h.Watched, h.Progress = h.Get("duration"), h.Get("watched"), h.Get("progress")
	if s := h.Get("seq"); s != "" {
		if h.Seq, err = strconv.Atoi(s); err != nil || h.Seq < 1 {
			return nil, &Error{http.StatusBadRequest, fmt.Sprintf("seq %q is not a positive integer", s)}
		}
	}
	return h, nil
}

// multipartFields reads the parts of a multipart/form-data body in order.
func multipartFields(r *http.Request) ([][2]string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if part.FileName() != "" {
			return nil, &Error{http.StatusBadRequest, "heartbeats carry no files"}
		}
		v, err := io.ReadAll(part)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(v) {
			return nil, &Error{http.StatusBadRequest, fmt.Sprintf("field %q is not UTF-8 text", part.FormName())}
		}
		out = append(out, [2]string{part.FormName(), string(v)})
	}
}

// urlencodedFields reads an application/x-www-form-urlencoded body in order.
func urlencodedFields(r *http.Request) ([][2]string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, pair := range strings.Split(string(body), "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, &Error{http.StatusBadRequest, fmt.Sprintf("malformed urlencoded pair %q", pair)}
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// CORS wraps a receiver handler so that players on any site may post to
// it, as the seed's Express example does: every response allows any origin,
// and a preflight (OPTIONS) is answered directly. Pulse players never send
// one, but other clients may.
func CORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Headers", "Origin, X-Requested-With, Content-Type, Accept")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
