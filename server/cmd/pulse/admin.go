package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pulsehq/pulse/server/api"
	"github.com/pulsehq/pulse/server/auth"
	"github.com/pulsehq/pulse/server/library"
	"github.com/pulsehq/pulse/server/pulse"
)

// defaultAdmin is the user name of the admin made at first start.
const defaultAdmin = "admin"

// adminFlags are serve's settings of the admin panel and its API.
type adminFlags struct {
	maxWebhooks  *string
	maxUpload    *string
	sessionTTL   *string
	realIPHeader *string
}

func (env environment) adminFlags(fs *flag.FlagSet) adminFlags {
	return adminFlags{
		maxWebhooks: fs.String("max-webhooks", env.or("PULSE_MAX_WEBHOOKS", strconv.Itoa(api.DefaultMaxWebhooks)),
			"how many webhooks may exist (env PULSE_MAX_WEBHOOKS)"),
		maxUpload: fs.String("max-upload", env.or("PULSE_MAX_UPLOAD", "2GiB"),
			"largest media file an upload may carry, such as 500MiB (env PULSE_MAX_UPLOAD)"),
		sessionTTL: fs.String("session-ttl", env.or("PULSE_SESSION_TTL", auth.DefaultSessionTTL.String()),
			"how long an admin stays signed in (env PULSE_SESSION_TTL)"),
		realIPHeader: fs.String("real-ip-header", env.getenv("PULSE_REAL_IP_HEADER"),
			"header with the client address set by your reverse proxy, such as X-Forwarded-For; sign-in limits use it (env PULSE_REAL_IP_HEADER; default: the connection's address)"),
	}
}

type limits struct {
	webhooks int
	upload   int64
}

func (f adminFlags) resolve(baseURL string) (auth.Config, limits, error) {
	var l limits
	n, err := strconv.Atoi(*f.maxWebhooks)
	if err != nil || n < 1 {
		return auth.Config{}, l, usagef("serve: --max-webhooks must be a positive whole number, got %q", *f.maxWebhooks)
	}
	l.webhooks = n
	if l.upload, err = library.ParseSize(*f.maxUpload); err != nil {
		return auth.Config{}, l, usagef("serve: --max-upload: %v", strings.TrimPrefix(err.Error(), "library: "))
	}
	ttl, err := time.ParseDuration(*f.sessionTTL)
	if err != nil || ttl < time.Minute {
		return auth.Config{}, l, usagef("serve: --session-ttl must be a duration of at least 1m, such as 12h, got %q", *f.sessionTTL)
	}
	return auth.Config{
		SessionTTL:   ttl,
		Secure:       strings.HasPrefix(strings.ToLower(baseURL), "https://"),
		RealIPHeader: *f.realIPHeader,
	}, l, nil
}

// adminResetPassword sets an admin's password without a prompt: from a
// file, from standard input, or a new random one that it prints. It creates
// the admin when the user name is new. Every session of the admin ends.
func (env environment) adminResetPassword(ctx context.Context, args []string) error {
	fs, _ := env.flags("admin reset-password",
		"pulse admin reset-password [--user NAME] [--password-file FILE | --password-stdin] [--data DIR]\n\n"+
			"Sets the password of an admin (creating the admin if the name is new) and signs that admin out everywhere.\n"+
			"Without --password-file or --password-stdin it makes a random password and prints it.")
	user := fs.String("user", defaultAdmin, "the admin's user name")
	file := fs.String("password-file", "", "read the new password from this file (its first line)")
	stdin := fs.Bool("password-stdin", false, "read the new password from standard input (its first line)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("admin reset-password: unexpected argument %q", pos[0])
	}
	if *file != "" && *stdin {
		return usagef("admin reset-password: give --password-file or --password-stdin, not both")
	}
	if err := pulse.ValidateUsername(*user); err != nil {
		return usagef("admin reset-password: --user %s", pulse.ErrorMessage(err))
	}
	var password string
	switch {
	case *file != "":
		b, err := os.ReadFile(*file)
		if err != nil {
			return err
		}
		password = firstLine(b)
	case *stdin:
		b, err := io.ReadAll(io.LimitReader(env.stdin, 4096))
		if err != nil {
			return fmt.Errorf("read standard input: %w", err)
		}
		password = firstLine(b)
	default:
		password = auth.RandomPassword()
	}
	hash, err := auth.HashPassword(password, auth.DefaultBcryptCost)
	if err != nil {
		return usagef("admin reset-password: the password %s", pulse.ErrorMessage(err))
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	verb := "changed"
	a, err := store.AdminByUsername(ctx, *user)
	switch {
	case pulse.ErrorCode(err) == pulse.ENotFound:
		if err := store.CreateAdmin(ctx, &pulse.Admin{Username: *user, PasswordHash: hash}); err != nil {
			return err
		}
		verb = "created"
	case err != nil:
		return err
	default:
		if err := store.SetAdminPassword(ctx, a.ID, hash); err != nil {
			return err
		}
	}
	if *file == "" && !*stdin {
		fmt.Fprintf(env.stdout, "user %s, password %s\n", *user, password)
	}
	fmt.Fprintf(env.stderr, "admin %s %s", *user, verb)
	if verb == "changed" {
		fmt.Fprint(env.stderr, "; every session of this admin has ended")
	}
	fmt.Fprintln(env.stderr)
	return nil
}

// firstLine returns b up to its first line break.
func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(s, "\r")
}
