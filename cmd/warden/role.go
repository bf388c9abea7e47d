package main

import (
	"context"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
)

var roleColumns = []column[*iam.Role]{
	{"ID", func(r *iam.Role) string { return r.Id }},
	{"DESCRIPTION", func(r *iam.Role) string { return r.Description }},
}

func (a *app) roleCommand() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the roles that access bindings can grant",
		Example: `  warden iam role list
  warden iam role list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			roles, err := listAll(cmd.Context(), 0, func(ctx context.Context, size int64, tok string) ([]*iam.Role, string, error) {
				resp, err := c.Roles.List(ctx, &iam.ListRolesRequest{PageSize: size, PageToken: tok})
				return resp.GetRoles(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, roles, roleColumns)
		},
	}
	get := &cobra.Command{
		Use:     "get ROLE_ID",
		Short:   "Show a role",
		Example: `  warden iam role get viewer`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			r, err := c.Roles.Get(cmd.Context(), &iam.GetRoleRequest{RoleId: args[0]})
			if err != nil {
				return err
			}
			return a.printOne(r)
		},
	}
	return group("role", "Show roles", `
Show roles: the named sets of permissions that access bindings grant. The
catalog is fixed; every authenticated caller can read it.`, []string{"roles"}, list, get)
}
