package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	idp "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1/idp"

	"warden/client"
)

var userpoolColumns = []column[*idp.Userpool]{
	{"ID", func(p *idp.Userpool) string { return p.Id }},
	{"NAME", func(p *idp.Userpool) string { return p.Name }},
	{"DOMAINS", func(p *idp.Userpool) string { return strings.Join(p.Domains, ",") }},
}

// resolveUserpool resolves a userpool named by ID, or by name in the only
// organization the caller can see.
func (a *app) resolveUserpool(ctx context.Context, c *client.Client, t *target) (*idp.Userpool, error) {
	pools := idp.NewUserpoolServiceClient(c.Conn())
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*idp.Userpool, error) {
			return pools.Get(ctx, &idp.GetUserpoolRequest{UserpoolId: id})
		},
		func(ctx context.Context, name string) (*idp.Userpool, error) {
			id, err := a.userpoolID(ctx, c, poolChoice{name: name}, "")
			if err != nil {
				return nil, err
			}
			return pools.Get(ctx, &idp.GetUserpoolRequest{UserpoolId: id})
		})
}

func (a *app) userpoolCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the userpools of the organization",
		Example: `  warden organization-manager userpool list
  warden organization-manager userpool list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			org, err := a.organizationID(cmd.Context(), c, "")
			if err != nil {
				return err
			}
			pools, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*idp.Userpool, string, error) {
				resp, err := idp.NewUserpoolServiceClient(c.Conn()).List(ctx, &idp.ListUserpoolsRequest{OrganizationId: org, PageSize: size, PageToken: tok})
				return resp.GetUserpools(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, pools, userpoolColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many userpools (0: all)")
	get := targetCommand(a, "userpool", a.resolveUserpool, "get", "Show a userpool", `  warden organization-manager userpool get default`,
		func(ctx context.Context, c *client.Client, p *idp.Userpool) error { return a.printOne(p) })
	get.Long = "Show a userpool, named by ID or by name."
	return group("userpool", "Show userpools", `
Show userpools: the pools users belong to; a user's login ends in its pool's
domain.`, []string{"userpools"}, list, get)
}
