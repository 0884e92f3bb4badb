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

// The first start with --demo-media (what `make run` does) seeds the demo
// of issue 2, through the real run() wiring: the two MP3s of go-mp3 as
// media, one RPM 2 webhook from ?student= to student_id pointing at the
// built-in demo receiver, and the links to open. A heartbeat POSTed to the
// printed receiver link logs the seed's line. A restart seeds nothing again.
func TestServeSeedsDemoContent(t *testing.T) {
	data := t.TempDir()
	s := serveIn(t, data, nil, "--demo-media", mp3Dir(t))
	out := s.out.String()

	players := regexp.MustCompile(`(?m)^  Player: +(\S+)/v/([0-9a-f-]{36})\?student=john_doe +\((.+)\)$`).FindAllStringSubmatch(out, -1)
	require.Len(t, players, 2, out)
	titles := map[string]string{}
	for _, m := range players {
		assert.Equal(t, s.url, m[1])
		titles[m[3]] = m[2]
	}
	assert.Contains(t, titles, "Alice's Adventures in Wonderland (speech)", out)
	assert.Contains(t, titles, "Mozart: A Little Night Music, allegro", out)
	assert.Contains(t, out, "\n  Receiver: "+s.url+"/demo/receiver\n")
	assert.Contains(t, out, "\n  Admin:    "+s.url+"/admin\n")

	for title, uuid := range titles {
		res, err := noKeepAlive.Get(s.url + "/v/" + uuid + "?student=john_doe")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, "the player page of %s", title)

		res, err = noKeepAlive.Get(s.url + "/api/player/" + uuid + "/webhooks")
		require.NoError(t, err)
		var cfg struct {
			UUID     string
			Webhooks []struct {
				URL           string
				RequestField  string `json:"request_field"`
				ResponseField string `json:"response_field"`
				RPM           int
				Events        bool
			}
		}
		require.NoError(t, json.NewDecoder(res.Body).Decode(&cfg))
		res.Body.Close()
		require.Len(t, cfg.Webhooks, 1, "the demo webhook applies to %s", title)
		w := cfg.Webhooks[0]
		assert.Equal(t, s.url+"/demo/receiver", w.URL)
		assert.Equal(t, "student", w.RequestField)
		assert.Equal(t, "student_id", w.ResponseField)
		assert.Equal(t, 2, w.RPM)
		assert.True(t, w.Events)
	}

	// The seed's heartbeat at the printed receiver link.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	uuid := titles["Mozart: A Little Night Music, allegro"]
	for _, f := range [][2]string{{"uuid", uuid}, {"position", "15.4"}, {"student_id", "john_doe"}} {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	req, _ := http.NewRequest(http.MethodPost, s.url+"/demo/receiver", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", "https://lms.example")
	res, err := noKeepAlive.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, s.out.String(), "student john_doe is at 15.4s in video "+uuid+"\n")

	s.stop()
	<-s.done
	require.NoError(t, s.err)
	s2 := serveIn(t, data, nil, "--demo-media", mp3Dir(t))
	assert.Len(t, regexp.MustCompile(`(?m)^  Player: `).FindAllString(s2.out.String(), -1), 2, "no second import\n%s", s2.out.String())
	lst, _, err := runWith(t, "", "webhook", "list", "--data", data)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(lst, "/demo/receiver"), "one demo webhook\n%s", lst)
}

// Without --demo-media nothing is seeded and the demo receiver is off.
func TestServeWithoutDemo(t *testing.T) {
	s := serveIn(t, t.TempDir(), nil)
	assert.NotContains(t, s.out.String(), "Player:")
	assert.NotContains(t, s.out.String(), "Receiver:")
	res, err := noKeepAlive.Get(s.url + "/demo/receiver")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}

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
