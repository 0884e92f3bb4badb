// Package pgtest gives tests a PostgreSQL: a fresh database on the cluster
// that `make test` starts (PULSE_TEST_DATABASE_URL), or a cluster of their
// own that they can stop and start (to play a database outage).
//
// Without PostgreSQL the tests skip, unless PULSE_REQUIRE_E2E is set (make
// test sets it): then they fail, so that CI never passes without them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable with the URL of the test cluster (any database
// on it: tests create their own next to it).
const EnvURL = "PULSE_TEST_DATABASE_URL"

// EnvBin names the variable with the folder of PostgreSQL's programs
// (initdb, pg_ctl); by default the newest /usr/lib/postgresql/*/bin.
const EnvBin = "PULSE_TEST_PG_BIN"

// EnvRoot names the variable with the folder StartCluster makes clusters
// in (by default the system's temporary folder). scripts/test.sh sets it
// to a folder of its own and, when it exits, stops every cluster there
// (scripts/stop-test-postgres.sh): t.Cleanup does not run when go test
// times out or is interrupted.
const EnvRoot = "PULSE_TEST_PG_ROOT"

// missing skips the test, or fails it when PostgreSQL tests are required.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("PULSE_REQUIRE_E2E") != "" {
		tb.Fatalf("%s (make test provides it)", msg)
	}
	tb.Skipf("%s: skipping PostgreSQL test (make test runs it)", msg)
}

// DatabaseURL creates an empty database on the test cluster and returns
// its URL; the database is dropped when the test ends.
func DatabaseURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		missing(tb, "%s is not set", EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	name := "pulse_test_" + random()
	// FILE_COPY (PostgreSQL 15+) takes a tenth of the default's time here.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" STRATEGY FILE_COPY"); err != nil {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			tb.Fatalf("pgtest: create database: %v", err)
		}
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func random() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Cluster is a PostgreSQL cluster of one test, in a temporary folder,
// listening on 127.0.0.1.
type Cluster struct {
	URL  string // of its "postgres" database, user "pulse", no password
	Port int

	tb       testing.TB
	bin, dir string
	cred     *syscall.Credential // the unprivileged user it runs as, when we are root
}

// StartCluster creates and starts a cluster under $PULSE_TEST_PG_ROOT,
// stopped and removed when the test ends. initdb refuses to run as root:
// as root it runs as the user postgres (or nobody), who must be able to
// reach that folder.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin := binDir()
	if bin == "" {
		missing(tb, "PostgreSQL's programs are not installed (set %s or apt-get install postgresql)", EnvBin)
	}
	c := &Cluster{tb: tb, bin: bin}
	dir, err := os.MkdirTemp(os.Getenv(EnvRoot), "pulse-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	c.dir = dir
	tb.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		c.cred, err = unprivileged()
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			tb.Fatal(err)
		}
	}
	if out, err := c.run("initdb", "-D", c.data(), "-U", "pulse", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	for try := 0; ; try++ {
		c.Port = freePort(tb)
		if err := c.start(); err == nil {
			break
		} else if try == 3 {
			tb.Fatalf("pgtest: start PostgreSQL: %v", err)
		}
	}
	c.URL = fmt.Sprintf("postgres://pulse@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	return c
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// Stop shuts the server down as an operator would (fast: connections are
// ended), and waits until it is down.
func (c *Cluster) Stop() {
	c.tb.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		c.tb.Fatalf("pgtest: stop PostgreSQL: %v\n%s", err, out)
	}
}

// Start starts the server again on the same port.
func (c *Cluster) Start() {
	c.tb.Helper()
	if err := c.start(); err != nil {
		c.tb.Fatalf("pgtest: start PostgreSQL: %v", err)
	}
}

func (c *Cluster) start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s "+
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off", c.Port, c.dir)
	out, err := c.run("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "postgres.log"), "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "postgres.log"))
		return fmt.Errorf("%v\n%s\n%s", err, out, log)
	}
	return nil
}

func (c *Cluster) run(prog string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// binDir finds initdb and pg_ctl.
func binDir() string {
	if d := os.Getenv(EnvBin); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// unprivileged returns the user PostgreSQL runs as when we are root.
func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("running as root, and there is no user postgres or nobody to run PostgreSQL as")
}

func freePort(tb testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Conn connects to the database at url for a test's own queries; closed
// when the test ends.
func Conn(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
