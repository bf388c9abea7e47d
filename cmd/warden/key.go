package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"warden/client"
	"warden/jwtauth"
	"warden/keyfile"
)

var keyColumns = []column[*iam.Key]{
	{"ID", func(k *iam.Key) string { return k.Id }},
	{"IDENTITY", func(k *iam.Key) string { return k.GetServiceAccountId() }},
	{"ALGORITHM", func(k *iam.Key) string { return k.KeyAlgorithm.String() }},
	{"DESCRIPTION", func(k *iam.Key) string { return k.Description }},
	{"CREATED AT", func(k *iam.Key) string { return formatTime(k.CreatedAt) }},
	{"LAST USED AT", func(k *iam.Key) string { return formatTime(k.LastUsedAt) }},
}

// formatTime renders a timestamp as yc's tables do, in UTC; "" when unset.
func formatTime(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().UTC().Format("2006-01-02 15:04:05")
}

const keyOwnerHelp = `

The service account is --service-account-id or --service-account-name
(looked up in the folder selected by --folder-id or --folder-name, else the
default folder). Without either, it is the caller, when the caller is a
service account.`

// keyOwner names the service account whose keys a command handles.
type keyOwner struct {
	id, name string
}

func (o *keyOwner) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.id, "service-account-id", "", "ID of the service account")
	cmd.Flags().StringVar(&o.name, "service-account-name", "", "name of the service account, in the selected folder")
}

// resolve returns the service account's ID; "" when none was named, which
// the server takes as the caller.
// accountNamer is how a credential command names the account it acts for:
// keyOwner, staticTokenOwner.
type accountNamer interface {
	resolve(ctx context.Context, a *app, c *client.Client) (string, error)
}

// dialOwner connects and resolves the account owner names.
func (a *app) dialOwner(ctx context.Context, owner accountNamer) (*client.Client, string, error) {
	c, err := a.dial(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := owner.resolve(ctx, a, c)
	return c, id, err
}

func (o *keyOwner) resolve(ctx context.Context, a *app, c *client.Client) (string, error) {
	switch {
	case o.id != "" && o.name != "":
		return "", errors.New("give --service-account-id or --service-account-name, not both")
	case o.id != "":
		return o.id, nil
	case o.name != "":
		sa, err := a.resolveServiceAccount(ctx, c, &target{what: "service account", name: o.name})
		if err != nil {
			return "", err
		}
		return sa.Id, nil
	}
	return "", nil
}

// explain turns the server's complaint about a missing
// service_account_id into one about the flags.
func (o *keyOwner) explain(err error) error {
	if o.id == "" && o.name == "" && status.Code(err) == codes.InvalidArgument && strings.HasPrefix(status.Convert(err).Message(), "service_account_id:") {
		return errors.New("give the service account with --service-account-id or --service-account-name (only a service account may leave it out, for its own keys)")
	}
	return err
}

func (a *app) keyCommand() *cobra.Command {
	return group("key", "Manage the authorized keys of service accounts", `
Manage authorized keys: RSA key pairs with which a service account signs the
JWTs it exchanges for IAM tokens. Warden keeps only the public half; the
private half is written once, to the key file of `+"`warden iam key create`"+`,
which the Yandex SDKs, yc and `+"`warden --service-account-key`"+` read.`,
		[]string{"keys"}, a.keyCreateCommand(), a.keyListCommand(), a.keyGetCommand(), a.keyUpdateCommand(), a.keyDeleteCommand())
}

// keyCreate holds the flags of key create.
type keyCreate struct {
	owner                      keyOwner
	output, algorithm          string
	description, publicKeyFile string
}

func (a *app) keyCreateCommand() *cobra.Command {
	var k keyCreate
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create an authorized key and write its key file",
		Long: `Create an authorized key for a service account and write the key file, with
the private key, to --output (mode 0600; an existing file is never
overwritten). The key is printed without its private half.

With --public-key-file, the RSA public key in that PEM file (2048 or 4096
bits) is registered instead: the private key never leaves your machine, no
key file is written and --output is not taken.` + keyOwnerHelp,
		Example: `  warden iam key create --service-account-name my-robot --output key.json
  warden iam key create --service-account-id ajeexample0000000000 --output key.json --algorithm rsa-4096 --description CI
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private.pem
  openssl pkey -in private.pem -pubout -out public.pem
  warden iam key create --service-account-name my-robot --public-key-file public.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.createKey(cmd.Context(), &k) },
	}
	k.owner.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&k.output, "output", "o", "", "write the key file here (required unless --public-key-file is given)")
	f.StringVar(&k.algorithm, "algorithm", "", "key algorithm: rsa-2048 (default) or rsa-4096")
	f.StringVar(&k.description, "description", "", "description of the key")
	f.StringVar(&k.publicKeyFile, "public-key-file", "", "register the RSA public key in this PEM file instead of making a key pair")
	return cmd
}

func (a *app) createKey(ctx context.Context, k *keyCreate) error {
	alg, err := parseAlgorithm(k.algorithm)
	if err != nil {
		return err
	}
	var publicKey []byte
	switch {
	case k.publicKeyFile != "" && k.output != "":
		return errors.New("--output does not go with --public-key-file: the private key stays with you, so there is no key file to write")
	case k.publicKeyFile != "":
		if publicKey, err = readPublicKey(k.publicKeyFile); err != nil {
			return err
		}
	case k.output == "":
		return errors.New("give --output FILE for the key file, or --public-key-file to register a public key of your own")
	default:
		// Checked before the key is made: its private half cannot be
		// asked for again.
		if err := checkNewFile(k.output); err != nil {
			return err
		}
	}
	c, sa, err := a.dialOwner(ctx, &k.owner)
	if err != nil {
		return err
	}
	callCtx := ctx
	if publicKey != nil {
		callCtx = client.WithPublicKey(ctx, publicKey)
	}
	resp, err := c.Keys.Create(callCtx, &iam.CreateKeyRequest{ServiceAccountId: sa, Description: k.description, KeyAlgorithm: alg, Format: iam.KeyFormat_PEM_FILE})
	if err != nil {
		return k.owner.explain(err)
	}
	switch {
	case publicKey != nil && resp.PrivateKey != "":
		return discardKey(ctx, c, resp.GetKey().GetId(), errors.New("the server made a key pair instead of registering the public key"))
	case publicKey == nil:
		if err := writeKeyFile(resp, k.output); err != nil {
			return discardKey(ctx, c, resp.GetKey().GetId(), err)
		}
	}
	return a.printOne(resp.Key)
}

func parseAlgorithm(s string) (iam.Key_Algorithm, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "":
		return iam.Key_ALGORITHM_UNSPECIFIED, nil
	case "rsa-2048":
		return iam.Key_RSA_2048, nil
	case "rsa-4096":
		return iam.Key_RSA_4096, nil
	}
	return 0, fmt.Errorf("--algorithm must be rsa-2048 or rsa-4096, not %q", s)
}

// readPublicKey reads and checks a public key PEM. A private key is
// refused here, so that it is never sent.
func readPublicKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the public key: %w", err)
	}
	if block, _ := pem.Decode(b); block != nil && strings.Contains(block.Type, "PRIVATE") {
		return nil, fmt.Errorf("%s holds a private key: give its public key (openssl pkey -in %[1]s -pubout)", path)
	}
	if _, _, err := jwtauth.ParsePublicKey(string(b)); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "jwtauth: "))
	}
	return b, nil
}

// checkNewFile fails when path exists: a key file is never overwritten.
func checkNewFile(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s already exists: a key file is never overwritten; choose another --output", path)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}

func writeKeyFile(resp *iam.CreateKeyResponse, path string) error {
	f, err := keyfile.FromCreateResponse(resp)
	if err != nil {
		return err
	}
	if err := f.WriteFile(path); err != nil {
		return fmt.Errorf("write the key file: %w", err)
	}
	return nil
}

// discardKey deletes a key that was created but cannot be used, because
// its private half could not be kept, and returns cause with what became
// of the key.
func discardKey(ctx context.Context, c *client.Client, id string, cause error) error {
	op, err := c.Keys.Delete(ctx, &iam.DeleteKeyRequest{KeyId: id})
	if err == nil {
		_, err = c.Wait(ctx, op)
	}
	if err != nil {
		return fmt.Errorf("%w; key %s was created but could not be deleted again (%v): delete it with `warden iam key delete %[2]s`", cause, id, err)
	}
	return fmt.Errorf("%w; key %s was deleted again", cause, id)
}

func (a *app) keyListCommand() *cobra.Command {
	var owner keyOwner
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the authorized keys of a service account",
		Long:  "List the authorized keys of a service account." + keyOwnerHelp,
		Example: `  warden iam key list --service-account-name my-robot
  warden iam key list --service-account-id ajeexample0000000000 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, sa, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			keys, err := listAll(ctx, limit, func(ctx context.Context, size int64, tok string) ([]*iam.Key, string, error) {
				resp, err := c.Keys.List(ctx, &iam.ListKeysRequest{ServiceAccountId: sa, PageSize: size, PageToken: tok})
				return resp.GetKeys(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return owner.explain(err)
			}
			return printList(a, keys, keyColumns)
		},
	}
	owner.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many keys (0: all)")
	return cmd
}

// keyIDCommand is a command acting on one key, named by an ID argument or
// --id: keys have no names.
func (a *app) keyIDCommand(verb, short, example string, do func(ctx context.Context, c *client.Client, id string) error) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:     verb + " KEY_ID",
		Short:   short,
		Long:    short + ". Name it by ID, as an argument or with --id.",
		Example: example,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 1 && id != "":
				return errors.New("name the key once: an argument or --id")
			case len(args) == 1:
				id = args[0]
			case id == "":
				return errors.New("name the key: give its ID as an argument or with --id")
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			return do(cmd.Context(), c, id)
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "ID of the key")
	return cmd
}

func (a *app) keyGetCommand() *cobra.Command {
	return a.keyIDCommand("get", "Show an authorized key (its public half)", `  warden iam key get ajkexample0000000000
  warden iam key get --id ajkexample0000000000 --format json`,
		func(ctx context.Context, c *client.Client, id string) error {
			k, err := c.Keys.Get(ctx, &iam.GetKeyRequest{KeyId: id})
			if err != nil {
				return err
			}
			return a.printOne(k)
		})
}

func (a *app) keyUpdateCommand() *cobra.Command {
	var description string
	var cmd *cobra.Command
	cmd = a.keyIDCommand("update", "Change the description of an authorized key", `  warden iam key update ajkexample0000000000 --description "CI, rotated monthly"`,
		func(ctx context.Context, c *client.Client, id string) error {
			if !cmd.Flags().Changed("description") {
				return errors.New("nothing to update: give --description")
			}
			op, err := c.Keys.Update(ctx, &iam.UpdateKeyRequest{KeyId: id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: description})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &iam.Key{})
		})
	cmd.Flags().StringVar(&description, "description", "", "new description (\"\" clears it)")
	return cmd
}

func (a *app) keyDeleteCommand() *cobra.Command {
	cmd := a.keyIDCommand("delete", "Delete an authorized key", `  warden iam key delete ajkexample0000000000`,
		func(ctx context.Context, c *client.Client, id string) error {
			op, err := c.Keys.Delete(ctx, &iam.DeleteKeyRequest{KeyId: id})
			if err != nil {
				return err
			}
			_, err = c.Wait(ctx, op)
			return err
		})
	cmd.Long += `

The key can no longer be exchanged for IAM tokens, and the IAM tokens
already obtained with it are revoked.`
	return cmd
}
