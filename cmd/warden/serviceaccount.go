package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/protobuf/proto"

	"warden/client"
)

var serviceAccountColumns = []column[*iam.ServiceAccount]{
	{"ID", func(s *iam.ServiceAccount) string { return s.Id }},
	{"NAME", func(s *iam.ServiceAccount) string { return s.Name }},
	{"STATUS", func(s *iam.ServiceAccount) string { return s.Status.String() }},
	{"LABELS", func(s *iam.ServiceAccount) string { return formatLabels(s.Labels) }},
}

// resolveServiceAccount resolves a service account named by ID, or by name
// in the selected folder.
func (a *app) resolveServiceAccount(ctx context.Context, c *client.Client, t *target) (*iam.ServiceAccount, error) {
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*iam.ServiceAccount, error) {
			return c.ServiceAccounts.Get(ctx, &iam.GetServiceAccountRequest{ServiceAccountId: id})
		},
		func(ctx context.Context, name string) (*iam.ServiceAccount, error) {
			folder, err := a.folderID(ctx, c)
			if err != nil {
				return nil, err
			}
			return findServiceAccount(ctx, c, folder, name)
		})
}

// findServiceAccount is the one service account of folder named name.
func findServiceAccount(ctx context.Context, c *client.Client, folder, name string) (*iam.ServiceAccount, error) {
	f, err := nameFilter(name)
	if err != nil {
		return nil, err
	}
	resp, err := c.ServiceAccounts.List(ctx, &iam.ListServiceAccountsRequest{FolderId: folder, Filter: f, PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	return exactlyOne(resp.ServiceAccounts, "service account", name, " in folder "+folder)
}

const folderHelp = `

The folder is --folder-id or --folder-name, else WARDEN_FOLDER_ID, else the
profile's folder-id, else the folder named "default"; folder names are
looked up in the selected cloud (--cloud-id, --cloud-name, the profile's
cloud-id, or the only cloud you can see).`

func (a *app) serviceAccountCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the service accounts of a folder",
		Long:  "List the service accounts of a folder." + folderHelp,
		Example: `  warden iam service-account list
  warden iam service-account list --folder-name my-folder --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			folder, err := a.folderID(cmd.Context(), c)
			if err != nil {
				return err
			}
			sas, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*iam.ServiceAccount, string, error) {
				resp, err := c.ServiceAccounts.List(ctx, &iam.ListServiceAccountsRequest{FolderId: folder, PageSize: size, PageToken: tok})
				return resp.GetServiceAccounts(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, sas, serviceAccountColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many service accounts (0: all)")

	one := func(verb, short, example string, do func(context.Context, *client.Client, *iam.ServiceAccount) error) *cobra.Command {
		cmd := targetCommand(a, "service account", a.resolveServiceAccount, verb, short, example, do)
		cmd.Long = short + ". Name it by ID or by name." + folderHelp
		return cmd
	}
	get := one("get", "Show a service account", `  warden iam service-account get my-robot
  warden iam service-account get --id ajeexample0000000000 --format yaml`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error { return a.printOne(sa) })

	del := one("delete", "Delete a service account with its keys and access bindings", `  warden iam service-account delete my-robot`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			op, err := c.ServiceAccounts.Delete(ctx, &iam.DeleteServiceAccountRequest{ServiceAccountId: sa.Id})
			if err != nil {
				return err
			}
			_, err = c.Wait(ctx, op)
			return err
		})

	// suspend and reactivate answer with empty responses; show the
	// account as it now is instead.
	setStatus := func(ctx context.Context, c *client.Client, id string, call func() (*operation.Operation, error)) error {
		op, err := call()
		if err != nil {
			return err
		}
		if _, err := c.Wait(ctx, op); err != nil {
			return err
		}
		sa, err := c.ServiceAccounts.Get(ctx, &iam.GetServiceAccountRequest{ServiceAccountId: id})
		if err != nil {
			return fmt.Errorf("service account %s: %w", id, err)
		}
		return a.printOne(sa)
	}
	suspend := one("suspend", "Suspend a service account: it cannot authenticate until reactivated", `  warden iam service-account suspend my-robot`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			return setStatus(ctx, c, sa.Id, func() (*operation.Operation, error) {
				return c.ServiceAccounts.Suspend(ctx, &iam.SuspendServiceAccountRequest{ServiceAccountId: sa.Id})
			})
		})
	reactivate := one("reactivate", "Reactivate a suspended service account", `  warden iam service-account reactivate my-robot`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			return setStatus(ctx, c, sa.Id, func() (*operation.Operation, error) {
				return c.ServiceAccounts.Reactivate(ctx, &iam.ReactivateServiceAccountRequest{ServiceAccountId: sa.Id})
			})
		})

	var cm, um mutation
	create := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a service account",
		Long:  "Create a service account in a folder." + folderHelp,
		Example: `  warden iam service-account create --name my-robot --description "CI deployer"
  warden iam service-account create my-robot --folder-name my-folder --labels team=iam,env=prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cm.takeName(args); err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			folder, err := a.folderID(cmd.Context(), c)
			if err != nil {
				return err
			}
			op, err := c.ServiceAccounts.Create(cmd.Context(), &iam.CreateServiceAccountRequest{FolderId: folder, Name: cm.name, Description: cm.description, Labels: cm.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(cmd.Context(), c, op, &iam.ServiceAccount{})
		},
	}
	cm.createFlags(create, "service account")

	update := one("update", "Change a service account's name, description or labels", `  warden iam service-account update my-robot --new-name deployer
  warden iam service-account update my-robot --description "CI" --labels env=prod`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			mask, err := um.mask()
			if err != nil {
				return err
			}
			op, err := c.ServiceAccounts.Update(ctx, &iam.UpdateServiceAccountRequest{ServiceAccountId: sa.Id, UpdateMask: mask, Name: um.name, Description: um.description, Labels: um.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &iam.ServiceAccount{})
		})
	um.updateFlags(update)

	var pwStdin, generate bool
	setPassword := one("set-password", "Set a service account's password, for Keystone's password method",
		`  warden iam service-account set-password my-robot --generate
  printf '%s\n' "$PASSWORD" | warden iam service-account set-password my-robot --password-stdin`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			var pw string
			if !generate {
				var err error
				if pw, err = a.readNewPassword(pwStdin); err != nil {
					return err
				}
			}
			generated, err := c.SetServiceAccountPassword(ctx, sa.Id, pw, generate)
			if err != nil {
				return err
			}
			if generate {
				fmt.Fprintln(a.env.Stdout, generated)
			}
			fmt.Fprintf(a.env.Stderr, "Password of %s set\n", sa.Id)
			return nil
		})
	setPassword.Long = `Set a service account's password: the account then authenticates with
Keystone's password method (POST /v3/auth/tokens, ` + "`openstack`" + `, gophercloud), by
its ID or by its name in its cloud (the Keystone domain). The password is
prompted for (twice) on a terminal, read from the first line of stdin with
--password-stdin (or when stdin is not a terminal), or with --generate made
by Warden and printed once on stdout. Needs iam.serviceAccounts.setPassword
on the account and everything the account holds (a password is a credential
of it). A name already used by another account with a password in the same
cloud is refused. The previous password's Keystone tokens are revoked.` + folderHelp
	setPassword.Flags().BoolVar(&pwStdin, "password-stdin", false, "read the password from stdin, without prompting")
	setPassword.Flags().BoolVar(&generate, "generate", false, "let Warden generate a password and print it (shown once)")
	removePassword := one("remove-password", "Remove a service account's password and revoke its Keystone tokens", `  warden iam service-account remove-password my-robot`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			if err := c.RemoveServiceAccountPassword(ctx, sa.Id); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Password of %s removed\n", sa.Id)
			return nil
		})

	revokeTokens := one("revoke-tokens", "Revoke every IAM token, Keystone token and ephemeral key of a service account", `  warden iam service-account revoke-tokens my-robot`,
		func(ctx context.Context, c *client.Client, sa *iam.ServiceAccount) error {
			return a.revokeAccountTokens(ctx, c, "serviceAccounts", sa.Id)
		})
	revokeTokens.Long = revokeTokensHelp + folderHelp

	// Bindings on a service account say who may use or manage it.
	bindings := accessBindingCommands(a, bindable[*iam.ServiceAccount]{
		what: "service account", command: "iam service-account", example: "my-robot", help: folderHelp,
		find:    a.resolveServiceAccount,
		id:      func(sa *iam.ServiceAccount) string { return sa.Id },
		service: func(c *client.Client) accessBindings { return c.ServiceAccounts },
		folder:  func(sa *iam.ServiceAccount) string { return sa.FolderId },
	})

	return group("service-account", "Manage service accounts", `
Manage service accounts: identities for programs. Commands that act on one
service account take its ID or name as an argument, or --id or --name.`+folderHelp,
		[]string{"service-accounts", "sa"}, append([]*cobra.Command{list, get, create, update, del, suspend, reactivate, setPassword, removePassword, revokeTokens}, bindings...)...)
}

// printResult waits for op and prints its response, unpacked into out.
func (a *app) printResult(ctx context.Context, c *client.Client, op *operation.Operation, out proto.Message) error {
	if err := c.Result(ctx, op, out); err != nil {
		return err
	}
	return a.printOne(out)
}
