package main

import (
	"fmt"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (a *app) iamCommand() *cobra.Command {
	return group("iam", "Manage identities and access", `
Manage identities and access: service accounts and their authorized keys,
user accounts, roles and IAM tokens.`, nil, a.serviceAccountCommand(), a.keyCommand(), a.apiKeyCommand(), a.accessKeyCommand(), a.staticTokenCommand(), a.userAccountCommand(), a.roleCommand(), a.accessAnalyzerCommand(), a.createTokenCommand())
}

func (a *app) createTokenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "create-token",
		Short: "Print an IAM token for the current credentials",
		Long: `Print an IAM token for the current credentials: the OAuth token of the
profile (or --token) is exchanged for one, and so is a JWT signed with a
service account key (--service-account-key, the profile's
service-account-key); an IAM token given as is (--iam-token, the profile's
iam-token) is printed back. In text format only
the token is printed, for use in scripts; json and yaml also show
expires_at.`,
		Example: `  warden iam create-token
  curl -H "Authorization: Bearer $(warden iam create-token)" http://127.0.0.1:8080/resource-manager/v1/clouds
  warden iam create-token --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			tok, err := c.Token(cmd.Context())
			if err != nil {
				return err
			}
			if a.flags.format == "text" {
				_, err := fmt.Fprintln(a.env.Stdout, tok.Value)
				return err
			}
			resp := &iam.CreateIamTokenResponse{IamToken: tok.Value}
			if !tok.ExpiresAt.IsZero() {
				resp.ExpiresAt = timestamppb.New(tok.ExpiresAt)
			}
			return a.printOne(resp)
		},
	}
}
