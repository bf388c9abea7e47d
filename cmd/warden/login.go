package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"golang.org/x/term"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/client"
)

func (a *app) loginCommand() *cobra.Command {
	var login, tokenFile string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in and keep the OAuth token in the profile",
		Long: `Log in as a user with a password and keep the OAuth token Warden returns in
the profile (its token setting), replacing any iam-token or
service-account-key set there. The
password is prompted for on a terminal; with --password-stdin, or when stdin
is not a terminal, it is read from the first line of stdin.

With --oauth-token-file the token is read from a file instead (for example
the bootstrap admin's token, which wardend writes to
<data-dir>/admin-oauth-token at its first start) and checked with the server.

When the profile names no endpoint yet, the one given with --endpoint or
WARDEN_ENDPOINT is kept too.`,
		Example: `  warden login
  warden --endpoint 127.0.0.1:8080 login --login alice
  printf '%s\n' "$PASSWORD" | warden login --password-stdin
  warden login --oauth-token-file warden-data/admin-oauth-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokenFile != "" && (cmd.Flags().Changed("login") || fromStdin) {
				return errors.New("--oauth-token-file does not go with --login or --password-stdin")
			}
			cfg, err := a.connConfig()
			if err != nil {
				return err
			}
			var tok, who string
			if tokenFile != "" {
				tok, err = a.checkTokenFile(cmd, cfg, tokenFile)
				who = "the token's owner"
			} else {
				tok, err = a.passwordLogin(cmd, cfg, login, fromStdin)
				who = fmt.Sprintf("%q", login)
			}
			if err != nil {
				return err
			}
			return a.saveLogin(tok, who)
		},
	}
	cmd.Flags().StringVar(&login, "login", "admin", "login of the user")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin, without prompting")
	cmd.Flags().StringVar(&tokenFile, "oauth-token-file", "", "keep the OAuth token in this file instead of logging in with a password")
	return cmd
}

func (a *app) passwordLogin(cmd *cobra.Command, cfg client.Config, login string, fromStdin bool) (string, error) {
	if login == "" {
		return "", errors.New("--login must not be empty")
	}
	pw, err := a.readSecret(fmt.Sprintf("Password for %s: ", login), fromStdin)
	if err != nil {
		return "", err
	}
	tok, err := cfg.Login(cmd.Context(), login, pw)
	if err != nil {
		return "", fmt.Errorf("log in as %q: %w", login, err)
	}
	return tok, nil
}

// checkTokenFile reads an OAuth token and checks it by exchanging it for
// an IAM token.
func (a *app) checkTokenFile(cmd *cobra.Command, cfg client.Config, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read OAuth token: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("%s holds no token", path)
	}
	cfg.OAuthToken = tok
	c, err := client.Dial(cmd.Context(), cfg)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Token(cmd.Context()); err != nil {
		return "", fmt.Errorf("the OAuth token in %s was not accepted: %w", path, err)
	}
	return tok, nil
}

// saveLogin keeps a new OAuth token in the profile.
func (a *app) saveLogin(tok, who string) error {
	p, name, err := a.profile()
	if err != nil {
		return err
	}
	p.Token, p.IAMToken, p.ServiceAccountKey = tok, "", ""
	if p.Endpoint == "" {
		if ep, _, err := a.endpoint(); err == nil && ep != client.DefaultEndpoint {
			p.Endpoint = ep
		}
	}
	if a.flags.tls {
		p.TLS = true
	}
	if err := a.cfg.save(); err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stderr, "Logged in as %s; the OAuth token is kept in profile %q of %s\n", who, name, a.cfg.path)
	return nil
}

// promptable says whether a secret would be prompted for: stdin is a
// terminal and --password-stdin was not given.
func (a *app) promptable(fromStdin bool) bool {
	if fromStdin {
		return false
	}
	f, ok := a.env.Stdin.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// readSecret prompts for a secret without echo on a terminal, or reads the
// next line of stdin.
func (a *app) readSecret(prompt string, fromStdin bool) (string, error) {
	var s string
	if a.promptable(fromStdin) {
		fmt.Fprint(a.env.Stderr, prompt)
		b, err := term.ReadPassword(int(a.env.Stdin.(interface{ Fd() uintptr }).Fd()))
		fmt.Fprintln(a.env.Stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		s = string(b)
	} else {
		if a.stdin == nil {
			a.stdin = bufio.NewReader(a.env.Stdin)
		}
		line, err := a.stdin.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			if errors.Is(err, io.EOF) {
				return "", errors.New("no password on stdin")
			}
			return "", fmt.Errorf("read password: %w", err)
		}
		s = strings.TrimRight(line, "\r\n")
	}
	if s == "" {
		return "", errors.New("the password is empty")
	}
	return s, nil
}

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Revoke the profile's OAuth token on the server and forget it",
		Long: `Revoke the OAuth token kept in the profile (by warden login) on the server,
so that it stops working wherever it was copied to, and remove it from the
profile. A token the server no longer accepts (expired or revoked already)
is removed all the same. When the server cannot be reached the token is
kept, so that logout can be tried again; ` + "`warden config unset token`" + `
forgets it without revoking it.`,
		Example: `  warden logout
  warden --profile staging logout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, name, err := a.profile()
			if err != nil {
				return err
			}
			if p.Token == "" {
				return fmt.Errorf("profile %q holds no OAuth token: there is nothing to log out of", name)
			}
			cfg, err := a.connConfig()
			if err != nil {
				return err
			}
			cfg.OAuthToken = p.Token
			c, err := client.Dial(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.RefreshTokens.Revoke(cmd.Context(), &iam.RevokeRefreshTokenRequest{
				Filter: &iam.RevokeRefreshTokenRequest_RefreshToken{RefreshToken: p.Token},
			})
			msg := "Logged out: the OAuth token was revoked and removed from profile %q\n"
			switch status.Code(err) {
			case codes.OK:
			case codes.Unauthenticated, codes.NotFound:
				msg = "The server no longer accepts the OAuth token (expired or revoked); removed it from profile %q\n"
			default:
				return fmt.Errorf("revoke the OAuth token: %w (it is kept in the profile: log out again, or forget it without revoking it with `warden config unset token`)", err)
			}
			p.Token = ""
			if err := a.cfg.save(); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, msg, name)
			return nil
		},
	}
}
