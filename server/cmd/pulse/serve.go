package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehq/pulse/server/api"
	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/demo"
	"github.com/pulsehq/pulse/server/keyring"
	"github.com/pulsehq/pulse/server/library"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/receiver"
)

// demoReceiverPath is where serve mounts the demo receiver.
const demoReceiverPath = "/demo/receiver"

func (env environment) serve(ctx context.Context, args []string) error {
	fs, data := env.flags("serve", "pulse serve [flags]")
	addr := fs.String("addr", env.or("PULSE_ADDR", "127.0.0.1:8080"), "address to listen on (env PULSE_ADDR)")
	baseURL := fs.String("base-url", env.getenv("PULSE_BASE_URL"), "public URL of this server, for links (env PULSE_BASE_URL; default http://ADDR)")
	demoMedia := fs.String("demo-media", env.getenv("PULSE_DEMO_MEDIA"), "on first start, import classic.mp3 and mpeg2.mp3 from this folder and add a demo webhook (env PULSE_DEMO_MEDIA)")
	demoReceiver := fs.String("demo-receiver", env.or("PULSE_DEMO_RECEIVER", "auto"), "serve the public demo receiver at "+demoReceiverPath+": on, off, or auto (on with --demo-media) (env PULSE_DEMO_RECEIVER)")
	frameAncestors := fs.String("frame-ancestors", env.getenv("PULSE_FRAME_ANCESTORS"), "who may embed the player: a CSP source list such as \"https://lms.example.edu\" (env PULSE_FRAME_ANCESTORS; default anyone)")
	logLevel := fs.String("log-level", env.or("PULSE_LOG_LEVEL", "info"), "debug, info, warn or error (env PULSE_LOG_LEVEL)")
	adminFlags := env.adminFlags(fs)
	storeFlags := env.storeFlags(fs)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	authCfg, limits, err := adminFlags.resolve(*baseURL)
	if err != nil {
		return err
	}
	if _, err := api.ParseFrameAncestors(*frameAncestors); err != nil {
		return usagef("serve: --frame-ancestors: %s", strings.TrimPrefix(err.Error(), "api: frame-ancestors: "))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("serve: --log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: level}))
	pgOpts, cacheTTL, err := storeFlags.resolve(log)
	if err != nil {
		return err
	}

	store, err := env.openStoreWith(ctx, fs, pgOpts)
	if err != nil {
		return err
	}
	defer store.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close()
	base := strings.TrimSuffix(*baseURL, "/")
	if base == "" {
		base = "http://" + publicAddr(ln.Addr().String())
	}

	if *demoMedia != "" {
		if err := seedDemo(ctx, env, store, *data, *demoMedia, base); err != nil {
			return fmt.Errorf("demo content: %w", err)
		}
	}

	// The page-token signing key exists from the first start on, not from
	// the first page load: the JWKS has it at once, and `pulse keys list`
	// shows it.
	keys := keyring.New(store, 0)
	if k, created, err := keys.Ensure(ctx, time.Now()); err != nil {
		return fmt.Errorf("page-token signing key: %w", err)
	} else if created {
		log.Info("created the page-token signing key (first start); `pulse keys rotate` replaces it", "kid", k.ID)
	}

	authn := auth.New(store, authCfg)
	password, err := authn.EnsureAdmin(ctx, defaultAdmin, env.getenv("PULSE_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("first admin (PULSE_ADMIN_PASSWORD): %s", pulse.ErrorMessage(err)+internal(err))
	}
	srv, err := api.New(api.Config{MediaDir: mediaDir(*data), FrameAncestors: *frameAncestors, BaseURL: *baseURL,
		MaxWebhooks: limits.webhooks, MaxUpload: limits.upload, Auth: authn, Keys: keys, CacheTTL: cacheTTL,
		// One iss whichever host a page is opened at (localhost, a LAN
		// address): the URL printed at start, which the demo expects.
		Issuer: base}, store, log)
	if err != nil {
		return err
	}
	var receiverOn bool
	switch strings.ToLower(*demoReceiver) {
	case "auto":
		receiverOn = *demoMedia != ""
	case "on", "true", "1", "yes":
		receiverOn = true
	case "off", "false", "0", "no":
	default:
		return usagef("serve: --demo-receiver must be on, off or auto, got %q", *demoReceiver)
	}
	if receiverOn {
		rc := demo.New(demoReceiverPath, env.stdout, log)
		rc.Verifier = &receiver.Verifier{JWKSURL: base + "/.well-known/jwks.json", Issuer: base}
		rc.RequestFields = srv.RequestFields // as a real receiver, which knows its webhook
		srv.Mount(demoReceiverPath, rc)
		srv.Mount(demoReceiverPath+"/", rc)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if err := printURLs(ctx, env, store, base, receiverOn, password); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// publicAddr turns a listening address into one a browser can open.
func publicAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func printURLs(ctx context.Context, env environment, store pulse.Store, base string, receiver bool, password string) error {
	media, err := store.MediaList(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Pulse is listening on %s\n", base)
	// The oldest few (the demo's, on a fresh start); a large library is
	// in the admin panel, not in the log.
	const show = 5
	for i := len(media) - 1; i >= 0 && i >= len(media)-show; i-- {
		fmt.Fprintf(env.stdout, "  Player:   %s/v/%s?student=john_doe   (%s)\n", base, media[i].UUID, media[i].Title)
	}
	if len(media) > show {
		fmt.Fprintf(env.stdout, "            … and %d more media: see the admin panel\n", len(media)-show)
	}
	if len(media) == 0 {
		fmt.Fprintln(env.stdout, "  No media yet: upload some in the admin panel, or run `bin/pulse media add FILE` with this server's --data (or --database-url).")
	}
	if receiver {
		fmt.Fprintf(env.stdout, "  Receiver: %s%s\n", base, demoReceiverPath)
	}
	fmt.Fprintf(env.stdout, "  Admin:    %s/admin\n", base)
	if password != "" {
		fmt.Fprintf(env.stdout, "            user %s, password %s\n", defaultAdmin, password)
		fmt.Fprintln(env.stdout, "            (made at this first start and shown only now: change it with `pulse admin reset-password`)")
	}
	return nil
}

// demoFiles are the real recordings that ship with go-mp3.
var demoFiles = []struct{ file, title string }{
	{"mpeg2.mp3", "Alice's Adventures in Wonderland (speech)"},
	{"classic.mp3", "Mozart: A Little Night Music, allegro"},
}

// seedDemo imports the demo media and adds a demo webhook pointing at the
// demo receiver, once: a marker in the data folder says it was done, so
// that an admin who deletes demo content does not see it come back.
func seedDemo(ctx context.Context, env environment, store pulse.Store, data, dir, base string) error {
	marker := filepath.Join(data, ".demo-seeded")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	lib := &library.Library{Store: store, Dir: mediaDir(data)}
	for _, d := range demoFiles {
		f, err := os.Open(filepath.Join(dir, d.file))
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "importing demo media %s (first start only)…\n", d.file)
		_, err = lib.Import(ctx, f, d.title)
		f.Close()
		if err != nil {
			return fmt.Errorf("import %s: %w", d.file, err)
		}
	}
	w := pulse.NewWebhook()
	w.Name = "Demo receiver"
	w.URL = base + demoReceiverPath
	w.RequestField, w.ResponseField = "student", "student_id"
	w.RPM = 2
	if err := w.Validate(); err != nil {
		return err
	}
	if err := store.CreateWebhook(ctx, w, 0); err != nil {
		return err
	}
	return os.WriteFile(marker, []byte(strconv.FormatInt(time.Now().Unix(), 10)+"\n"), 0o644)
}
