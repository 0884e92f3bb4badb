package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulsehq/pulse/server/pulse"
)

// TestKilledMidWrite kills a process that is writing webhooks as fast as it
// can (SIGKILL: no chance to close anything) and checks that every write it
// reported as committed is in the database afterwards, and that the
// database is intact.
func TestKilledMidWrite(t *testing.T) {
	if os.Getenv("PULSE_CRASH_WRITER") != "" {
		t.Skip("the writer runs in TestCrashWriter")
	}
	path := filepath.Join(t.TempDir(), "pulse.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PULSE_CRASH_WRITER="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())

	var committed []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed = append(committed, id)
			if len(committed) == 200 {
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				break
			}
		}
	}
	// Whatever the writer committed after the 200th line counts too.
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			committed = append(committed, id)
		}
	}
	cmd.Wait()
	require.GreaterOrEqual(t, len(committed), 200, "the writer reported its commits")

	s := MustOpen(t, path)
	var check string
	require.NoError(t, s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&check))
	assert.Equal(t, "ok", check)
	stored, err := s.Webhooks(context.Background())
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, w := range stored {
		ids[w.ID] = true
	}
	for _, id := range committed {
		require.True(t, ids[id], "committed webhook %s survived the kill", id)
	}
}

// TestCrashWriter is the writer of TestKilledMidWrite, run in a child
// process; it never ends by itself.
func TestCrashWriter(t *testing.T) {
	path := os.Getenv("PULSE_CRASH_WRITER")
	if path == "" {
		t.Skip("run by TestKilledMidWrite")
	}
	s, err := Open(context.Background(), path)
	require.NoError(t, err)
	deadline := time.Now().Add(2 * time.Minute) // in case the parent dies
	for i := 0; time.Now().Before(deadline); i++ {
		w := pulse.NewWebhook()
		w.URL, w.RequestField, w.ResponseField = fmt.Sprintf("https://a.example/%d", i), "student", "student_id"
		require.NoError(t, s.CreateWebhook(context.Background(), w, 0))
		fmt.Printf("committed %s\n", w.ID)
	}
}
