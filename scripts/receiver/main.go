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
	"log/slog"
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
	addr := flag.String("addr", "127.0.0.1:3000", "address to listen on")
	path := flag.String("path", "/video-tracking", "path to receive heartbeats at (the page is there too)")
	jwks := flag.String("jwks", "", "verify page tokens against this JWKS, such as http://127.0.0.1:8080/.well-known/jwks.json")
	requestField := flag.String("request-field", "", "with --jwks: the webhook's request field (such as student); a heartbeat's value must then be the token's value of that URL parameter (without it, any value the page was opened with passes)")
	flag.Parse()
	p := "/" + strings.Trim(*path, "/")
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	rc := demo.New(p, os.Stdout, log)
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
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	fmt.Printf("Demo receiver: point a webhook at http://%s%s and open it in a browser\n", *addr, p)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(1)
	}
}
