package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"warden/client"
)

// staticTokensPath is Warden's own REST collection of static tokens, which
// has no gRPC counterpart.
const staticTokensPath = "/warden/v1/staticTokens"

// staticTokenWire is a token as the server answers it (camelCase).
type staticTokenWire struct {
	ID           string `json:"id"`
	SubjectID    string `json:"subjectId"`
	SubjectType  string `json:"subjectType"`
	Description  string `json:"description"`
	MaskedSecret string `json:"maskedSecret"`
	CreatedAt    string `json:"createdAt"`
	ExpiresAt    string `json:"expiresAt"`
	Secret       string `json:"secret"`
}

// staticTokenOut is a token as the CLI prints it: snake_case, as yc prints
// every resource.
type staticTokenOut struct {
	ID           string `json:"id"`
	SubjectID    string `json:"subject_id"`
	SubjectType  string `json:"subject_type"`
	Description  string `json:"description,omitempty"`
	MaskedSecret string `json:"masked_secret"`
	CreatedAt    string `json:"created_at"`
	ExpiresAt    string `json:"expires_at,omitempty"`
	Secret       string `json:"secret,omitempty"`
}

// out converts the wire shape to the printed one: the same fields.
func (w staticTokenWire) out() staticTokenOut { return staticTokenOut(w) }

var staticTokenColumns = []column[staticTokenOut]{
	{"ID", func(t staticTokenOut) string { return t.ID }},
	{"SUBJECT ID", func(t staticTokenOut) string { return t.SubjectID }},
	{"SECRET", func(t staticTokenOut) string { return t.MaskedSecret }},
	{"DESCRIPTION", func(t staticTokenOut) string { return t.Description }},
	{"CREATED AT", func(t staticTokenOut) string { return formatRFC3339(t.CreatedAt) }},
	{"EXPIRES AT", func(t staticTokenOut) string {
		if t.ExpiresAt == "" {
			return "never"
		}
		return formatRFC3339(t.ExpiresAt)
	}},
}

const staticTokenOwnerHelp = `

The account is --service-account-id, --service-account-name (looked up in
the folder selected by --folder-id or --folder-name, else the default
folder) or --user-account-id. Without any, it is the caller's own account,
which needs no permission; another account's tokens need
iam.serviceAccounts.staticTokens.* or iam.userAccounts.staticTokens.* on it.`

// staticTokenOwner names the account whose static tokens a command
// handles.
type staticTokenOwner struct {
	sa   keyOwner
	user string
}

func (o *staticTokenOwner) register(cmd *cobra.Command) {
	o.sa.register(cmd)
	cmd.Flags().StringVar(&o.user, "user-account-id", "", "ID of the user account")
}

// resolve returns the account's ID; "" when none was named, which the
// server takes as the caller.
func (o *staticTokenOwner) resolve(ctx context.Context, a *app, c *client.Client) (string, error) {
	if o.user != "" {
		if o.sa.id != "" || o.sa.name != "" {
			return "", errors.New("give one of --service-account-id, --service-account-name and --user-account-id")
		}
		return o.user, nil
	}
	return o.sa.resolve(ctx, a, c)
}

func (a *app) staticTokenCommand() *cobra.Command {
	return group("static-token", "Manage the static tokens of accounts", `
Manage static tokens: long-lived secrets with which a user account or a
service account calls services as itself, sent as the X-Token header (as
Selectel's control-panel tokens are). A token carries all of its account's
permissions and works until it is revoked or its expiry, if it was given
one. The secret is shown once, when the token is created; afterwards only
its last characters are.

These commands use Warden's REST API (`+staticTokensPath+`) at the --endpoint.`,
		[]string{"static-tokens"}, a.staticTokenCreateCommand(), a.staticTokenListCommand(), a.staticTokenGetCommand(), a.staticTokenRevokeCommand())
}

// staticTokenCreate holds the flags of static-token create.
type staticTokenCreate struct {
	owner       staticTokenOwner
	description string
	expiry      expiryFlags
}

func (a *app) staticTokenCreateCommand() *cobra.Command {
	var k staticTokenCreate
	k.expiry.now = time.Now
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a static token and print its secret, once",
		Long: `Create a static token. The secret is printed once, in the answer to this
command: store it now, Warden keeps only its hash and cannot show it again.

The token never expires unless --expires-in or --expires-at is given.
Creating one for another account also needs everything that account holds:
a token of it hands all of that out.` + staticTokenOwnerHelp,
		Example: `  warden iam static-token create --description "control panel"
  warden iam static-token create --service-account-name my-robot --expires-in 90d
  warden iam static-token create --user-account-id ajuexample0000000000 --format json | jq -r .secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.createStaticToken(cmd.Context(), &k) },
	}
	k.owner.register(cmd)
	f := cmd.Flags()
	f.StringVar(&k.description, "description", "", "description of the token")
	f.StringVar(&k.expiry.expiresIn, "expires-in", "", "lifetime of the token: days like 90d, or a duration like 12h or 1h30m (default: never expires)")
	f.StringVar(&k.expiry.expiresAt, "expires-at", "", "expiry time of the token in RFC 3339, like 2027-01-31T00:00:00Z")
	return cmd
}

func (a *app) createStaticToken(ctx context.Context, k *staticTokenCreate) error {
	expiresAt, err := k.expiry.expiry()
	if err != nil {
		return err
	}
	c, subject, err := a.dialOwner(ctx, &k.owner)
	if err != nil {
		return err
	}
	req := map[string]string{}
	for name, v := range map[string]string{"subjectId": subject, "description": k.description, "expiresAt": expiresAt} {
		if v != "" {
			req[name] = v
		}
	}
	var tok staticTokenWire
	if err := c.DoJSON(ctx, http.MethodPost, staticTokensPath, req, &tok); err != nil {
		return err
	}
	out := tok.out()
	if a.flags.format != "text" {
		return a.printStaticToken(out)
	}
	secret := out.Secret
	out.Secret = ""
	if err := a.printStaticToken(out); err != nil {
		return err
	}
	b, err := yaml.Marshal(map[string]string{"secret": secret})
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	_, err = fmt.Fprintf(a.env.Stdout, "# The secret is shown only now: store it safely, it cannot be shown again.\n%s", b)
	return err
}

func (a *app) printStaticToken(t staticTokenOut) error {
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return a.printJSON(raw)
}

func (a *app) staticTokenListCommand() *cobra.Command {
	var owner staticTokenOwner
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the static tokens of an account",
		Long:  "List the static tokens of an account, without their secrets." + staticTokenOwnerHelp,
		Example: `  warden iam static-token list
  warden iam static-token list --service-account-name my-robot --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, subject, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			toks, err := listAll(ctx, limit, func(ctx context.Context, size int64, page string) ([]staticTokenWire, string, error) {
				var resp struct {
					StaticTokens  []staticTokenWire `json:"staticTokens"`
					NextPageToken string            `json:"nextPageToken"`
				}
				err := getPage(ctx, c, staticTokensPath, "subjectId", subject, size, page, &resp)
				return resp.StaticTokens, resp.NextPageToken, err
			})
			if err != nil {
				return err
			}
			return a.printStaticTokens(toks)
		},
	}
	owner.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many tokens (0: all)")
	return cmd
}

// printStaticTokens prints tokens, never their secrets, as a table for
// text or as an array.
func (a *app) printStaticTokens(toks []staticTokenWire) error {
	out := make([]staticTokenOut, 0, len(toks))
	for _, t := range toks {
		o := t.out()
		o.Secret = ""
		out = append(out, o)
	}
	if a.flags.format == "text" {
		headers := make([]string, len(staticTokenColumns))
		rows := make([][]string, len(out))
		for i, col := range staticTokenColumns {
			headers[i] = col.header
			for j, t := range out {
				rows[j] = append(rows[j], col.value(t))
			}
		}
		writeTable(a.env.Stdout, headers, rows)
		return nil
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode output: %w", err)
	}
	return a.printJSON(raw)
}

func staticTokenPath(id string) string { return staticTokensPath + "/" + url.PathEscape(id) }

func (a *app) staticTokenGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get ID",
		Short:   "Show a static token, without its secret",
		Example: `  warden iam static-token get stkexample00000000000`,
		Args:    staticTokenIDs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			var t staticTokenWire
			if err := c.DoJSON(cmd.Context(), http.MethodGet, staticTokenPath(args[0]), nil, &t); err != nil {
				return err
			}
			o := t.out()
			o.Secret = ""
			return a.printStaticToken(o)
		},
	}
}

func (a *app) staticTokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID...",
		Short: "Revoke static tokens",
		Long: `Revoke static tokens: requests made with them are refused from now on, by
every wardend within a second, and so are IAM tokens created with them.
This cannot be undone.`,
		Example: `  warden iam static-token revoke stkexample00000000000
  warden iam static-token list --format json | jq -r '.[].id' | xargs warden iam static-token revoke`,
		Args: staticTokenIDs(-1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			for _, id := range args {
				if err := c.DoJSON(cmd.Context(), http.MethodDelete, staticTokenPath(id), nil, nil); err != nil {
					return fmt.Errorf("revoke %s: %w", id, err)
				}
				fmt.Fprintf(a.env.Stderr, "Static token %s revoked\n", id)
			}
			return nil
		},
	}
}

// staticTokenIDs checks the arguments are token IDs: n of them, or at
// least one when n < 0.
func staticTokenIDs(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if (n >= 0 && len(args) != n) || len(args) == 0 {
			return errors.New("name the static token: give its ID (stk…) as the argument")
		}
		for _, id := range args {
			if !idPattern.MatchString(id) {
				// Not repeated: a secret pasted here stays off the terminal.
				return errors.New("an argument is not a static token ID (stk…, 20 lowercase letters and digits)")
			}
		}
		return nil
	}
}

// revokeTokensHelp explains revoke-tokens of service and user accounts.
const revokeTokensHelp = `Revoke every IAM token, Keystone token and ephemeral access key of the
account issued until now, on every wardend within a second: for a leaked
token, or to end every session at once. The account's passwords, keys and
static tokens stay, and new tokens may be issued at once (one issued within
the same second is refused too). An account revokes its own; another's
needs iam.serviceAccounts.tokens.revoke or iam.userAccounts.tokens.revoke
on it.`

// revokeAccountTokens calls POST /warden/v1/{collection}/{id}:revokeTokens.
func (a *app) revokeAccountTokens(ctx context.Context, c *client.Client, collection, id string) error {
	if err := c.DoJSON(ctx, http.MethodPost, "/warden/v1/"+collection+"/"+url.PathEscape(id)+":revokeTokens", map[string]any{}, nil); err != nil {
		return err
	}
	fmt.Fprintf(a.env.Stderr, "Tokens of %s issued until now revoked\n", id)
	return nil
}
