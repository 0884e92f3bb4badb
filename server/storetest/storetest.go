// Package storetest is the conformance suite of pulse.Store: every
// implementation runs the same tests with Run.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
)

// Run runs the suite; open returns a new, empty store for each test.
func Run(t *testing.T, open func(t *testing.T) pulse.Store) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, s pulse.Store)
	}{
		{"WebhookRoundTrip", testWebhookRoundTrip},
		{"WebhookUpdateDelete", testWebhookUpdateDelete},
		{"WebhookLimit", testWebhookLimit},
		{"WebhookNotFound", testWebhookNotFound},
		{"MediaRoundTrip", testMediaRoundTrip},
		{"MediaNotFound", testMediaNotFound},
		{"AdminRoundTrip", testAdminRoundTrip},
		{"AdminPasswordEndsSessions", testAdminPasswordEndsSessions},
		{"AdminNotFound", testAdminNotFound},
		{"SessionRoundTrip", testSessionRoundTrip},
		{"SessionExpiry", testSessionExpiry},
		{"TokenRoundTrip", testTokenRoundTrip},
		{"TokenRevoke", testTokenRevoke},
		{"TokenNotFound", testTokenNotFound},
		{"SigningKeyRotation", testSigningKeyRotation},
		{"EmbedKeys", testEmbedKeys},
		{"WatchOwnWrites", testWatchOwnWrites},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, open(t)) })
	}
}

func webhook() *pulse.Webhook {
	w := pulse.NewWebhook()
	w.Name = "LMS"
	w.URL = "https://api.my-school.com/video-tracking"
	w.RequestField, w.ResponseField = "student", "student_id"
	return w
}

func testWebhookRoundTrip(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	w := webhook()
	w.RPM, w.Events, w.RequireParam, w.RequireSignedLink = 6, false, true, true
	w.Scope.Media = []string{"m1", "m2"}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	assert.NotEmpty(t, w.ID)
	assert.False(t, w.CreatedAt.IsZero())

	got, err := s.Webhook(ctx, w.ID)
	require.NoError(t, err)
	assert.Equal(t, w, got)

	plain := webhook()
	require.NoError(t, s.CreateWebhook(ctx, plain, 0))
	list, err := s.Webhooks(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, w.ID, list[0].ID, "oldest first")
	assert.True(t, list[1].Scope.All())
	assert.True(t, list[1].Active && list[1].Events)
}

func testWebhookUpdateDelete(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	w := webhook()
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	w.Active, w.RPM, w.URL = false, 30, "https://other.example/x"
	require.NoError(t, s.UpdateWebhook(ctx, w))
	got, err := s.Webhook(ctx, w.ID)
	require.NoError(t, err)
	assert.False(t, got.Active)
	assert.Equal(t, 30, got.RPM)
	assert.Equal(t, "https://other.example/x", got.URL)

	require.NoError(t, s.DeleteWebhook(ctx, w.ID))
	_, err = s.Webhook(ctx, w.ID)
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
}

func testWebhookLimit(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	for range 3 {
		require.NoError(t, s.CreateWebhook(ctx, webhook(), 3))
	}
	err := s.CreateWebhook(ctx, webhook(), 3)
	assert.Equal(t, pulse.ELimit, pulse.ErrorCode(err))
	list, _ := s.Webhooks(ctx)
	assert.Len(t, list, 3, "nothing stored past the limit")
}

func testWebhookNotFound(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	_, err := s.Webhook(ctx, "wh_nope")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	w := webhook()
	w.ID = "wh_nope"
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.UpdateWebhook(ctx, w)))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.DeleteWebhook(ctx, "wh_nope")))
}

func testMediaRoundTrip(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: "Lecture 1", Type: "audio/mpeg", Size: 1234, Duration: 75.5,
		File: "x.mp3", Peaks: []byte{0, 128, 255}}
	require.NoError(t, s.CreateMedia(ctx, m))
	got, err := s.Media(ctx, m.UUID)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	m2 := &pulse.Media{UUID: pulse.NewUUID(), Title: "Lecture 2", Type: "video/mp4", File: "y.mp4"}
	require.NoError(t, s.CreateMedia(ctx, m2))
	list, err := s.MediaList(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Nil(t, list[0].Peaks, "lists leave peaks out")

	m.Title = "Lecture 1 (revised)"
	require.NoError(t, s.UpdateMedia(ctx, m))
	got, _ = s.Media(ctx, m.UUID)
	assert.Equal(t, "Lecture 1 (revised)", got.Title)
	require.NoError(t, s.DeleteMedia(ctx, m.UUID))
	_, err = s.Media(ctx, m.UUID)
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
}

func testMediaNotFound(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	_, err := s.Media(ctx, "nope")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.UpdateMedia(ctx, &pulse.Media{UUID: "nope", Title: "x"})))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.DeleteMedia(ctx, "nope")))
}

// MustAdmin stores an admin with the user name and returns it.
func MustAdmin(tb testing.TB, s pulse.Store, username string) *pulse.Admin {
	tb.Helper()
	a := &pulse.Admin{Username: username, PasswordHash: "$2a$10$hash-of-" + username}
	require.NoError(tb, s.CreateAdmin(context.Background(), a))
	return a
}

func testAdminRoundTrip(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	assert.NotEmpty(t, a.ID)
	assert.False(t, a.CreatedAt.IsZero())

	got, err := s.Admin(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a, got)
	got, err = s.AdminByUsername(ctx, "admin")
	require.NoError(t, err)
	assert.Equal(t, a, got)
	_, err = s.AdminByUsername(ctx, "ADMIN")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err), "user names are case-sensitive")

	dup := &pulse.Admin{Username: "admin", PasswordHash: "x"}
	assert.Equal(t, pulse.EConflict, pulse.ErrorCode(s.CreateAdmin(ctx, dup)))
	b := MustAdmin(t, s, "second")
	list, err := s.Admins(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2, "the duplicate was not stored")
	assert.Equal(t, []string{a.ID, b.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
}

func testAdminPasswordEndsSessions(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	other := MustAdmin(t, s, "other")
	now := time.Now()
	for _, ss := range []*pulse.Session{
		{ID: "s1", AdminID: a.ID, ExpiresAt: now.Add(time.Hour)},
		{ID: "s2", AdminID: a.ID, ExpiresAt: now.Add(time.Hour)},
		{ID: "s3", AdminID: other.ID, ExpiresAt: now.Add(time.Hour)},
	} {
		require.NoError(t, s.CreateSession(ctx, ss))
	}
	require.NoError(t, s.SetAdminPassword(ctx, a.ID, "new-hash"))
	got, err := s.Admin(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, "new-hash", got.PasswordHash)
	for _, id := range []string{"s1", "s2"} {
		_, err := s.Session(ctx, id)
		assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err), "session %s of the admin ended", id)
	}
	_, err = s.Session(ctx, "s3")
	assert.NoError(t, err, "other admins keep their sessions")
}

func testAdminNotFound(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	_, err := s.Admin(ctx, "adm_nope")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	_, err = s.AdminByUsername(ctx, "nobody")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.SetAdminPassword(ctx, "adm_nope", "x")))
	list, err := s.Admins(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testSessionRoundTrip(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	created := time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	ss := &pulse.Session{ID: "hash-1", AdminID: a.ID, CreatedAt: created, ExpiresAt: created.Add(12 * time.Hour)}
	require.NoError(t, s.CreateSession(ctx, ss))
	got, err := s.Session(ctx, "hash-1")
	require.NoError(t, err)
	assert.Equal(t, ss, got)
	assert.True(t, got.CreatedAt.Equal(created))

	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.CreateSession(ctx, &pulse.Session{ID: "hash-2", AdminID: "adm_nope",
		ExpiresAt: created.Add(time.Hour)})), "a session needs an admin")

	require.NoError(t, s.DeleteSession(ctx, "hash-1"))
	_, err = s.Session(ctx, "hash-1")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.DeleteSession(ctx, "hash-1")))
}

func testSessionExpiry(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	old := &pulse.Session{ID: "old", AdminID: a.ID, CreatedAt: now.Add(-13 * time.Hour), ExpiresAt: now.Add(-time.Hour)}
	edge := &pulse.Session{ID: "edge", AdminID: a.ID, CreatedAt: now.Add(-12 * time.Hour), ExpiresAt: now}
	fresh := &pulse.Session{ID: "fresh", AdminID: a.ID, CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
	for _, ss := range []*pulse.Session{old, edge, fresh} {
		require.NoError(t, s.CreateSession(ctx, ss))
	}
	got, err := s.Session(ctx, "old")
	require.NoError(t, err, "the store returns expired sessions: callers decide")
	assert.True(t, got.Expired(now))
	assert.True(t, edge.Expired(now), "a session is expired at its ExpiresAt")
	assert.False(t, fresh.Expired(now))

	n, err := s.DeleteExpiredSessions(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	_, err = s.Session(ctx, "fresh")
	assert.NoError(t, err)
	_, err = s.Session(ctx, "edge")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
}

func testTokenRoundTrip(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	tok := &pulse.Token{Name: "LMS sync", Prefix: "pulse_ab12", Hash: "h1", AdminID: a.ID}
	require.NoError(t, s.CreateToken(ctx, tok))
	assert.NotEmpty(t, tok.ID)
	assert.False(t, tok.CreatedAt.IsZero())
	assert.Nil(t, tok.LastUsedAt)
	assert.False(t, tok.Revoked())

	got, err := s.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	assert.Equal(t, tok, got)

	used := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	require.NoError(t, s.TouchToken(ctx, tok.ID, used))
	got, _ = s.TokenByHash(ctx, "h1")
	require.NotNil(t, got.LastUsedAt)
	assert.True(t, got.LastUsedAt.Equal(used))

	second := &pulse.Token{Name: "backup", Prefix: "pulse_cd34", Hash: "h2", AdminID: a.ID}
	require.NoError(t, s.CreateToken(ctx, second))
	list, err := s.Tokens(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, tok.ID, list[0].ID, "oldest first")
	assert.Equal(t, "h2", list[1].Hash)

	dup := &pulse.Token{Name: "dup", Prefix: "p", Hash: "h1", AdminID: a.ID}
	assert.Error(t, s.CreateToken(ctx, dup), "hashes are unique")
	list, _ = s.Tokens(ctx)
	assert.Len(t, list, 2)
}

func testTokenRevoke(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	a := MustAdmin(t, s, "admin")
	tok := &pulse.Token{Name: "LMS", Prefix: "pulse_ab12", Hash: "h1", AdminID: a.ID}
	require.NoError(t, s.CreateToken(ctx, tok))
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, s.RevokeToken(ctx, tok.ID, at))
	require.NoError(t, s.RevokeToken(ctx, tok.ID, at.Add(time.Hour)), "revoking twice is fine")
	got, err := s.TokenByHash(ctx, "h1")
	require.NoError(t, err)
	require.True(t, got.Revoked())
	assert.True(t, got.RevokedAt.Equal(at), "the first revocation time stays")
	list, _ := s.Tokens(ctx)
	require.Len(t, list, 1, "revoked tokens stay listed")
	assert.True(t, list[0].Revoked())
}

func testTokenNotFound(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	_, err := s.TokenByHash(ctx, "nope")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.RevokeToken(ctx, "tok_nope", time.Now())))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.TouchToken(ctx, "tok_nope", time.Now())))
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.CreateToken(ctx, &pulse.Token{Name: "x", Prefix: "p", Hash: "h",
		AdminID: "adm_nope"})), "a token needs an admin")
}

func testSigningKeyRotation(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	keys, err := s.SigningKeys(ctx)
	require.NoError(t, err)
	assert.Empty(t, keys)

	t1 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	k1 := &pulse.SigningKey{ID: "k1", Private: []byte("private-one"), CreatedAt: t1}
	require.NoError(t, s.AddSigningKey(ctx, k1))
	t2 := t1.Add(24 * time.Hour)
	k2 := &pulse.SigningKey{ID: "k2", Private: []byte("private-two"), CreatedAt: t2}
	require.NoError(t, s.AddSigningKey(ctx, k2))

	keys, err = s.SigningKeys(ctx)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	assert.Equal(t, "k1", keys[0].ID)
	assert.Equal(t, []byte("private-one"), keys[0].Private)
	require.NotNil(t, keys[0].RetiredAt, "adding a key retires the one that signed")
	assert.True(t, keys[0].RetiredAt.Equal(t2))
	assert.Nil(t, keys[1].RetiredAt, "the new key signs")

	assert.Equal(t, pulse.EConflict, pulse.ErrorCode(s.AddSigningKey(ctx, &pulse.SigningKey{ID: "k2", Private: []byte("x"), CreatedAt: t2.Add(time.Hour)})))
	keys, _ = s.SigningKeys(ctx)
	assert.Nil(t, keys[1].RetiredAt, "a failed add retires nothing")

	n, err := s.DeleteSigningKeys(ctx, t2)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "retired at t2 is not before t2")
	n, err = s.DeleteSigningKeys(ctx, t2.Add(time.Millisecond))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	keys, _ = s.SigningKeys(ctx)
	require.Len(t, keys, 1)
	assert.Equal(t, "k2", keys[0].ID, "a key that signs is never deleted")
	assert.True(t, keys[0].SignsFrom.Equal(t2), "without SignsFrom a key signs from its creation")

	// A key that signs later: the one that signs now retires then.
	t3 := t2.Add(time.Hour)
	k3 := &pulse.SigningKey{ID: "k3", Private: []byte("private-three"), CreatedAt: t3, SignsFrom: t3.Add(2 * time.Minute)}
	require.NoError(t, s.AddSigningKey(ctx, k3))
	keys, _ = s.SigningKeys(ctx)
	require.Len(t, keys, 2)
	require.NotNil(t, keys[0].RetiredAt)
	assert.True(t, keys[0].RetiredAt.Equal(t3.Add(2*time.Minute)), "k2 signs until k3 does")
	assert.True(t, keys[1].CreatedAt.Equal(t3))
	assert.True(t, keys[1].SignsFrom.Equal(t3.Add(2*time.Minute)))
	assert.Nil(t, keys[1].RetiredAt)
}

func testEmbedKeys(t *testing.T, s pulse.Store) {
	ctx := context.Background()
	k := &pulse.EmbedKey{Name: "Moodle", Secret: []byte("0123456789abcdef0123456789abcdef")}
	require.NoError(t, s.CreateEmbedKey(ctx, k))
	assert.NotEmpty(t, k.ID)
	got, err := s.EmbedKey(ctx, k.ID)
	require.NoError(t, err)
	assert.Equal(t, k, got)
	assert.False(t, got.Revoked())

	k2 := &pulse.EmbedKey{Name: "Canvas", Secret: []byte("another secret of enough length!")}
	require.NoError(t, s.CreateEmbedKey(ctx, k2))
	list, err := s.EmbedKeys(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, k.ID, list[0].ID)

	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	require.NoError(t, s.RevokeEmbedKey(ctx, k.ID, at))
	require.NoError(t, s.RevokeEmbedKey(ctx, k.ID, at.Add(time.Hour)), "revoking twice is fine")
	got, _ = s.EmbedKey(ctx, k.ID)
	require.True(t, got.Revoked())
	assert.True(t, got.RevokedAt.Equal(at), "the first revocation time stays")

	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(s.RevokeEmbedKey(ctx, "ek_nope", at)))
	_, err = s.EmbedKey(ctx, "ek_nope")
	assert.Equal(t, pulse.ENotFound, pulse.ErrorCode(err))
}

// A store that reports changes (pulse.Watcher) reports its own writes to
// what instances cache, with the table's name.
func testWatchOwnWrites(t *testing.T, s pulse.Store) {
	w, ok := s.(pulse.Watcher)
	if !ok {
		t.Skip("the store does not report changes")
	}
	ctx := context.Background()
	var mu sync.Mutex
	heard := map[string]int{}
	cancel := w.Watch(func(table string) {
		mu.Lock()
		heard[table]++
		mu.Unlock()
	})
	expect := func(table string, write func()) {
		t.Helper()
		mu.Lock()
		before := heard[table]
		mu.Unlock()
		write()
		mu.Lock()
		defer mu.Unlock()
		assert.Greater(t, heard[table], before, "a write to %s is reported before the call returns", table)
	}
	wh := webhook()
	expect(pulse.TableWebhooks, func() { require.NoError(t, s.CreateWebhook(ctx, wh, 0)) })
	expect(pulse.TableWebhooks, func() { require.NoError(t, s.UpdateWebhook(ctx, wh)) })
	expect(pulse.TableWebhooks, func() { require.NoError(t, s.DeleteWebhook(ctx, wh.ID)) })
	m := &pulse.Media{UUID: pulse.NewUUID(), Title: "x", Type: "audio/mpeg", File: "x.mp3"}
	expect(pulse.TableMedia, func() { require.NoError(t, s.CreateMedia(ctx, m)) })
	expect(pulse.TableMedia, func() { require.NoError(t, s.UpdateMedia(ctx, m)) })
	expect(pulse.TableMedia, func() { require.NoError(t, s.DeleteMedia(ctx, m.UUID)) })
	k := &pulse.EmbedKey{Name: "LMS", Secret: []byte("0123456789abcdef0123456789abcdef")}
	expect(pulse.TableEmbedKeys, func() { require.NoError(t, s.CreateEmbedKey(ctx, k)) })
	expect(pulse.TableEmbedKeys, func() { require.NoError(t, s.RevokeEmbedKey(ctx, k.ID, time.Now())) })
	expect(pulse.TableSigningKeys, func() {
		require.NoError(t, s.AddSigningKey(ctx, &pulse.SigningKey{ID: "k1", Private: []byte("p"), CreatedAt: time.Now()}))
	})

	cancel()
	mu.Lock()
	n := heard[pulse.TableWebhooks]
	mu.Unlock()
	require.NoError(t, s.CreateWebhook(ctx, webhook(), 0))
	mu.Lock()
	assert.Equal(t, n, heard[pulse.TableWebhooks], "cancel stops the reports")
	mu.Unlock()
}
