package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/receiver"
	"github.com/pulsehq/pulse/server/token"
)

func post(t *testing.T, h http.Handler, fields ...[2]string) *httptest.ResponseRecorder {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	require.NoError(t, mw.Close())
	r := httptest.NewRequest(http.MethodPost, "/demo/receiver", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Origin", "https://player.example")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func newReceiver(out io.Writer) *Receiver {
	return New("/demo/receiver", out, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestReceiveLogsTheSeedLine(t *testing.T) {
	var out bytes.Buffer
	rc := newReceiver(&out)
	w := post(t, rc, [2]string{"uuid", "uuid-1234"}, [2]string{"position", "15.4"}, [2]string{"student_id", "john_doe\nFAKE LINE"})
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "*", w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "student john_doe?FAKE LINE is at 15.4s in video uuid-1234\n", out.String(), "one line whatever is sent")
	entries, _ := rc.Entries()
	require.Len(t, entries, 1)
	assert.Equal(t, "student_id", entries[0].Field)
	assert.Equal(t, "https://player.example", entries[0].Origin)
}

func TestReceiverIsBounded(t *testing.T) {
	rc := newReceiver(io.Discard)
	big := strings.Repeat("x", 30_000)
	for range Keep + 20 {
		post(t, rc, [2]string{"uuid", "u"}, [2]string{"position", "1"}, [2]string{"student_id", big})
	}
	entries, _ := rc.Entries()
	assert.Len(t, entries, Keep)
	assert.LessOrEqual(t, len(entries[0].Value), MaxValue+len("…"))
	for _, f := range entries[0].Fields {
		assert.LessOrEqual(t, len(f[1]), MaxValue+len("…"))
	}
}

func TestMissingTokenShows(t *testing.T) {
	rc := newReceiver(io.Discard)
	rc.Verifier = &receiver.Verifier{JWKSURL: "http://127.0.0.1:1/jwks"} // never reached without a token
	post(t, rc, [2]string{"uuid", "u"}, [2]string{"position", "1"}, [2]string{"student_id", "x"}, [2]string{"event", "heartbeat"})
	post(t, rc, [2]string{"uuid", "u"}, [2]string{"position", "1"}, [2]string{"student_id", "x"}) // seed mode
	entries, _ := rc.Entries()
	require.Len(t, entries, 2)
	assert.Equal(t, "", entries[0].Verified, "seed mode has nothing to verify")
	assert.Equal(t, "unverified: no token", entries[1].Verified)
}

func TestPageEscapesAndCountsPreflights(t *testing.T) {
	rc := newReceiver(io.Discard)
	post(t, rc, [2]string{"uuid", "<script>alert(1)</script>"}, [2]string{"position", "1"}, [2]string{"student_id", "<b>x</b>"})
	r := httptest.NewRequest(http.MethodOptions, "/demo/receiver", nil)
	rc.ServeHTTP(httptest.NewRecorder(), r)
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/demo/receiver", nil))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), "<script>alert(1)")
	assert.Contains(t, w.Body.String(), "&lt;b&gt;x&lt;/b&gt;")
	_, preflights := rc.Entries()
	assert.Equal(t, 1, preflights)
}

// The receiver page updates live: a heartbeat POSTed after a page subscribed
// to the events stream arrives on it as a server-sent event, and a page that
// goes away is unsubscribed.
func TestEventsStreamLiveUpdates(t *testing.T) {
	rc := newReceiver(io.Discard)
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/demo/receiver/events", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	lines := bufio.NewReader(res.Body)
	line, err := lines.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, ": connected\n", line, "the stream opens at once")
	_, _ = lines.ReadString('\n')

	// Subscribed now: the handler registered before it wrote ": connected".
	w := post(t, rc, [2]string{"uuid", "uuid-1234"}, [2]string{"position", "15.4"}, [2]string{"student_id", "john_doe"},
		[2]string{"event", "heartbeat"})
	require.Equal(t, http.StatusOK, w.Code)

	got := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		got <- line
	}()
	var data string
	select {
	case data = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	require.True(t, strings.HasPrefix(data, "data: "), data)
	var e Entry
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &e))
	assert.Equal(t, "uuid-1234", e.UUID)
	assert.Equal(t, "15.4", e.Position)
	assert.Equal(t, "heartbeat", e.Event)
	assert.Equal(t, "student_id", e.Field)
	assert.Equal(t, "john_doe", e.Value)
	entries, _ := rc.Entries()
	assert.Equal(t, entries[0].ID, e.ID, "the same entry as the list")
	blank, _ := lines.ReadString('\n')
	assert.Equal(t, "\n", blank, "an event ends with a blank line")

	cancel() // the page goes away
	require.Eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		return len(rc.subs) == 0
	}, 10*time.Second, 10*time.Millisecond, "unsubscribed")
}

// With the webhooks' mapping, the demo checks the value of the response
// field against the token's q value of its request field, as a real
// receiver does: another value the page was opened with (under another
// parameter) is not that student's.
func TestVerifiesTheValueOfItsRequestField(t *testing.T) {
	k, err := token.NewKey(time.Now())
	require.NoError(t, err)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := token.JWKS([]token.Key{k})
		w.Write(b)
	}))
	t.Cleanup(jwks.Close)
	now := time.Now()
	// The page was opened with ?student=john_doe&course=jane.
	tok, err := token.Sign(k, token.Claims{Issuer: jwks.URL, UUID: "u1", SID: "s1",
		Q: map[string]string{"student": "john_doe", "course": "jane"}, IssuedAt: now.Unix(), Expiry: now.Add(time.Hour).Unix()})
	require.NoError(t, err)
	webhooks := func(_ context.Context, uuid, responseField string) ([]string, error) {
		switch {
		case uuid != "u1":
			return nil, pulse.Errorf(pulse.ENotFound, "no media %q", uuid)
		case responseField == "student_id":
			return []string{"student"}, nil
		case responseField == "course_id":
			return []string{"course"}, nil
		}
		return nil, nil
	}
	for _, tc := range []struct {
		name          string
		requestFields func(context.Context, string, string) ([]string, error)
		field, value  string
		want          string
	}{
		{"the student's value", webhooks, "student_id", "john_doe", "verified"},
		{"another parameter's value", webhooks, "student_id", "jane",
			`unverified: heartbeat does not match its token: student_id "jane", token says student="john_doe"`},
		{"the other webhook", webhooks, "course_id", "jane", "verified"},
		{"a field no webhook sends", webhooks, "user", "john_doe", `unverified: heartbeat does not match its token: no webhook of this media sends "user"`},
		{"webhooks unknown", func(context.Context, string, string) ([]string, error) {
			return nil, pulse.Errorf(pulse.EUnavailable, "the database is unavailable")
		}, "student_id", "john_doe", "unverified: cannot tell which URL parameter student_id comes from: the database is unavailable"},
		{"without the mapping: any value of the page (weaker)", nil, "student_id", "jane", "verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newReceiver(io.Discard)
			rc.Verifier = &receiver.Verifier{JWKSURL: jwks.URL}
			rc.RequestFields = tc.requestFields
			w := post(t, rc, [2]string{"uuid", "u1"}, [2]string{"position", "1"}, [2]string{tc.field, tc.value},
				[2]string{"event", "heartbeat"}, [2]string{"session", "s1"}, [2]string{"token", tok})
			assert.Equal(t, http.StatusOK, w.Code)
			entries, _ := rc.Entries()
			require.Len(t, entries, 1)
			assert.Equal(t, tc.want, entries[0].Verified)
		})
	}
}
