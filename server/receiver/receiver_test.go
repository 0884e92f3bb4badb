package receiver

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// formRequest builds what a browser's FormData POST looks like.
func formRequest(t *testing.T, fields ...[2]string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	r := httptest.NewRequest(http.MethodPost, "/video-tracking", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Origin", "https://player.example")
	return r
}

func TestParseSeedPayload(t *testing.T) {
	hb, err := Parse(formRequest(t, [2]string{"uuid", "uuid-1234"}, [2]string{"position", "15.4"}, [2]string{"student_id", "john_doe"}))
	require.NoError(t, err)
	assert.Equal(t, "uuid-1234", hb.UUID)
	assert.Equal(t, "15.4", hb.Position)
	assert.Equal(t, 15.4, hb.Seconds)
	assert.Equal(t, "john_doe", hb.Get("student_id"))
	name, value := hb.Custom()
	assert.Equal(t, "student_id", name)
	assert.Equal(t, "john_doe", value)
	assert.Equal(t, "https://player.example", hb.Origin)
	assert.Equal(t, "multipart/form-data", hb.ContentType)
	assert.Empty(t, hb.Event)
}

func TestParseExtendedPayload(t *testing.T) {
	hb, err := Parse(formRequest(t,
		[2]string{"uuid", "u"}, [2]string{"position", "30"}, [2]string{"student_id", "<b>x</b>"},
		[2]string{"event", "pause"}, [2]string{"duration", "600"}, [2]string{"session", "abc"},
		[2]string{"seq", "4"}, [2]string{"watched", "20"}, [2]string{"progress", "0.0333"}, [2]string{"token", "t.o.k"}))
	require.NoError(t, err)
	assert.Equal(t, "pause", hb.Event)
	assert.Equal(t, 4, hb.Seq)
	assert.Equal(t, "abc", hb.Session)
	assert.Equal(t, "t.o.k", hb.Token)
	assert.Equal(t, "<b>x</b>", hb.Get("student_id"), "values are data, kept as sent")
	assert.Equal(t, "uuid", hb.Fields[0][0], "fields keep their order")
	assert.Equal(t, "token", hb.Fields[9][0])
}

func TestParseURLEncoded(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("uuid=u&position=1.5&student_id=j%C3%B6rg"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hb, err := Parse(r)
	require.NoError(t, err)
	assert.Equal(t, "jörg", hb.Get("student_id"))
}

func TestParseErrors(t *testing.T) {
	big := strings.Repeat("a", MaxBodyBytes)
	for _, tc := range []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
	}{
		{"GET", func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, 405},
		{"JSON body", func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"uuid":"u"}`))
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 415},
		{"no content type", func(t *testing.T) *http.Request {
			return httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
		}, 415},
		{"missing uuid", func(t *testing.T) *http.Request { return formRequest(t, [2]string{"position", "1"}) }, 400},
		{"missing position", func(t *testing.T) *http.Request { return formRequest(t, [2]string{"uuid", "u"}) }, 400},
		{"NaN position", func(t *testing.T) *http.Request {
			return formRequest(t, [2]string{"uuid", "u"}, [2]string{"position", "NaN"})
		}, 400},
		{"exponent position", func(t *testing.T) *http.Request {
			return formRequest(t, [2]string{"uuid", "u"}, [2]string{"position", "1e3"})
		}, 400},
		{"negative position", func(t *testing.T) *http.Request {
			return formRequest(t, [2]string{"uuid", "u"}, [2]string{"position", "-1"})
		}, 400},
		{"bad seq", func(t *testing.T) *http.Request {
			return formRequest(t, [2]string{"uuid", "u"}, [2]string{"position", "1"}, [2]string{"seq", "x"})
		}, 400},
		{"field twice", func(t *testing.T) *http.Request {
			return formRequest(t, [2]string{"uuid", "u"}, [2]string{"position", "1"}, [2]string{"student_id", "john_doe"}, [2]string{"student_id", "jane"})
		}, 400},
		{"too large", func(t *testing.T) *http.Request { return formRequest(t, [2]string{"uuid", "u"}, [2]string{"big", big}) }, 413},
		{"broken multipart", func(t *testing.T) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("--x\r\nnot a part"))
			r.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			return r
		}, 400},
		{"file upload", func(t *testing.T) *http.Request {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("uuid", "evil.exe")
			fw.Write([]byte("MZ"))
			mw.Close()
			r := httptest.NewRequest(http.MethodPost, "/", &body)
			r.Header.Set("Content-Type", mw.FormDataContentType())
			return r
		}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.req(t))
			require.Error(t, err)
			assert.Equal(t, tc.status, Status(err), err.Error())
		})
	}
}

func TestCORS(t *testing.T) {
	h := CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodOptions, "/", nil))
	assert.Equal(t, http.StatusNoContent, w.Code)
	assert.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, w.Header().Get("Access-Control-Allow-Methods"), "POST")

	w = httptest.NewRecorder()
	h.ServeHTTP(w, formRequest(t))
	assert.Equal(t, http.StatusTeapot, w.Code)
	assert.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"))
}
