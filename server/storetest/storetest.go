// Package storetest is the conformance suite of pulse.Store: every
// implementation runs the same tests with Run.
package storetest

import (
	"context"
	"testing"

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
