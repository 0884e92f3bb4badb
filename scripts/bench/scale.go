package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehq/pulse/server/pulse"
)

// scale: how the config API's cost grows with the number of media and of
// webhooks per media. The database is seeded directly with SQL in one
// transaction (Pulse's schema, made by `pulse media list`), then for each
// cell a fresh `pulse serve` is loaded for a few seconds.
func (b *bench) scale(ctx context.Context) error {
	counts := []int{10, 1000, 100000}
	perMedia := []int{1, 10, 100}
	const maxScoped = 100000 // webhooks in the database, for the scoped variant
	global := map[[2]int]string{}
	scoped := map[[2]int]string{}
	for _, n := range counts {
		data := b.tmpPath("scale-" + strconv.Itoa(n))
		if _, err := b.pulseCmd(ctx, data, "media", "list"); err != nil {
			return err
		}
		b.logf("scale: seeding %d media", n)
		uuids, err := seedMedia(ctx, data, n)
		if err != nil {
			return err
		}
		target := uuids[n/2]
		have := 0
		for _, w := range perMedia {
			if err := seedWebhooks(ctx, data, nil, w-have); err != nil {
				return err
			}
			have = w
			cell, err := b.scaleCell(ctx, data, target)
			if err != nil {
				return err
			}
			global[[2]int{n, w}] = cell
		}
		if err := clearWebhooks(ctx, data); err != nil {
			return err
		}
		have = 0
		for _, w := range perMedia {
			if n*w > maxScoped {
				scoped[[2]int{n, w}] = fmt.Sprintf("not run (%s webhooks)", count(n*w))
				continue
			}
			if err := seedWebhooks(ctx, data, uuids, w-have); err != nil {
				return err
			}
			have = w
			cell, err := b.scaleCell(ctx, data, target)
			if err != nil {
				return err
			}
			scoped[[2]int{n, w}] = cell
		}
		if !b.o.keep {
			os.RemoveAll(data)
		}
	}
	var sb strings.Builder
	sb.WriteString("## 6. Scale sketch: the config API as the library grows\n\n")
	fmt.Fprintf(&sb, "Each cell: requests/s and p99 latency of GET /api/player/{uuid}/webhooks for one media in the middle of the table "+
		"(`wrk -t2 -c64 -d%s`, a fresh `pulse serve` per cell); the time of the first request, alone, which renders the config from "+
		"SQLite (what every request costs without the config cache, and a cache miss costs with it); pulse serve's peak resident memory (VmHWM). "+
		"Media rows carry 1000 waveform peaks, as imports make them. The config lists every webhook that applies to the media, so its body "+
		"grows with the webhooks per media.\n\n", b.o.scaleLoad)
	table := func(title string, cells map[[2]int]string) {
		fmt.Fprintf(&sb, "%s\n\n| media | ", title)
		for _, w := range perMedia {
			fmt.Fprintf(&sb, "%d webhook%s per media | ", w, plural(w))
		}
		sb.WriteString("\n|---:|")
		for range perMedia {
			sb.WriteString("---|")
		}
		sb.WriteString("\n")
		for _, n := range counts {
			fmt.Fprintf(&sb, "| %s | ", count(n))
			for _, w := range perMedia {
				fmt.Fprintf(&sb, "%s | ", cells[[2]int{n, w}])
			}
			sb.WriteString("\n")
		}
		sb.WriteString("\n")
	}
	table("**Webhooks for all media** (scope \"all\": the database holds only the webhooks per media):", global)
	table(fmt.Sprintf("**Webhooks scoped to one media each** (the database holds media × webhooks per media; cells over %s webhooks are not run):", count(maxScoped)), scoped)
	b.rep.extra = append(b.rep.extra, sb.String())
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + " 000 000"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + " 000"
	}
	return strconv.Itoa(n)
}

// scaleCell starts a server on the data and loads it.
func (b *bench) scaleCell(ctx context.Context, data, uuid string) (string, error) {
	s, err := b.startPulse(ctx, data)
	if err != nil {
		return "", err
	}
	defer s.stop()
	// pulse serve prints a link per media before it serves: wait for it.
	if _, err := get(s.URL + "/healthz"); err != nil {
		return "", err
	}
	url := s.URL + "/api/player/" + uuid + "/webhooks"
	start := time.Now()
	if _, err := get(url); err != nil {
		return "", err
	}
	first := float64(time.Since(start)) / 1e6
	r, err := runWrk(ctx, url, b.o.scaleLoad, nil)
	if err != nil {
		return "", err
	}
	load := fmt.Sprintf("%s, p99 %s", fmtRPS(r.rps), fmtMs(r.p99))
	if r.requests == 0 {
		load = fmt.Sprintf("no request done in %s", b.o.scaleLoad)
	}
	cell := fmt.Sprintf("%s; first %s; %s", load, fmtMs(first), fmtMB(float64(procStatus(s.pid(), "VmHWM"))))
	if r.errors != "" {
		cell += " (" + r.errors + ")"
	}
	return cell, nil
}

// seedMedia adds n media rows (no files: the config API does not read
// them) and returns their uuids.
func seedMedia(ctx context.Context, data string, n int) ([]string, error) {
	db, err := openDB(data + "/pulse.db")
	if err != nil {
		return nil, err
	}
	defer closeDB(db)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO media (uuid, title, type, size, duration, file, peaks, created_at) VALUES (?,?,?,?,?,?,?,?)`)
	if err != nil {
		return nil, err
	}
	peaks := make([]byte, 1000)
	for i := range peaks {
		peaks[i] = byte(i * 7)
	}
	now := time.Now().UnixMilli()
	uuids := make([]string, n)
	for i := range n {
		uuids[i] = pulse.NewUUID()
		if _, err := st.ExecContext(ctx, uuids[i], "Lecture "+strconv.Itoa(i), "audio/mpeg", 5_000_000, 300.0, uuids[i]+".mp3", peaks, now+int64(i)); err != nil {
			return nil, err
		}
	}
	return uuids, tx.Commit()
}

// seedWebhooks adds k webhooks for all media (scope nil), or k webhooks
// scoped to each media of scope.
func seedWebhooks(ctx context.Context, data string, scope []string, k int) error {
	db, err := openDB(data + "/pulse.db")
	if err != nil {
		return err
	}
	defer closeDB(db)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO webhooks (id, name, url, request_field, response_field, rpm, active, events,
		require_param, scope, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	add := func(scopeJSON string) error {
		_, err := st.ExecContext(ctx, pulse.NewID("wh"), "", "https://lms.example.edu/video-tracking", "student", "student_id",
			2, true, true, false, scopeJSON, now, now)
		return err
	}
	for range k {
		if scope == nil {
			if err := add(""); err != nil {
				return err
			}
			continue
		}
		for _, u := range scope {
			if err := add(`["` + u + `"]`); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func clearWebhooks(ctx context.Context, data string) error {
	db, err := openDB(data + "/pulse.db")
	if err != nil {
		return err
	}
	defer closeDB(db)
	_, err = db.ExecContext(ctx, `DELETE FROM webhooks`)
	return err
}
