//go:build !js

package heartbeat

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ParseQuery decodes as browsers do: compare with URLSearchParams in
// Node.js on random hostile queries.
func TestParseQueryMatchesURLSearchParams(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("PULSE_REQUIRE_E2E") != "" {
			t.Fatal("node is needed (make test installs it)")
		}
		t.Skip("no node")
	}
	r := rand.New(rand.NewPCG(1, 2))
	// location.search is ASCII: the URL parser percent-encodes the rest.
	// (Node.js 20's URLSearchParams also mangles raw non-ASCII next to a
	// "%", which a browser never hands it.)
	pieces := []string{"a", "b", "=", "&", "+", "%", "%2", "%zz", "%41", "%FF", "%E0%A4", "%C3%A9", "%E5%AD%A6", "%F0%9F%8E%93",
		"%F0%9F", "%ED%A0%80", "%C0%AF", "%00", "<", "\"", "%26", "%3D", "%20", "%25"}
	var queries []string
	for range 500 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		queries = append(queries, b.String())
	}
	in, _ := json.Marshal(queries)
	cmd := exec.Command(node, "-e", `
const qs = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(qs.map(q => [...new URLSearchParams(q)])));`)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	require.NoError(t, err)
	var want [][][2]string
	require.NoError(t, json.Unmarshal(out, &want))
	for i, q := range queries {
		got := ParseQuery(q).pairs
		if len(got) == 0 {
			got = nil
		}
		w := want[i]
		if len(w) == 0 {
			w = nil
		}
		assert.Equal(t, w, got, "query %q", q)
	}
}
