package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
)

func (a *app) userAccountCommand() *cobra.Command {
	get := &cobra.Command{
		Use:     "get ID",
		Short:   "Show a user account",
		Example: `  warden iam user-account get ajuexample0000000000`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			u, err := c.UserAccounts.Get(cmd.Context(), &iam.GetUserAccountRequest{UserAccountId: args[0]})
			if err != nil {
				return err
			}
			return a.printOne(u)
		},
	}

	var fromStdin, own bool
	setPassword := &cobra.Command{
		Use:   "set-password ID",
		Short: "Set a user account's password",
		Long: `Set a user account's password, which ` + "`warden login`" + ` and Keystone accept.
The password is prompted for (twice) on a terminal; with --password-stdin,
or when stdin is not a terminal, it is read from the first line of stdin.
Setting another account's password needs iam.userAccounts.setPassword on
it. Changing your own (--own) asks for your current password first (the
second line of stdin with --password-stdin). Either way every OAuth token
of the account is revoked: its sessions must log in again.`,
		Example: `  warden iam user-account set-password ajuexample0000000000
  printf '%s\n' "$NEW_PASSWORD" | warden iam user-account set-password ajuexample0000000000 --password-stdin
  printf '%s\n%s\n' "$NEW_PASSWORD" "$OLD_PASSWORD" | warden iam user-account set-password ajuexample0000000000 --own --password-stdin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			pw, err := a.readNewPassword(fromStdin)
			if err != nil {
				return err
			}
			var current string
			if own {
				if current, err = a.readSecret("Current password: ", fromStdin); err != nil {
					return err
				}
			}
			if err := c.SetPassword(cmd.Context(), args[0], current, pw); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Password of %s set\n", args[0])
			return nil
		},
	}
	setPassword.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from stdin, without prompting")
	setPassword.Flags().BoolVar(&own, "own", false, "change your own password: give the current one too")

	revokeTokens := &cobra.Command{
		Use:     "revoke-tokens ID",
		Short:   "Revoke every IAM token, Keystone token and ephemeral key of a user account",
		Long:    revokeTokensHelp,
		Example: `  warden iam user-account revoke-tokens ajuexample0000000000`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			return a.revokeAccountTokens(cmd.Context(), c, "userAccounts", args[0])
		},
	}

	return group("user-account", "Manage user accounts", `
Manage user accounts: people, who log in with a password.`, []string{"user-accounts"}, get, setPassword, revokeTokens)
}

// readNewPassword reads a new password, asking twice on a terminal.
func (a *app) readNewPassword(fromStdin bool) (string, error) {
	pw, err := a.readSecret("New password: ", fromStdin)
	if err != nil || !a.promptable(fromStdin) {
		return pw, err
	}
	again, err := a.readSecret("Repeat password: ", fromStdin)
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the passwords do not match")
	}
	return pw, nil
}
