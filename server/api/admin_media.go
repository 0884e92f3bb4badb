package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pulsehq/pulse/server/library"
	"github.com/pulsehq/pulse/server/pulse"
)

// The media admin API: list, upload (multipart/form-data streamed into the
// library, refused with 413 past the size limit), rename and delete.

// uploadOverhead is what a multipart body may carry beyond the file itself
// (boundaries, part headers, the title).
const uploadOverhead = 64 << 10

// mediaJSON is a media as the admin API shows it.
type mediaJSON struct {
	*pulse.Media
	PlayerURL string `json:"player_url"`
	MediaURL  string `json:"media_url"`
}

func (s *Server) showMedia(r *http.Request, m *pulse.Media) mediaJSON {
	base := s.baseURL(r)
	return mediaJSON{Media: m, PlayerURL: base + "/v/" + m.UUID, MediaURL: base + "/media/" + m.UUID}
}

func (s *Server) handleListMedia(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.MediaList(r.Context())
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]mediaJSON, 0, len(list))
	for _, m := range list {
		out = append(out, s.showMedia(r, m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"media": out, "max_upload": s.lib.MaxSize})
}

func (s *Server) handleGetMedia(w http.ResponseWriter, r *http.Request) {
	m, err := s.media(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	m.Peaks = nil
	writeJSON(w, http.StatusOK, s.showMedia(r, m))
}

func (s *Server) tooLarge() error {
	return pulse.Errorf(pulse.ETooLarge, "the file is larger than the upload limit of %s", library.Size(s.lib.MaxSize))
}

// handleUpload imports the "file" part of a multipart/form-data body,
// titled by its "title" part or else by the file's name. The file streams
// to disk as it arrives; nothing is kept when anything fails.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	limit := s.lib.MaxSize + uploadOverhead
	if r.ContentLength > limit {
		// Answer before reading: the client learns at once, and the
		// connection is closed rather than drained.
		w.Header().Set("Connection", "close")
		s.error(w, r, s.tooLarge())
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "multipart/form-data" {
		s.error(w, r, pulse.Errorf(pulse.EUnsupported, "upload the file as multipart/form-data, in a part named \"file\" (curl -F file=@lecture.mp3)"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		s.error(w, r, pulse.Errorf(pulse.EInvalid, "the upload is not valid multipart/form-data: %v", err))
		return
	}
	var (
		title    string
		hasTitle bool
		m        *pulse.Media
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.uploadFailed(w, r, m, readError(err, s.tooLarge()))
			return
		}
		switch part.FormName() {
		case "title":
			b, err := io.ReadAll(io.LimitReader(part, 4096))
			if err != nil {
				s.uploadFailed(w, r, m, readError(err, s.tooLarge()))
				return
			}
			title, hasTitle = strings.TrimSpace(string(b)), true
			if err := pulse.ValidateTitle(title); err != nil {
				s.uploadFailed(w, r, m, err)
				return
			}
			if m != nil && title != m.Title { // the title came after the file
				m.Title = title
				if err := s.store.UpdateMedia(r.Context(), m); err != nil {
					s.uploadFailed(w, r, m, err)
					return
				}
			}
		case "file":
			if m != nil {
				s.uploadFailed(w, r, m, pulse.FieldError("file", "send one file per upload"))
				return
			}
			t := title
			if !hasTitle {
				t = titleFromName(part.FileName())
			}
			m, err = s.lib.Import(r.Context(), part, t)
			if err != nil && pulse.ErrorCode(err) == pulse.EInternal && interrupted(r, err) {
				// The client went away or cut the body short: nothing to
				// log as a server error, and nothing is kept.
				s.log.Info("upload interrupted", "err", err)
				err = pulse.FieldError("file", "the upload was interrupted before the file was complete: nothing was stored")
			}
			if err != nil {
				var pe *pulse.Error
				if errors.As(err, &pe) && pe.Field == "" && pe.Code != pulse.EInternal {
					pe = &pulse.Error{Code: pe.Code, Message: pe.Message, Field: "file"}
					err = pe
				}
				s.uploadFailed(w, r, nil, err)
				return
			}
		default:
			s.uploadFailed(w, r, m, pulse.FieldError(printableField(part.FormName()), "is not a known field: send \"file\" and optionally \"title\""))
			return
		}
	}
	if m == nil {
		s.error(w, r, pulse.FieldError("file", "is required: send the media in a part named \"file\""))
		return
	}
	s.log.Info("media uploaded", "uuid", m.UUID, "type", m.Type, "size", m.Size, "by", principal(r.Context()).Admin.Username)
	w.Header().Set("Location", "/api/admin/media/"+m.UUID)
	m.Peaks = nil
	writeJSON(w, http.StatusCreated, s.showMedia(r, m))
}

// uploadFailed answers err and removes the media imported by this request,
// if any: an upload either completes or leaves nothing.
func (s *Server) uploadFailed(w http.ResponseWriter, r *http.Request, m *pulse.Media, err error) {
	if m != nil {
		if derr := s.lib.Delete(r.Context(), m.UUID); derr != nil {
			s.log.Error("remove the media of a failed upload", "uuid", m.UUID, "err", derr)
		}
	}
	s.error(w, r, err)
}

// interrupted reports whether an upload failed because its body ended early
// or its client left.
func interrupted(r *http.Request, err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || r.Context().Err() != nil
}

// readError maps an error reading the request body to a client error.
func readError(err, tooLarge error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return pulse.Errorf(pulse.EInvalid, "the upload was interrupted before it was complete: nothing was stored")
	}
	return pulse.Errorf(pulse.EInvalid, "the upload could not be read: %v", err)
}

func printableField(name string) string {
	if len(name) > 64 || !utf8.ValidString(name) {
		return "(unknown)"
	}
	return name
}

// titleFromName makes a media title from an uploaded file's name.
func titleFromName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.TrimSuffix(name, path.Ext(name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		if r == '_' {
			return ' '
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == "/" {
		return "Untitled"
	}
	if utf8.RuneCountInString(name) > pulse.MaxTitleLen {
		name = string([]rune(name)[:pulse.MaxTitleLen])
	}
	return name
}

func (s *Server) handlePatchMedia(w http.ResponseWriter, r *http.Request) {
	m, err := s.media(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	body, err := readJSON(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	members, err := pulse.DecodeObject(body, []string{"title"})
	if err != nil {
		s.error(w, r, err)
		return
	}
	if raw, ok := members["title"]; ok {
		var title string
		if err := pulse.DecodeString("title", raw, &title); err != nil {
			s.error(w, r, err)
			return
		}
		title = strings.TrimSpace(title)
		if err := pulse.ValidateTitle(title); err != nil {
			s.error(w, r, err)
			return
		}
		m.Title = title
		if err := s.store.UpdateMedia(r.Context(), m); err != nil {
			s.error(w, r, err)
			return
		}
		s.log.Info("media renamed", "uuid", m.UUID, "by", principal(r.Context()).Admin.Username)
	}
	m.Peaks = nil
	writeJSON(w, http.StatusOK, s.showMedia(r, m))
}

func (s *Server) handleDeleteMedia(w http.ResponseWriter, r *http.Request) {
	m, err := s.media(r, r.PathValue("uuid"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.lib.Delete(r.Context(), m.UUID); err != nil {
		s.error(w, r, err)
		return
	}
	s.log.Info("media deleted", "uuid", m.UUID, "by", principal(r.Context()).Admin.Username)
	w.WriteHeader(http.StatusNoContent)
}
