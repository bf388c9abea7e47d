package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/client"
)

// env is everything the CLI takes from its process, so that tests can run
// it in-process without touching the real home directory or terminal.
type env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	LookupEnv      func(key string) (string, bool)
}

func (e env) getenv(key string) string {
	if e.LookupEnv == nil {
		return ""
	}
	v, _ := e.LookupEnv(key)
	return v
}

// globalFlags are the flags every command takes.
type globalFlags struct {
	configPath, profile                      string
	endpoint, token, iamToken                string
	serviceAccountKey                        string
	tls, debug                               bool
	format                                   string
	folderID, folderName, cloudID, cloudName string
}

// app is one run of the CLI: its environment, flags, the lazily loaded
// config file and the lazily dialled client.
type app struct {
	env   env
	flags globalFlags

	cfg    *configFile // nil until loaded
	client *client.Client
	stdin  *bufio.Reader // Stdin, once a line has been read from it
	// credential says where the credential of this run came from, for the
	// hint shown when the server refuses it.
	credential credentialSource
}

// credentialSource is the kind and place of the credential a run used.
type credentialSource struct {
	kind  string // "IAM token", "service account key", "OAuth token"
	where string // "--token", "WARDEN_TOKEN", `profile "default"`
}

// run executes the CLI with args and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	a := &app{env: e}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if a.client != nil {
		a.client.Close()
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "ERROR: %s\n", errorMessage(err))
		if hint := a.hint(err); hint != "" {
			fmt.Fprintf(e.Stderr, "HINT: %s\n", hint)
		}
		return 1
	}
	return 0
}

// errorMessage is the text shown for err, with the server's request id
// when it sent one (operators find the request's log line by it). The
// client already reduces gRPC errors to the server's message; a status
// error from elsewhere is reduced here.
func errorMessage(err error) string {
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.RequestID != "" {
			return fmt.Sprintf("%s (request id %s)", err.Error(), ce.RequestID)
		}
		return err.Error()
	}
	if st, ok := status.FromError(err); ok && st.Message() != "" {
		return st.Message()
	}
	return err.Error()
}

// hint says what to do about a refused credential: which one was used and
// how to get a fresh one.
func (a *app) hint(err error) string {
	if status.Code(err) != codes.Unauthenticated || a.credential.kind == "" {
		return ""
	}
	used := fmt.Sprintf("the %s from %s was refused", a.credential.kind, a.credential.where)
	switch a.credential.kind {
	case "OAuth token":
		return used + ": it may have expired or been revoked; run `warden login` to get a new one"
	case "IAM token":
		return used + ": IAM tokens last 12 hours; get a new one with `warden iam create-token`, or run `warden login`"
	}
	return used + ": the key may have been deleted or its service account suspended; create a new one with `warden iam key create`"
}

// Environment variables the CLI reads; flags win over them, and they win
// over the profile.
const (
	envConfig   = "WARDEN_CONFIG"
	envProfile  = "WARDEN_PROFILE"
	envEndpoint = "WARDEN_ENDPOINT"
	envToken    = "WARDEN_TOKEN"
	envIAMToken = "WARDEN_IAM_TOKEN"
	envKey      = "WARDEN_SERVICE_ACCOUNT_KEY"
	envFolderID = "WARDEN_FOLDER_ID"
	envCloudID  = "WARDEN_CLOUD_ID"
	envFormat   = "WARDEN_FORMAT"
)

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "warden",
		Short: "Manage Warden identities and resources",
		Long: `warden is the command-line client of Warden, a self-hosted IAM service that
speaks the Yandex Cloud API. It is shaped like yc: the same command groups,
flags and output formats.

Start with:
  warden config set endpoint 127.0.0.1:8080
  warden login                      # or: warden login --oauth-token-file warden-data/admin-oauth-token
  warden resource-manager folder list

Settings are taken from flags first, then WARDEN_* environment variables,
then the active profile of the config file.

Credentials are looked for in the same order, and at each place an IAM
token wins over a service account key, which wins over an OAuth token:
  --iam-token, --service-account-key, --token
  WARDEN_IAM_TOKEN, WARDEN_SERVICE_ACCOUNT_KEY, WARDEN_TOKEN
  the profile's iam-token, service-account-key, token
A service account key file (from ` + "`warden iam key create --output key.json`" + `)
signs a JWT that is exchanged for an IAM token, as the Yandex SDKs do.`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: a.preRun,
	}
	root.SetOut(a.env.Stdout)
	root.SetErr(a.env.Stderr)
	root.SetIn(a.env.Stdin)
	// Cobra's completion command: warden completion bash|zsh|fish|powershell.
	root.CompletionOptions.HiddenDefaultCmd = false

	f := root.PersistentFlags()
	f.StringVar(&a.flags.configPath, "config", "", "config file (env "+envConfig+"; default $XDG_CONFIG_HOME/warden/config.yaml or ~/.config/warden/config.yaml)")
	f.StringVar(&a.flags.profile, "profile", "", "profile to use instead of the active one (env "+envProfile+")")
	f.StringVar(&a.flags.endpoint, "endpoint", "", "Warden API endpoint, host:port or https://host:port (env "+envEndpoint+"; default "+client.DefaultEndpoint+")")
	f.StringVar(&a.flags.token, "token", "", "OAuth token to authenticate with (env "+envToken+")")
	f.StringVar(&a.flags.iamToken, "iam-token", "", "IAM token to authenticate with (env "+envIAMToken+")")
	f.StringVar(&a.flags.serviceAccountKey, "service-account-key", "", "service account key `FILE` to authenticate with, as written by warden iam key create --output (env "+envKey+")")
	f.BoolVar(&a.flags.tls, "tls", false, "connect with TLS (implied by an https:// endpoint)")
	f.BoolVar(&a.flags.debug, "debug", false, "write a line per API call to stderr: method, duration, outcome, raw error and request id")
	f.StringVar(&a.flags.format, "format", "", "output format: text, json or yaml (env "+envFormat+"; default text)")
	f.StringVar(&a.flags.folderID, "folder-id", "", "folder to use (env "+envFolderID+"; default the profile's folder-id, else the folder named default)")
	f.StringVar(&a.flags.folderName, "folder-name", "", "folder to use, by name, in the selected cloud")
	f.StringVar(&a.flags.cloudID, "cloud-id", "", "cloud to use (env "+envCloudID+"; default the profile's cloud-id, else the only cloud you can see)")
	f.StringVar(&a.flags.cloudName, "cloud-name", "", "cloud to use, by name")

	root.AddCommand(a.configCommand(), a.loginCommand(), a.logoutCommand(), a.resourceManagerCommand(), a.iamCommand(), a.organizationManagerCommand(), a.operationCommand(), a.versionCommand())
	return root
}

// preRun fills unset flags from the environment and checks them.
func (a *app) preRun(cmd *cobra.Command, _ []string) error {
	for _, s := range []struct {
		flag *string
		env  string
	}{
		{&a.flags.configPath, envConfig}, {&a.flags.profile, envProfile}, {&a.flags.format, envFormat},
	} {
		if *s.flag == "" {
			*s.flag = a.env.getenv(s.env)
		}
	}
	switch a.flags.format {
	case "", "table": // DESIGN.md calls the text format "table"
		a.flags.format = "text"
	case "text", "json", "yaml":
	default:
		return fmt.Errorf("--format must be text, json or yaml, not %q", a.flags.format)
	}
	if a.flags.cloudID != "" && a.flags.cloudName != "" {
		return errors.New("give --cloud-id or --cloud-name, not both")
	}
	if a.flags.folderID != "" && a.flags.folderName != "" {
		return errors.New("give --folder-id or --folder-name, not both")
	}
	return nil
}

// endpoint is the API endpoint and whether it came from the profile.
func (a *app) endpoint() (ep string, fromProfile bool, err error) {
	if a.flags.endpoint != "" {
		return a.flags.endpoint, false, nil
	}
	if v := a.env.getenv(envEndpoint); v != "" {
		return v, false, nil
	}
	p, _, err := a.profile()
	if err != nil {
		return "", false, err
	}
	if p.Endpoint != "" {
		return p.Endpoint, true, nil
	}
	return client.DefaultEndpoint, false, nil
}

// connConfig is where and how to connect, without credentials.
func (a *app) connConfig() (client.Config, error) {
	ep, _, err := a.endpoint()
	if err != nil {
		return client.Config{}, err
	}
	p, _, err := a.profile()
	if err != nil {
		return client.Config{}, err
	}
	cfg := client.Config{Endpoint: ep, TLS: a.flags.tls || p.TLS}
	if a.flags.debug {
		cfg.Debug = a.env.Stderr
	}
	return cfg, nil
}

// clientConfig is connConfig with the credentials of this run: flags, then
// the environment, then the profile; at each, an IAM token, then a service
// account key, then an OAuth token.
func (a *app) clientConfig() (client.Config, error) {
	cfg, err := a.connConfig()
	if err != nil {
		return client.Config{}, err
	}
	p, name, err := a.profile()
	if err != nil {
		return client.Config{}, err
	}
	profile := fmt.Sprintf("profile %q", name)
	for _, src := range []struct {
		iamToken, key, oauthToken   string
		iamFrom, keyFrom, oauthFrom string
	}{
		{a.flags.iamToken, a.flags.serviceAccountKey, a.flags.token, "--iam-token", "--service-account-key", "--token"},
		{a.env.getenv(envIAMToken), a.env.getenv(envKey), a.env.getenv(envToken), envIAMToken, envKey, envToken},
		{p.IAMToken, p.ServiceAccountKey, p.Token, profile, "service-account-key of " + profile, profile},
	} {
		switch {
		case src.iamToken != "":
			cfg.IAMToken = src.iamToken
			a.credential = credentialSource{"IAM token", src.iamFrom}
		case src.key != "":
			key, err := client.ServiceAccountKeyFile(src.key)
			if err != nil {
				return client.Config{}, fmt.Errorf("%s: %w", src.keyFrom, err)
			}
			cfg.Credentials = key
			a.credential = credentialSource{"service account key", src.keyFrom}
		case src.oauthToken != "":
			cfg.OAuthToken = src.oauthToken
			a.credential = credentialSource{"OAuth token", src.oauthFrom}
		default:
			continue
		}
		return cfg, nil
	}
	return cfg, nil
}

// errNotLoggedIn says how to get credentials.
var errNotLoggedIn = errors.New("not logged in: run `warden login`, or give credentials with --token, --iam-token or --service-account-key, " +
	envToken + " or " + envKey + ", or `warden config set token` or `warden config set service-account-key`")

// dial returns the client, connecting on first use.
func (a *app) dial(ctx context.Context) (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	cfg, err := a.clientConfig()
	if err != nil {
		return nil, err
	}
	if cfg.IAMToken == "" && cfg.OAuthToken == "" && cfg.Credentials == nil {
		return nil, errNotLoggedIn
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

// group is a command that only holds subcommands.
func group(use, short, long string, aliases []string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: strings.TrimSpace(long), Aliases: aliases, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(subs...)
	return cmd
}
