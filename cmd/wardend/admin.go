package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"warden/server"
)

const adminUsage = `usage: wardend admin issue-token [--user admin] [--output FILE] [--data-dir DIR] [--database URL] [--master-key-file FILE]

issue-token writes a new OAuth token for a user account straight into the
database, without a running server and without any credential: the way back
in when the admin's token and password are lost. It needs what wardend needs
(the database and its master key, from the same flags or WARDEN_* variables)
and creates neither. The token goes to standard output, or with --output to
a new file of mode 0600. Exchange it for an IAM token like any OAuth token
(warden login --oauth-token-file FILE, or POST /iam/v1/tokens).
`

// admin runs the operator commands that work on the database directly.
func admin(args []string) error {
	if len(args) == 0 || args[0] != "issue-token" {
		fmt.Fprint(os.Stderr, adminUsage)
		return errors.New("admin: the only command is issue-token")
	}
	var cfg server.Config
	fs := flag.NewFlagSet("wardend admin issue-token", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), adminUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	storageFlags(fs, &cfg)
	user := fs.String("user", "admin", "login or ID of the user account the token is for")
	output := fs.String("output", "", "file to write the token to, created with mode 0600 (it must not exist); standard output when empty")
	fs.Parse(args[1:])
	if fs.NArg() > 0 {
		return fmt.Errorf("admin issue-token: unexpected argument %q", fs.Arg(0))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tok, account, err := server.IssueToken(ctx, cfg, *user)
	if err != nil {
		return err
	}
	if *output == "" {
		fmt.Println(tok.Reveal())
	} else if err := writeNewSecretFile(*output, tok.Reveal()+"\n"); err != nil {
		return fmt.Errorf("admin issue-token: %w", err)
	}
	where := "above"
	if *output != "" {
		where = "in " + filepath.Clean(*output)
	}
	fmt.Fprintf(os.Stderr, "wardend: a new OAuth token for user account %s (%s) is %s\n", account.Name, account.ID, where)
	return nil
}

// writeNewSecretFile creates path with mode 0600, refusing to replace a file
// that is already there (it may be another credential).
func writeNewSecretFile(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
