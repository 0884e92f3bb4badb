package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// assets serves static files with validators and compression:
//
//   - each file's ETag is a hash of its content, and a URL that carries that
//     hash (?v=…, as asset() writes it) is cached for a year as immutable;
//   - a file with a precompressed sibling (name.br, name.gz, written by
//     `make wasm`) is sent in the best encoding the browser accepts;
//     other compressible files are gzipped once, on first request.
type assets struct {
	fsys  fs.FS
	mu    sync.Mutex
	files map[string]*asset
}

type asset struct {
	name    string
	hash    string // hex, 16 chars
	raw     []byte
	br, gz  []byte
	ctype   string
	modTime time.Time
}

func newAssets(fsys fs.FS) *assets {
	return &assets{fsys: fsys, files: map[string]*asset{}}
}

// get loads and caches a file, or returns nil when it does not exist.
func (a *assets) get(name string) *asset {
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.files[name]; ok {
		return f
	}
	raw, err := fs.ReadFile(a.fsys, name)
	if err != nil {
		a.files[name] = nil
		return nil
	}
	sum := sha256.Sum256(raw)
	f := &asset{name: name, raw: raw, hash: hex.EncodeToString(sum[:8]), modTime: time.Now()}
	f.ctype = mime.TypeByExtension(path.Ext(name))
	if f.ctype == "" {
		f.ctype = http.DetectContentType(raw)
	}
	if br, err := fs.ReadFile(a.fsys, name+".br"); err == nil {
		f.br = br
	}
	if gz, err := fs.ReadFile(a.fsys, name+".gz"); err == nil {
		f.gz = gz
	} else if compressible(f.ctype) && len(raw) > 1024 {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(raw)
		w.Close()
		f.gz = buf.Bytes()
	}
	a.files[name] = f
	return f
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "wasm") || strings.Contains(ctype, "svg")
}

// url returns the cache-busting URL of a static file, or the plain URL when
// the file is missing (the page then shows the 404 plainly).
func (a *assets) url(name string) string {
	if f := a.get(name); f != nil {
		return "/static/" + name + "?v=" + f.hash
	}
	return "/static/" + name
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if name == "" || strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	f := a.get(name)
	if f == nil {
		http.Error(w, "not found: "+name+missingHint(name), http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", `"`+f.hash+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// Public files: a player in an iframe sandboxed without
	// allow-same-origin has an opaque origin, and fetches even its own
	// wasm as a cross-origin request.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Add("Vary", "Accept-Encoding")
	if r.URL.Query().Get("v") == f.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := f.raw
	switch accept := r.Header.Get("Accept-Encoding"); {
	case f.br != nil && acceptsEncoding(accept, "br"):
		body = f.br
		h.Set("Content-Encoding", "br")
		h.Set("ETag", `"`+f.hash+`-br"`)
	case f.gz != nil && acceptsEncoding(accept, "gzip"):
		body = f.gz
		h.Set("Content-Encoding", "gzip")
		h.Set("ETag", `"`+f.hash+`-gz"`)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, h.Get("ETag")) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if h.Get("Content-Encoding") != "" {
		// No ranges over an encoded body: send it whole.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
		return
	}
	http.ServeContent(w, r, name, f.modTime, bytes.NewReader(body))
}

func missingHint(name string) string {
	if name == "player.wasm" || name == "wasm_exec.js" {
		return " (the player is not built: run `make wasm`)"
	}
	return ""
}

// acceptsEncoding reports whether an Accept-Encoding header allows enc.
func acceptsEncoding(header, enc string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), enc) {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		if q, ok := strings.CutPrefix(params, "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}

// etagMatch reports whether an If-None-Match header matches etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
