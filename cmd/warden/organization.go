package main

import (
	"context"

	"github.com/spf13/cobra"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"

	"warden/client"
)

var organizationColumns = []column[*om.Organization]{
	{"ID", func(o *om.Organization) string { return o.Id }},
	{"NAME", func(o *om.Organization) string { return o.Name }},
	{"TITLE", func(o *om.Organization) string { return o.Title }},
	{"LABELS", func(o *om.Organization) string { return formatLabels(o.Labels) }},
}

// resolveOrganization resolves an organization named by ID or name.
func (a *app) resolveOrganization(ctx context.Context, c *client.Client, t *target) (*om.Organization, error) {
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*om.Organization, error) {
			return c.Organizations.Get(ctx, &om.GetOrganizationRequest{OrganizationId: id})
		},
		func(ctx context.Context, name string) (*om.Organization, error) {
			f, err := nameFilter(name)
			if err != nil {
				return nil, err
			}
			resp, err := c.Organizations.List(ctx, &om.ListOrganizationsRequest{Filter: f, PageSize: pageSize})
			if err != nil {
				return nil, err
			}
			return exactlyOne(resp.Organizations, "organization", name, "")
		})
}

func (a *app) organizationManagerCommand() *cobra.Command {
	return group("organization-manager", "Manage organizations", `
Manage organizations: the top of the resource hierarchy, holding clouds and
users.`, []string{"organizationmanager"}, a.organizationCommand(), a.userCommand(), a.userpoolCommand(), a.groupCommand())
}

func (a *app) organizationCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the organizations you can see",
		Example: `  warden organization-manager organization list
  warden organization-manager organization list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			orgs, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*om.Organization, string, error) {
				resp, err := c.Organizations.List(ctx, &om.ListOrganizationsRequest{PageSize: size, PageToken: tok})
				return resp.GetOrganizations(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, orgs, organizationColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many organizations (0: all)")

	get := targetCommand(a, "organization", a.resolveOrganization, "get", "Show an organization", `  warden organization-manager organization get my-org
  warden organization-manager organization get --id bpfexample0000000000 --format json`,
		func(ctx context.Context, c *client.Client, o *om.Organization) error { return a.printOne(o) })
	get.Long = "Show an organization, named by ID or by name."

	bindings := accessBindingCommands(a, bindable[*om.Organization]{
		what: "organization", command: "organization-manager organization", example: "my-org",
		find:    a.resolveOrganization,
		id:      func(o *om.Organization) string { return o.Id },
		service: func(c *client.Client) accessBindings { return c.Organizations },
	})
	return group("organization", "Manage organizations", `
Manage organizations and who holds which role on them. Commands that act on
one organization take its ID or name as an argument, or --id or --name.`,
		[]string{"organizations", "org"}, append([]*cobra.Command{list, get}, bindings...)...)
}
