package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/postgres/pgtest"
	"github.com/pulsehq/pulse/server/receiver"
	"github.com/pulsehq/pulse/server/sqlstore"
	"github.com/pulsehq/pulse/server/token"
)

// Several `pulse serve` processes on one PostgreSQL and one shared media
// folder behave as one service (README: Deploying several instances).

// call sends a request to a Pulse instance without following redirects,
// with the session cookie when not "", and returns the status and body.
func call(t *testing.T, method, u, cookie, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

var pageTokenRe = regexp.MustCompile(`"token":"([^"]+)"`)

// pageToken opens a player page and returns its page token.
func pageToken(t *testing.T, url string) string {
	t.Helper()
	status, body := call(t, http.MethodGet, url, "", "")
	require.Equal(t, http.StatusOK, status, body)
	m := pageTokenRe.FindStringSubmatch(body)
	require.NotNil(t, m, "no token in the page")
	return m[1]
}

// signIn signs in on an instance and returns the session cookie.
func signIn(t *testing.T, base, password string) string {
	t.Helper()
	form := url.Values{"username": {"admin"}, "password": {password}}.Encode()
	req, err := http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(form))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for _, c := range res.Cookies() {
		if c.Name == "pulse_session" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// webhookIDs returns the ids of the webhooks in an instance's player config.
func webhookIDs(t *testing.T, base, uuid string) []string {
	t.Helper()
	status, body := call(t, http.MethodGet, base+"/api/player/"+uuid+"/webhooks", "", "")
	require.Equal(t, http.StatusOK, status, body)
	var cfg struct{ Webhooks []struct{ ID string } }
	require.NoError(t, json.Unmarshal([]byte(body), &cfg))
	ids := []string{}
	for _, w := range cfg.Webhooks {
		ids = append(ids, w.ID)
	}
	return ids
}

// createWebhook adds a webhook through an instance's admin API.
func createWebhook(t *testing.T, base, cookie, name string) (int, string) {
	t.Helper()
	status, body := call(t, http.MethodPost, base+"/api/admin/webhooks", cookie,
		`{"name":"`+name+`","url":"https://lms.example.edu/track","request_field":"student","response_field":"student_id"}`)
	if status != http.StatusCreated {
		return status, body
	}
	var w struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &w))
	return status, w.ID
}

// seenWithin polls an instance's player config until cond holds and
// returns how long that took.
func seenWithin(t *testing.T, base, uuid string, cond func(ids []string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	waitFor(t, 10*time.Second, "the change in the player config", func() bool { return cond(webhookIDs(t, base, uuid)) })
	return time.Since(start)
}

var printedPassword = regexp.MustCompile(`user admin, password (\S+)`)

func TestTwoInstancesOnPostgres(t *testing.T) {
	db := pgtest.DatabaseURL(t)
	data := t.TempDir() // the media folder both instances mount

	// Both start at the same moment on an empty database, with a cache
	// time far too long to explain what follows: only LISTEN/NOTIFY can.
	waitA := launchPulse(t, data, "--database-url", db, "--cache-ttl", "1h")
	waitB := launchPulse(t, data, "--database-url", db, "--cache-ttl", "1h")
	a, b := waitA(), waitB()

	conn := pgtest.Conn(t, db)
	var rows, versions, admins int
	require.NoError(t, conn.QueryRow(context.Background(),
		`SELECT COUNT(*), COUNT(DISTINCT version), (SELECT COUNT(*) FROM admins) FROM schema_migrations`).Scan(&rows, &versions, &admins))
	assert.Equal(t, sqlstore.SchemaVersion(), rows, "each migration ran once")
	assert.Equal(t, rows, versions)
	assert.Equal(t, 1, admins, "one first admin")
	var password string
	for _, s := range []*server{a, b} {
		if m := printedPassword.FindStringSubmatch(s.out.String()); m != nil {
			assert.Empty(t, password, "only the instance that made the admin prints its password")
			password = m[1]
		}
	}
	require.NotEmpty(t, password, "one instance printed the first admin's password")

	uuid := pulseCmd(t, data, "media", "add", filepath.Join(mp3Dir, "mpeg2.mp3"), "--database-url", db)

	// A session signed in on A works on B.
	cookie := signIn(t, a.URL, password)
	status, body := call(t, http.MethodGet, b.URL+"/api/admin/me", cookie, "")
	require.Equal(t, http.StatusOK, status, body)
	assert.Contains(t, body, `"admin"`)

	// B caches its player config; changes made through A show there
	// within a second.
	assert.Empty(t, webhookIDs(t, b.URL, uuid))
	status, id := createWebhook(t, a.URL, cookie, "LMS")
	require.Equal(t, http.StatusCreated, status, id)
	took := seenWithin(t, b.URL, uuid, func(ids []string) bool { return len(ids) == 1 && ids[0] == id })
	t.Logf("a new webhook on A reached B's player config in %v", took)
	assert.Less(t, took, time.Second)

	// Both instances sign page tokens with the same keys: a token from a
	// page served by A verifies against B's JWKS; a rotation made on the
	// command line shows in both JWKS at once.
	tok := pageToken(t, a.URL+"/v/"+uuid+"?student=john_doe")
	jwks := func(base string) *jose.JSONWebKeySet {
		status, body := call(t, http.MethodGet, base+"/.well-known/jwks.json", "", "")
		require.Equal(t, http.StatusOK, status, body)
		set, err := token.ParseJWKS([]byte(body))
		require.NoError(t, err)
		return set
	}
	c, err := token.Verify(tok, jwks(b.URL), a.URL, time.Now())
	require.NoError(t, err, "A's token against B's JWKS")
	assert.Equal(t, "john_doe", c.Q["student"])
	v := &receiver.Verifier{JWKSURL: b.URL + "/.well-known/jwks.json", Issuer: a.URL}
	_, err = v.Verify(context.Background(), &receiver.Heartbeat{UUID: uuid, Session: c.SID, Token: tok,
		Fields: [][2]string{{"student_id", "john_doe"}}}, receiver.Expect{RequestField: "student", ResponseField: "student_id"})
	assert.NoError(t, err, "the receiver kit, pointed at B")
	next := pulseCmd(t, data, "keys", "rotate", "--database-url", db)
	for _, s := range []*server{a, b} {
		took := time.Now()
		waitFor(t, 5*time.Second, "the new key in the JWKS", func() bool { return len(jwks(s.URL).Key(next)) == 1 })
		t.Logf("the rotated-in key was in %s's JWKS %v later", s.URL, time.Since(took))
	}

	status, body = call(t, http.MethodPost, a.URL+"/api/admin/webhooks/"+id+"/deactivate", cookie, "")
	require.Equal(t, http.StatusOK, status, body)
	took = seenWithin(t, b.URL, uuid, func(ids []string) bool { return len(ids) == 0 })
	t.Logf("a deactivation on A reached B in %v", took)
	assert.Less(t, took, time.Second)

	// B serves the file from the shared folder; a file missing there is a
	// 404, not a 500.
	status, _ = call(t, http.MethodGet, b.URL+"/media/"+uuid, "", "")
	assert.Equal(t, http.StatusOK, status)
	files, err := filepath.Glob(filepath.Join(data, "media", uuid+".*"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	require.NoError(t, os.Rename(files[0], files[0]+".away"))
	status, body = call(t, http.MethodGet, b.URL+"/media/"+uuid, "", "")
	assert.Equal(t, http.StatusNotFound, status, body)
	assert.Contains(t, body, "missing on this server")
	// B logs why, with the path it tried (its stderr arrives through a pipe).
	missing := regexp.MustCompile(`level=WARN msg="media file missing" uuid=` + uuid + ` path=` + regexp.QuoteMeta(files[0]) + `\n`)
	waitFor(t, 5*time.Second, "B to log the missing file with its path", func() bool { return missing.MatchString(b.log.String()) })
	require.NoError(t, os.Rename(files[0]+".away", files[0]))

	// Signing out on B ends the session on A too.
	status, _ = call(t, http.MethodPost, b.URL+"/admin/logout", cookie, "")
	require.Equal(t, http.StatusSeeOther, status)
	status, _ = call(t, http.MethodGet, a.URL+"/api/admin/me", cookie, "")
	assert.Equal(t, http.StatusUnauthorized, status)
}

// Losing PostgreSQL: admin writes answer 503 "unavailable", players keep
// their (cached) config and media, and everything works again once the
// database is back, without restarting Pulse.
func TestDatabaseOutage(t *testing.T) {
	pg := pgtest.StartCluster(t)
	data := t.TempDir()
	pwFile := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pwFile, []byte("correct horse battery\n"), 0o600))
	pulseCmd(t, data, "admin", "reset-password", "--password-file", pwFile, "--database-url", pg.URL)
	uuid := pulseCmd(t, data, "media", "add", filepath.Join(mp3Dir, "mpeg2.mp3"), "--database-url", pg.URL)
	// A cache time shorter than the outage: cached entries are stale, and
	// served all the same while the database cannot say what is current.
	srv := startPulseData(t, data, "--database-url", pg.URL, "--cache-ttl", "1s", "--database-timeout", "2s")
	cookie := signIn(t, srv.URL, "correct horse battery")
	status, id := createWebhook(t, srv.URL, cookie, "before")
	require.Equal(t, http.StatusCreated, status, id)
	require.Equal(t, []string{id}, webhookIDs(t, srv.URL, uuid))
	_, cfg := call(t, http.MethodGet, srv.URL+"/api/player/"+uuid+"/webhooks", "", "")
	status, _ = call(t, http.MethodGet, srv.URL+"/media/"+uuid, "", "") // a player is playing it
	require.Equal(t, http.StatusOK, status)
	status, _ = call(t, http.MethodGet, srv.URL+"/v/"+uuid+"?student=john_doe", "", "") // signs the first page token
	require.Equal(t, http.StatusOK, status)

	// A signed link whose key this instance has already read, and one
	// whose key it has never seen.
	secretFile := filepath.Join(t.TempDir(), "secret")
	kid := strings.Split(pulseCmd(t, data, "embedkey", "add", "--name", "LMS", "--secret-file", secretFile, "--database-url", pg.URL), "\n")[0]
	secret, err := os.ReadFile(secretFile)
	require.NoError(t, err)
	seen, err := token.SignLink(srv.URL+"/v/"+uuid+"?student=john_doe", kid, []byte(strings.TrimSpace(string(secret))), time.Now().Add(time.Hour))
	require.NoError(t, err)
	status, body := call(t, http.MethodGet, seen, "", "")
	require.Equal(t, http.StatusOK, status, body)
	kid2 := strings.Split(pulseCmd(t, data, "embedkey", "add", "--name", "Other LMS", "--secret-file", secretFile+"2", "--database-url", pg.URL), "\n")[0]
	secret2, err := os.ReadFile(secretFile + "2")
	require.NoError(t, err)
	unseen, err := token.SignLink(srv.URL+"/v/"+uuid+"?student=john_doe", kid2, []byte(strings.TrimSpace(string(secret2))), time.Now().Add(time.Hour))
	require.NoError(t, err)

	// The outage: 10 s without PostgreSQL.
	pg.Stop()
	outage := time.Now()
	for time.Since(outage) < 10*time.Second {
		status, body := createWebhook(t, srv.URL, cookie, "during")
		assert.Equal(t, http.StatusServiceUnavailable, status, body)
		assert.JSONEq(t, `{"error":{"code":"unavailable","message":"the database is unavailable: try again in a moment"}}`, body)
		status, body = call(t, http.MethodGet, srv.URL+"/api/player/"+uuid+"/webhooks", "", "")
		assert.Equal(t, http.StatusOK, status, body)
		assert.Equal(t, cfg, body, "the cached player config")
		status, _ = call(t, http.MethodGet, srv.URL+"/media/"+uuid, "", "")
		assert.Equal(t, http.StatusOK, status, "the media file")
		status, body = call(t, http.MethodGet, srv.URL+"/v/"+uuid+"?student=john_doe", "", "")
		assert.Equal(t, http.StatusOK, status, "new player pages")
		assert.Contains(t, body, `"token":"ey`, "with a page token signed by the cached key")
		status, body = call(t, http.MethodGet, seen, "", "")
		assert.Equal(t, http.StatusOK, status, "a signed link whose key is cached")
		assert.Contains(t, body, `"lv":true`)
		status, body = call(t, http.MethodGet, unseen, "", "")
		assert.Equal(t, http.StatusServiceUnavailable, status, "a signed link whose key cannot be read: not a bad link")
		assert.Contains(t, body, "its database is unavailable")
		if t.Failed() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}

	pg.Start()
	back := time.Now()
	var id2 string
	waitFor(t, 15*time.Second, "admin writes to work again", func() bool {
		status, id2 = createWebhook(t, srv.URL, cookie, "after")
		return status == http.StatusCreated
	})
	t.Logf("admin writes work again %v after PostgreSQL restarted", time.Since(back))
	took := seenWithin(t, srv.URL, uuid, func(ids []string) bool { return len(ids) == 2 && ids[1] == id2 })
	t.Logf("and the player config shows the new webhook %v later", took)
	status, body = call(t, http.MethodGet, unseen, "", "")
	assert.Equal(t, http.StatusOK, status, "the other signed link plays once the database is back")
	assert.Contains(t, body, `"lv":true`)
	status, _ = call(t, http.MethodGet, srv.URL+"/api/admin/me", cookie, "")
	assert.Equal(t, http.StatusOK, status, "the session outlived the outage")
}
