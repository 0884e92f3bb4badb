package embed

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOrigin(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ancestors []string
		param     string
		referrer  string
		want      string
	}{
		{"ancestor origins win", []string{"https://lms.example", "https://top.example"}, "https://evil.example", "https://other.example/x", "https://lms.example"},
		{"param without ancestors", nil, "https://lms.example", "https://other.example/page", "https://lms.example"},
		{"referrer", nil, "", "https://lms.example:8443/course/1?x=y", "https://lms.example:8443"},
		{"nothing known", nil, "", "", ""},
		{"not http", nil, "javascript:alert(1)", "file:///etc/passwd", ""},
		{"userinfo refused", nil, "https://a@evil.example", "", ""},
		{"host lowercased", []string{"https://LMS.Example"}, "", "", "https://lms.example"},
		{"opaque ancestor", []string{"null"}, "https://lms.example", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Origin(tc.ancestors, tc.param, tc.referrer))
		})
	}
}
