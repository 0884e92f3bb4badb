package pgtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envHelper makes this test binary a test that starts a cluster and dies
// without its cleanup, as on a go test timeout.
const envHelper = "PULSE_PGTEST_DIE_WITH_CLUSTER"

func TestHelperDiesWithCluster(t *testing.T) {
	if os.Getenv(envHelper) == "" {
		t.Skip("run by TestLeftClustersAreStopped")
	}
	c := StartCluster(t)
	fmt.Printf("cluster %s %d\n", c.dir, c.Port)
	os.Exit(3) // no t.Cleanup, as when the test binary's timeout panics
}

// A cluster whose test died without stopping it is under
// PULSE_TEST_PG_ROOT, where scripts/stop-test-postgres.sh (test.sh's exit
// trap) stops it and removes the folder.
func TestLeftClustersAreStopped(t *testing.T) {
	if binDir() == "" {
		missing(t, "PostgreSQL's programs are not installed")
	}
	root, err := os.MkdirTemp("", "pulse-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(root) })
	require.NoError(t, os.Chmod(root, 0o755)) // the cluster's user must reach it

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDiesWithCluster$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHelper+"=1", EnvRoot+"="+root)
	out, _ := cmd.Output()
	var dir string
	var port int
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		fmt.Sscanf(sc.Text(), "cluster %s %d", &dir, &port)
	}
	require.NotEmpty(t, dir, "the helper started no cluster: %s", out)
	t.Cleanup(func() { // should the script miss it
		c := &Cluster{bin: binDir(), dir: dir}
		if os.Geteuid() == 0 {
			c.cred, _ = unprivileged()
		}
		c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	assert.Equal(t, root, filepath.Dir(dir), "the cluster is under %s", EnvRoot)
	require.True(t, listening(port), "the cluster was left running")

	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "..", "scripts", "stop-test-postgres.sh")
	stop := exec.Command("bash", script, root)
	stop.Env = append(os.Environ(), EnvBin+"="+binDir())
	b, err := stop.CombinedOutput()
	require.NoError(t, err, "%s", b)
	assert.False(t, listening(port), "the cluster is stopped")
	_, err = os.Stat(root)
	assert.True(t, os.IsNotExist(err), "the folder is removed")
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
