// Command receiver is the demo webhook receiver on its own, as a receiver
// written for the seed would run: on its own port, so on another origin
// than the player. Point a webhook at http://127.0.0.1:3000/video-tracking
// and open http://127.0.0.1:3000/video-tracking in a browser to watch
// heartbeats arrive.
//
//	go run ./scripts/receiver [--addr 127.0.0.1:3000] [--path /video-tracking]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pulsehq/pulse/server/demo"
	"github.com/pulsehq/pulse/server/receiver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}

// run serves the receiver until ctx is done. The seed's log line for each
// heartbeat goes to stdout, the rest to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3000", "address to listen on")
	path := fs.String("path", "/video-tracking", "path to receive heartbeats at (the page is there too)")
	jwks := fs.String("jwks", "", "verify page tokens against this JWKS, such as http://127.0.0.1:8080/.well-known/jwks.json")
	requestField := fs.String("request-field", "", "with --jwks: the webhook's request field (such as student); a heartbeat's value must then be the token's value of that URL parameter (without it, any value the page was opened with passes)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := "/" + strings.Trim(*path, "/")
	log := slog.New(slog.NewTextHandler(stderr, nil))
	rc := demo.New(p, stdout, log)
	if *jwks != "" {
		rc.Verifier = &receiver.Verifier{JWKSURL: *jwks}
		if *requestField != "" {
			rc.RequestFields = func(context.Context, string, string) ([]string, error) { return []string{*requestField}, nil }
		}
	}
	mux := http.NewServeMux()
	mux.Handle(p, rc)
	mux.Handle(p+"/", rc)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, p, http.StatusFound) })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Fprintf(stdout, "Demo receiver: point a webhook at http://%s%s and open it in a browser\n", ln.Addr(), p)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
