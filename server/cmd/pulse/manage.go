package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/pulsehq/pulse/server/api"
	"github.com/pulsehq/pulse/server/library"
	"github.com/pulsehq/pulse/server/pulse"
)

func (env environment) mediaAdd(ctx context.Context, args []string) error {
	fs, data := env.flags("media add", "pulse media add FILE [--title T] [--data DIR]")
	title := fs.String("title", "", "title shown in the player (default: the file name)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usagef("media add: give exactly one FILE")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if !st.Mode().IsRegular() {
		return usagef("media add: %s is not a file", pos[0])
	}
	if *title == "" {
		*title = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	lib := &library.Library{Store: store, Dir: mediaDir(*data)}
	m, err := lib.Import(ctx, f, *title)
	if err != nil {
		return fmt.Errorf("media add %s: %s", pos[0], pulse.ErrorMessage(err)+internal(err))
	}
	fmt.Fprintln(env.stdout, m.UUID)
	return nil
}

// internal returns the detail of an internal error, which a command line
// user (the operator) may see.
func internal(err error) string {
	if pulse.ErrorCode(err) == pulse.EInternal {
		return ": " + err.Error()
	}
	return ""
}

func (env environment) mediaList(ctx context.Context, args []string) error {
	fs, _ := env.flags("media list", "pulse media list [--data DIR]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("media list: unexpected argument %q", pos[0])
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	media, err := store.MediaList(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UUID\tTYPE\tDURATION\tSIZE\tTITLE")
	for _, m := range media {
		fmt.Fprintf(tw, "%s\t%s\t%.1fs\t%s\t%s\n", m.UUID, m.Type, m.Duration, library.Size(m.Size), m.Title)
	}
	return tw.Flush()
}

func (env environment) webhookAdd(ctx context.Context, args []string) error {
	fs, _ := env.flags("webhook add", "pulse webhook add --url U --request-field F --response-field G [--rpm N] [--events=false] [--data DIR]")
	w := pulse.NewWebhook()
	fs.StringVar(&w.URL, "url", "", "endpoint the players POST to (required)")
	fs.StringVar(&w.RequestField, "request-field", "", "player URL parameter to read, such as student (required)")
	fs.StringVar(&w.ResponseField, "response-field", "", "name to send its value under, such as student_id (required)")
	fs.IntVar(&w.RPM, "rpm", pulse.DefaultRPM, "requests per minute while playing, 1-60")
	fs.BoolVar(&w.Events, "events", true, "send play/pause/seeked/ended/hidden/leave events and the extended payload")
	fs.StringVar(&w.Name, "name", "", "a label for admins")
	fs.BoolVar(&w.RequireParam, "require-param", false, "send nothing from players whose URL lacks the request field")
	fs.BoolVar(&w.RequireSignedLink, "require-signed-link", false, "send nothing from players not opened with a verified signed link")
	inactive := fs.Bool("inactive", false, "create it switched off")
	maxWebhooks := fs.Int("max-webhooks", atoiOr(env.getenv("PULSE_MAX_WEBHOOKS"), api.DefaultMaxWebhooks), "refuse to go past this many webhooks (env PULSE_MAX_WEBHOOKS)")
	scope := fs.String("scope", "all", `"all", or media uuids separated by commas`)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("webhook add: unexpected argument %q", pos[0])
	}
	w.Active = !*inactive
	if *scope != "all" {
		for _, id := range strings.Split(*scope, ",") {
			w.Scope.Media = append(w.Scope.Media, strings.TrimSpace(id))
		}
	}
	if err := w.Validate(); err != nil {
		return usagef("webhook add: %s", flagName(err))
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	for _, id := range w.Scope.Media {
		if _, err := store.Media(ctx, id); err != nil {
			return fmt.Errorf("webhook add: --scope: %s", pulse.ErrorMessage(err)+internal(err))
		}
	}
	if err := store.CreateWebhook(ctx, w, *maxWebhooks); err != nil {
		return fmt.Errorf("webhook add: %s", pulse.ErrorMessage(err)+internal(err))
	}
	for _, warn := range w.Warnings() {
		fmt.Fprintln(env.stderr, "warning:", warn)
	}
	fmt.Fprintln(env.stdout, w.ID)
	return nil
}

// atoiOr parses a whole number, or returns def.
func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return def
}

// flagName phrases a validation error with the flag's name.
func flagName(err error) string {
	if e, ok := err.(*pulse.Error); ok && e.Field != "" {
		return "--" + strings.ReplaceAll(e.Field, "_", "-") + " " + e.Message
	}
	return err.Error()
}

func (env environment) webhookList(ctx context.Context, args []string) error {
	fs, _ := env.flags("webhook list", "pulse webhook list [--data DIR]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("webhook list: unexpected argument %q", pos[0])
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	hooks, err := store.Webhooks(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tACTIVE\tRPM\tEVENTS\tREQUEST→RESPONSE\tURL")
	for _, w := range hooks {
		fmt.Fprintf(tw, "%s\t%v\t%d\t%v\t%s→%s\t%s\n", w.ID, w.Active, w.RPM, w.Events, w.RequestField, w.ResponseField, w.URL)
	}
	return tw.Flush()
}
