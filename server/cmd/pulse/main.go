// Command pulse runs the Pulse server and manages its media and webhooks.
//
//	pulse serve                       start the server
//	pulse media add FILE [--title T]  import a media file, print its uuid
//	pulse media list                  list media
//	pulse webhook add --url U …       add a webhook, print its id
//	pulse webhook list                list webhooks
//	pulse admin reset-password        set an admin's password
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "pulse:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `Pulse: a self-hosted media player with client-side webhooks.

Usage:
  pulse serve [flags]                     start the server
  pulse media add FILE [--title T]        import a media file; prints its uuid
  pulse media list                        list media
  pulse webhook add --url U --request-field F --response-field G [--rpm N] [--events=false]
                                          add a webhook; prints its id
  pulse webhook list                      list webhooks
  pulse admin reset-password [--user U] [--password-file F | --password-stdin]
                                          set an admin's password (prints a new random one
                                          when neither is given); signs that admin out
  pulse keys rotate | list                start signing page tokens with a new key; list keys
  pulse embedkey add --name N [--secret-file F]
                                          create an embed key; prints its id, then its secret
  pulse embedkey list | revoke KID        list or revoke embed keys
  pulse link sign --kid K --secret-file F [--ttl D] URL
                                          sign a player URL (needs no database)

Run "pulse COMMAND --help" for a command's flags.
Every command takes --data DIR (or PULSE_DATA; default ./data), and
--database-url URL (or PULSE_DATABASE_URL) to use PostgreSQL instead of
SQLite in the data folder.
`

// run is the whole program, with its environment passed in, so tests can
// run it too.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	env := environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return env.serve(ctx, rest)
	case "media":
		return env.sub(ctx, "media", rest, map[string]command{"add": env.mediaAdd, "list": env.mediaList})
	case "webhook", "webhooks":
		return env.sub(ctx, "webhook", rest, map[string]command{"add": env.webhookAdd, "list": env.webhookList})
	case "admin":
		return env.sub(ctx, "admin", rest, map[string]command{"reset-password": env.adminResetPassword})
	case "keys":
		return env.sub(ctx, "keys", rest, map[string]command{"rotate": env.keysRotate, "list": env.keysList})
	case "embedkey", "embedkeys":
		return env.sub(ctx, "embedkey", rest, map[string]command{"add": env.embedKeyAdd, "list": env.embedKeyList, "revoke": env.embedKeyRevoke})
	case "link":
		return env.sub(ctx, "link", rest, map[string]command{"sign": env.linkSign})
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usagef("unknown command %q", cmd)
	}
}

type command func(ctx context.Context, args []string) error

type environment struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (env environment) sub(ctx context.Context, name string, args []string, cmds map[string]command) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(env.stderr, usage)
		if len(args) == 0 {
			return usagef("%s: which command? (%s)", name, strings.Join(slices.Sorted(maps.Keys(cmds)), " or "))
		}
		return flag.ErrHelp
	}
	c, ok := cmds[args[0]]
	if !ok {
		return usagef("%s: unknown command %q", name, args[0])
	}
	return c(ctx, args[1:])
}

// flags returns a flag set that prints its usage to stderr and accepts the
// common --data flag, defaulting to PULSE_DATA or ./data.
func (env environment) flags(name, synopsis string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	data := fs.String("data", env.or("PULSE_DATA", "data"), "data folder: database and media files (env PULSE_DATA)")
	databaseFlag(fs)
	return fs, data
}

func (env environment) or(key, def string) string {
	if v := env.getenv(key); v != "" {
		return v
	}
	return def
}

// parse parses flags placed anywhere among the positional arguments, which
// it returns: "media add FILE --title T" works as well as the reverse.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
