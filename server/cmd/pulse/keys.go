package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pulsehq/pulse/server/keyring"
	"github.com/pulsehq/pulse/server/pulse"
	"github.com/pulsehq/pulse/server/token"
)

// Verifiable heartbeats from the command line: page-token keys, embed keys
// and signed links (PROTOCOL.md §5).

func (env environment) keysRotate(ctx context.Context, args []string) error {
	fs, _ := env.flags("keys rotate", "pulse keys rotate [--data DIR]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("keys rotate: unexpected argument %q", pos[0])
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now()
	k, err := keyring.New(store, 0).Rotate(ctx, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "The new key is in the JWKS now (running servers publish it within %v) and signs page tokens from %s, in %v, "+
		"once receivers can have fetched it; until then the current key signs. The previous key stays in the JWKS until its tokens expire.\n",
		keyring.Refresh, k.SignsFrom.UTC().Format(time.RFC3339), k.SignsFrom.Sub(now).Round(time.Second))
	fmt.Fprintln(env.stdout, k.ID)
	return nil
}

func (env environment) keysList(ctx context.Context, args []string) error {
	fs, _ := env.flags("keys list", "pulse keys list [--data DIR]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("keys list: unexpected argument %q", pos[0])
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tCREATED\tSTATE")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.CreatedAt.UTC().Format(time.RFC3339), keyState(k, now))
	}
	return tw.Flush()
}

// keyState says what a signing key does at now. Every key listed is in the
// JWKS.
func keyState(k *pulse.SigningKey, now time.Time) string {
	const day = time.RFC3339
	switch {
	case now.Before(k.SignsFrom):
		return "next: signs from " + k.SignsFrom.UTC().Format(day)
	case k.RetiredAt == nil:
		return "signs"
	case now.Before(*k.RetiredAt):
		return "signs until " + k.RetiredAt.UTC().Format(day)
	default:
		return "retired " + k.RetiredAt.UTC().Format(day) + ", in the JWKS until its tokens expire"
	}
}

// newEmbedSecret returns 256 random bits as base64url text. The text's
// bytes are the HMAC key: the same in every language.
func newEmbedSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func (env environment) embedKeyAdd(ctx context.Context, args []string) error {
	fs, _ := env.flags("embedkey add", "pulse embedkey add --name N [--secret-file F] [--data DIR]")
	name := fs.String("name", "", "a label, such as the LMS it is for (required)")
	secretFile := fs.String("secret-file", "", "write the secret to this new file (mode 0600; an existing file is refused) instead of printing it")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("embedkey add: unexpected argument %q", pos[0])
	}
	if err := pulse.ValidateKeyName(*name); err != nil {
		return usagef("embedkey add: %s", flagName(err))
	}
	secret, err := newEmbedSecret()
	if err != nil {
		return err
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	if *secretFile != "" {
		// O_EXCL: never overwrite a file (another key's secret) or follow a
		// link planted where the secret goes.
		f, err := os.OpenFile(*secretFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("embedkey add: %w (the secret file must not exist yet)", err)
		}
		_, err = f.WriteString(secret + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(*secretFile)
			return fmt.Errorf("embedkey add: %w", err)
		}
	}
	k := &pulse.EmbedKey{Name: strings.TrimSpace(*name), Secret: []byte(secret)}
	if err := store.CreateEmbedKey(ctx, k); err != nil {
		if *secretFile != "" {
			os.Remove(*secretFile)
		}
		return fmt.Errorf("embedkey add: %w", err)
	}
	fmt.Fprintln(env.stdout, k.ID)
	if *secretFile == "" {
		fmt.Fprintln(env.stdout, secret)
		fmt.Fprintln(env.stderr, "The second line is the secret: keep it on the embedder's server; it is not shown again.")
	}
	return nil
}

func (env environment) embedKeyList(ctx context.Context, args []string) error {
	fs, _ := env.flags("embedkey list", "pulse embedkey list [--data DIR]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("embedkey list: unexpected argument %q", pos[0])
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := store.EmbedKeys(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tCREATED\tSTATE\tNAME")
	for _, k := range keys {
		state := "active"
		if k.Revoked() {
			state = "revoked " + k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.CreatedAt.Format(time.RFC3339), state, k.Name)
	}
	return tw.Flush()
}

func (env environment) embedKeyRevoke(ctx context.Context, args []string) error {
	fs, _ := env.flags("embedkey revoke", "pulse embedkey revoke KID [--data DIR]")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("embedkey revoke: give exactly one KID")
	}
	store, err := env.openStore(ctx, fs)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.RevokeEmbedKey(ctx, pos[0], time.Now()); err != nil {
		return fmt.Errorf("embedkey revoke: %s", pulse.ErrorMessage(err)+internal(err))
	}
	fmt.Fprintln(env.stderr, "revoked: links signed with", pos[0], "no longer open a player")
	return nil
}

// linkSign needs no database: an embedder runs it with its own copy of the
// secret.
func (env environment) linkSign(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("link sign", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: pulse link sign --kid K --secret-file F [--ttl D | --exp UNIX] URL\n\nFlags:\n")
		fs.PrintDefaults()
	}
	kid := fs.String("kid", "", "embed key id (required)")
	secretFile := fs.String("secret-file", "", "file holding the embed key's secret (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the link stays valid")
	exp := fs.Int64("exp", 0, "expiry as unix seconds (overrides --ttl)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *kid == "" || *secretFile == "" {
		fs.Usage()
		return usagef("link sign: give --kid, --secret-file and one URL")
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("link sign: %w", err)
	}
	s := strings.TrimSpace(string(secret))
	if s == "" {
		return fmt.Errorf("link sign: %s is empty", *secretFile)
	}
	at := time.Now().Add(*ttl)
	if *exp != 0 {
		at = time.Unix(*exp, 0)
	}
	if !at.After(time.Now()) {
		return usagef("link sign: the expiry %s is in the past", strconv.FormatInt(at.Unix(), 10))
	}
	if u, err := url.Parse(pos[0]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasPrefix(u.Path, "/v/") {
		return usagef("link sign: %q is not a player URL (https://HOST/v/UUID?…)", pos[0])
	}
	signed, err := token.SignLink(pos[0], *kid, []byte(s), at)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, signed)
	return nil
}
