package main

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var pageConfig = regexp.MustCompile(`(?s)<script type="application/json" id="pulse-config">(.*?)</script>`)

// openPage loads a player page as a browser that reached the server under
// host would, and returns its token and session.
func openPage(t *testing.T, s *served, host, path string) (tok, session string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	req.Host = host // the request still goes to 127.0.0.1
	res, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, string(b))
	m := pageConfig.FindSubmatch(b)
	require.NotNil(t, m)
	var cfg struct{ Token, Session string }
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &cfg))
	require.NotEmpty(t, cfg.Token)
	return cfg.Token, cfg.Session
}

// postBeat sends what the player sends to the demo receiver.
func postBeat(t *testing.T, s *served, fields [][2]string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	res, err := noKeepAlive.Post(s.url+demoReceiverPath, mw.FormDataContentType(), &body)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// lastVerified is the demo receiver's verdict on its newest heartbeat.
func lastVerified(t *testing.T, s *served) string {
	t.Helper()
	res, err := noKeepAlive.Get(s.url + demoReceiverPath + "/heartbeats.json")
	require.NoError(t, err)
	defer res.Body.Close()
	var doc struct{ Heartbeats []struct{ Verified string } }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
	require.NotEmpty(t, doc.Heartbeats)
	return doc.Heartbeats[0].Verified
}

// Without --base-url, a player opened at localhost or at a LAN address
// (not the 127.0.0.1 URL serve prints) still gets a token the demo
// receiver verifies: the server signs one iss whatever the Host.
func TestDemoVerifiesWhateverHostThePageWasOpenedAt(t *testing.T) {
	data := t.TempDir()
	out, _, err := runPulse(t, "media", "add", filepath.Join(mp3Dir(t), "mpeg2.mp3"), "--data", data)
	require.NoError(t, err)
	uuid := strings.TrimSpace(out)
	// The webhook's URL does not matter here: the test posts what a
	// player would send.
	_, _, err = runPulse(t, "webhook", "add", "--data", data, "--url", "http://127.0.0.1:9"+demoReceiverPath,
		"--request-field", "student", "--response-field", "student_id")
	require.NoError(t, err)
	s := serveIn(t, data, nil, "--demo-receiver", "on")
	u, err := url.Parse(s.url)
	require.NoError(t, err)

	for _, host := range []string{u.Host, "localhost:" + u.Port(), "192.168.1.20:" + u.Port(), "pulse.lan"} {
		t.Run(host, func(t *testing.T) {
			tok, session := openPage(t, s, host, "/v/"+uuid+"?student=john_doe")
			postBeat(t, s, [][2]string{{"uuid", uuid}, {"position", "1.5"}, {"student_id", "john_doe"},
				{"event", "heartbeat"}, {"session", session}, {"seq", "1"}, {"token", tok}})
			assert.Equal(t, "verified", lastVerified(t, s))
		})
	}
}
