package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	aws "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1/awscompatibility"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"warden/client"
)

var accessKeyColumns = []column[*aws.AccessKey]{
	{"ID", func(k *aws.AccessKey) string { return k.Id }},
	{"KEY ID", func(k *aws.AccessKey) string { return k.KeyId }},
	{"SERVICE ACCOUNT", func(k *aws.AccessKey) string { return k.ServiceAccountId }},
	{"DESCRIPTION", func(k *aws.AccessKey) string { return k.Description }},
	{"CREATED AT", func(k *aws.AccessKey) string { return formatTime(k.CreatedAt) }},
	{"LAST USED AT", func(k *aws.AccessKey) string { return formatTime(k.LastUsedAt) }},
}

func (a *app) accessKeyCommand() *cobra.Command {
	return group("access-key", "Manage the AWS-compatible static access keys of service accounts", `
Manage static access keys: a key id and a secret with which AWS tools (the
AWS CLI, boto3, the AWS SDKs, curl --aws-sigv4) sign requests (Signature
Version 4) to S3- or SES-compatible services that check them with Warden.
The secret is shown once, by create.`,
		[]string{"access-keys"}, a.accessKeyCreateCommand(), a.accessKeyListCommand(), a.accessKeyGetCommand(), a.accessKeyUpdateCommand(), a.accessKeyDeleteCommand(), a.accessKeyEphemeralCommand())
}

func (a *app) accessKeyEphemeralCommand() *cobra.Command {
	var owner keyOwner
	var duration time.Duration
	var session, policy string
	cmd := &cobra.Command{
		Use:   "create-ephemeral",
		Short: "Create an ephemeral access key: key id, secret and session token",
		Long: `Create an ephemeral access key for yourself or, with --service-account-id or
--service-account-name, for a service account you may issue tokens for. AWS
tools take it as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
AWS_SESSION_TOKEN. Nothing is stored: the key dies at its expiry, or with its
subject.`,
		Example: `  warden iam access-key create-ephemeral --duration 1h
  warden iam access-key create-ephemeral --service-account-name my-robot --duration 30m --format json
  warden iam access-key create-ephemeral --policy '{"Statement": [{"Effect": "Allow", "Action": "postbox.configurationSets.*"}]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, sa, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			resp, err := aws.NewTemporaryAccessKeyServiceClient(c.Conn()).CreateEphemeral(ctx, &aws.CreateEphemeralAccessKeyRequest{
				SubjectId: sa, SessionName: session, Duration: durationpb.New(duration), Policy: policy,
			})
			if err != nil {
				return err
			}
			return a.printOne(resp)
		},
	}
	owner.register(cmd)
	cmd.Flags().DurationVar(&duration, "duration", time.Hour, "lifetime, 15m to 12h")
	cmd.Flags().StringVar(&session, "session-name", "warden-cli", "name of the session")
	cmd.Flags().StringVar(&policy, "policy", "", `session policy narrowing the key, e.g. '{"Statement": [{"Effect": "Allow", "Action": "postbox.*"}]}'`)
	return cmd
}

func (a *app) accessKeyCreateCommand() *cobra.Command {
	var owner keyOwner
	var description string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a static access key and print its secret, once",
		Long: `Create a static access key for a service account. The answer holds
access_key.key_id (the AWS access key id) and secret (the AWS secret access
key): the secret is never shown again.` + keyOwnerHelp,
		Example: `  warden iam access-key create --service-account-name my-robot --description "postbox sender"
  warden iam access-key create --service-account-id ajeexample0000000000 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, sa, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			resp, err := aws.NewAccessKeyServiceClient(c.Conn()).Create(ctx, &aws.CreateAccessKeyRequest{ServiceAccountId: sa, Description: description})
			if err != nil {
				return owner.explain(err)
			}
			return a.printOne(resp)
		},
	}
	owner.register(cmd)
	cmd.Flags().StringVar(&description, "description", "", "description of the key")
	return cmd
}

func (a *app) accessKeyListCommand() *cobra.Command {
	var owner keyOwner
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the static access keys of a service account",
		Long:  "List the static access keys of a service account (without their secrets)." + keyOwnerHelp,
		Example: `  warden iam access-key list --service-account-name my-robot
  warden iam access-key list --service-account-id ajeexample0000000000 --format yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, sa, err := a.dialOwner(ctx, &owner)
			if err != nil {
				return err
			}
			keys, err := listAll(ctx, limit, func(ctx context.Context, size int64, tok string) ([]*aws.AccessKey, string, error) {
				resp, err := aws.NewAccessKeyServiceClient(c.Conn()).List(ctx, &aws.ListAccessKeysRequest{ServiceAccountId: sa, PageSize: size, PageToken: tok})
				return resp.GetAccessKeys(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return owner.explain(err)
			}
			return printList(a, keys, accessKeyColumns)
		},
	}
	owner.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many keys (0: all)")
	return cmd
}

func (a *app) accessKeyGetCommand() *cobra.Command {
	return a.keyIDCommand("get", "Show a static access key (without its secret)", `  warden iam access-key get ajsexample0000000000 --format json`,
		func(ctx context.Context, c *client.Client, id string) error {
			k, err := aws.NewAccessKeyServiceClient(c.Conn()).Get(ctx, &aws.GetAccessKeyRequest{AccessKeyId: id})
			if err != nil {
				return err
			}
			return a.printOne(k)
		})
}

func (a *app) accessKeyUpdateCommand() *cobra.Command {
	var description string
	var cmd *cobra.Command
	cmd = a.keyIDCommand("update", "Change the description of a static access key", `  warden iam access-key update ajsexample0000000000 --description "postbox, rotated monthly"`,
		func(ctx context.Context, c *client.Client, id string) error {
			if !cmd.Flags().Changed("description") {
				return errors.New("nothing to update: give --description")
			}
			op, err := aws.NewAccessKeyServiceClient(c.Conn()).Update(ctx, &aws.UpdateAccessKeyRequest{AccessKeyId: id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}, Description: description})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &aws.AccessKey{})
		})
	cmd.Flags().StringVar(&description, "description", "", "new description (\"\" clears it)")
	return cmd
}

func (a *app) accessKeyDeleteCommand() *cobra.Command {
	cmd := a.keyIDCommand("delete", "Delete a static access key", `  warden iam access-key delete ajsexample0000000000`,
		func(ctx context.Context, c *client.Client, id string) error {
			op, err := aws.NewAccessKeyServiceClient(c.Conn()).Delete(ctx, &aws.DeleteAccessKeyRequest{AccessKeyId: id})
			if err != nil {
				return err
			}
			_, err = c.Wait(ctx, op)
			return err
		})
	cmd.Long += "\n\nRequests signed with the key are refused from then on."
	return cmd
}
