package pulse

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeWebhook(t *testing.T) {
	w := NewWebhook()
	require.NoError(t, DecodeWebhook([]byte(`{"url":"https://a.example/x","request_field":"student","response_field":"student_id"}`), w))
	assert.Equal(t, "https://a.example/x", w.URL)
	assert.Equal(t, 2, w.RPM, "defaults stay")
	assert.True(t, w.Active && w.Events && w.Scope.All())
	require.NoError(t, w.Validate())

	require.NoError(t, DecodeWebhook([]byte(` {"rpm": 6, "active": false, "scope": ["m1"], "name": "LMS",
		"require_param": true, "require_signed_link": true, "events": false} `), w))
	assert.Equal(t, 6, w.RPM)
	assert.False(t, w.Active || w.Events)
	assert.True(t, w.RequireParam && w.RequireSignedLink)
	assert.Equal(t, []string{"m1"}, w.Scope.Media)
	assert.Equal(t, "https://a.example/x", w.URL, "absent members are kept")

	// What a GET returns can be sent back.
	w.ID = "wh_1"
	b, err := json.Marshal(w)
	require.NoError(t, err)
	back := NewWebhook()
	back.ID = "wh_1"
	require.NoError(t, DecodeWebhook(b, back))
	back.CreatedAt, back.UpdatedAt = w.CreatedAt, w.UpdatedAt
	assert.Equal(t, w, back)
}

func TestDecodeWebhookRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, msg string
		id                     string
	}{
		{"empty", ``, "", "empty", ""},
		{"malformed", `{"url": "https://a.example",}`, "", "malformed JSON", ""},
		{"truncated", `{"url": "https://a.exa`, "", "malformed JSON", ""},
		{"array", `[{"url":"x"}]`, "", "must be a JSON object", ""},
		{"string", `"hello"`, "", "must be a JSON object", ""},
		{"trailing object", `{"rpm":2}{"rpm":3}`, "", "after the JSON object", ""},
		{"trailing garbage", `{"rpm":2} x`, "", "", ""},
		{"unknown field", `{"rpm":2,"rmp":3}`, "rmp", "not a known field", ""},
		{"duplicate", `{"rpm":2,"rpm":3}`, "rpm", "twice", ""},
		{"rpm string", `{"rpm":"2"}`, "rpm", "got a string", ""},
		{"rpm float", `{"rpm":2.5}`, "rpm", "got 2.5", ""},
		{"rpm huge", `{"rpm":1e100}`, "rpm", "whole number", ""},
		{"rpm null", `{"rpm":null}`, "rpm", "got null", ""},
		{"url number", `{"url":5}`, "url", "must be a string", ""},
		{"url null", `{"url":null}`, "url", "got null", ""},
		{"active string", `{"active":"yes"}`, "active", "true or false", ""},
		{"events number", `{"events":1}`, "events", "true or false", ""},
		{"scope empty", `{"scope":[]}`, "scope", "empty list", ""},
		{"scope word", `{"scope":"some"}`, "scope", "", ""},
		{"scope numbers", `{"scope":[1,2]}`, "scope", "", ""},
		{"id on create", `{"id":"wh_1"}`, "id", "assigned by the server", ""},
		{"id mismatch", `{"id":"wh_2"}`, "id", "wh_1", "wh_1"},
		{"long unknown", `{"` + strings.Repeat("x", 500) + `":1}`, strings.Repeat("x", 64) + "…", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWebhook()
			w.ID = tc.id
			before := *w
			err := DecodeWebhook([]byte(tc.body), w)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, EInvalid, e.Code)
			assert.Equal(t, tc.field, e.Field, e.Message)
			assert.Contains(t, e.Message, tc.msg)
			assert.Equal(t, before, *w, "unchanged on error")
		})
	}
}

// FuzzDecodeWebhook feeds arbitrary bodies through what the admin API does
// with them: decode onto the defaults, then validate. It must never panic;
// a refusal is an EInvalid *Error; what is accepted is safe to hand to
// players and survives a JSON round trip unchanged.
func FuzzDecodeWebhook(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://a.example/x","request_field":"student","response_field":"student_id"}`,
		`{"url":"http://a.example:8080/x?y=1","request_field":"a.b","response_field":"c-d","rpm":60,"scope":["m1","m2"],"active":false}`,
		`{"url":"javascript:alert(1)","request_field":"s","response_field":"uuid","rpm":"2"}`,
		`{"url":"https://u:p@a.example","scope":"all","name":"\u0000"}`,
		`{"rpm":2}{`, `[]`, `{"scope":[]}`, `{"id":"x"}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := NewWebhook()
		err := DecodeWebhook(body, w)
		if err == nil {
			err = w.Validate()
		}
		if err != nil {
			var e *Error
			if !asError(err, &e) || e.Code != EInvalid {
				t.Fatalf("refusal is not an EInvalid *Error: %#v", err)
			}
			return
		}
		if !strings.HasPrefix(w.URL, "https://") && !strings.HasPrefix(w.URL, "http://") {
			t.Fatalf("accepted URL %q", w.URL)
		}
		if w.RPM < MinRPM || w.RPM > MaxRPM || w.RequestField == "" || w.ResponseField == "" {
			t.Fatalf("accepted %+v", w)
		}
		b, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		again := NewWebhook()
		if err := DecodeWebhook(b, again); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("re-validating %s: %v", b, err)
		}
		again.CreatedAt, again.UpdatedAt = w.CreatedAt, w.UpdatedAt
		if a, b := mustJSON(t, w), mustJSON(t, again); a != b {
			t.Fatalf("round trip changed the webhook:\n%s\n%s", a, b)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
