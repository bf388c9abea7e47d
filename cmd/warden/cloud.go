package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"

	"warden/client"
)

func (a *app) resourceManagerCommand() *cobra.Command {
	return group("resource-manager", "Manage clouds and folders", `
Manage the resource hierarchy: clouds, and the folders in them that hold
service accounts and other resources.`, []string{"resourcemanager"}, a.cloudCommand(), a.folderCommand())
}

var cloudColumns = []column[*rm.Cloud]{
	{"ID", func(c *rm.Cloud) string { return c.Id }},
	{"NAME", func(c *rm.Cloud) string { return c.Name }},
	{"ORGANIZATION ID", func(c *rm.Cloud) string { return c.OrganizationId }},
}

// resolveCloud resolves a cloud named by ID or name.
func (a *app) resolveCloud(ctx context.Context, c *client.Client, t *target) (*rm.Cloud, error) {
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*rm.Cloud, error) {
			return c.Clouds.Get(ctx, &rm.GetCloudRequest{CloudId: id})
		},
		func(ctx context.Context, name string) (*rm.Cloud, error) { return findCloud(ctx, c, name) })
}

func (a *app) cloudCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the clouds you can see",
		Example: `  warden resource-manager cloud list
  warden resource-manager cloud list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			clouds, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*rm.Cloud, string, error) {
				resp, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{PageSize: size, PageToken: tok})
				return resp.GetClouds(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, clouds, cloudColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many clouds (0: all)")

	get := targetCommand(a, "cloud", a.resolveCloud, "get", "Show a cloud", `  warden resource-manager cloud get default
  warden resource-manager cloud get --id b1gexample0000000000`,
		func(ctx context.Context, c *client.Client, cl *rm.Cloud) error { return a.printOne(cl) })
	del := targetCommand(a, "cloud", a.resolveCloud, "delete", "Delete a cloud; it must be empty", `  warden resource-manager cloud delete my-cloud`,
		func(ctx context.Context, c *client.Client, cl *rm.Cloud) error {
			op, err := c.Clouds.Delete(ctx, &rm.DeleteCloudRequest{CloudId: cl.Id})
			if err != nil {
				return err
			}
			_, err = c.Wait(ctx, op)
			return err
		})

	var cm, um mutation
	create := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a cloud",
		Long:  "Create a cloud in an organization: --organization-id, or the only organization you can see.",
		Example: `  warden resource-manager cloud create --name my-cloud --description "Team cloud"
  warden resource-manager cloud create my-cloud --labels env=prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cm.takeName(args); err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			org, err := a.organizationID(cmd.Context(), c, cm.organizationID)
			if err != nil {
				return err
			}
			op, err := c.Clouds.Create(cmd.Context(), &rm.CreateCloudRequest{OrganizationId: org, Name: cm.name, Description: cm.description, Labels: cm.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(cmd.Context(), c, op, &rm.Cloud{})
		},
	}
	cm.createFlags(create, "cloud")
	create.Flags().StringVar(&cm.organizationID, "organization-id", "", "organization to create the cloud in")

	update := targetCommand(a, "cloud", a.resolveCloud, "update", "Change a cloud's name, description or labels", `  warden resource-manager cloud update my-cloud --new-name team-cloud
  warden resource-manager cloud update --id b1gexample0000000000 --labels env=prod,team=iam`,
		func(ctx context.Context, c *client.Client, cl *rm.Cloud) error {
			mask, err := um.mask()
			if err != nil {
				return err
			}
			op, err := c.Clouds.Update(ctx, &rm.UpdateCloudRequest{CloudId: cl.Id, UpdateMask: mask, Name: um.name, Description: um.description, Labels: um.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &rm.Cloud{})
		})
	um.updateFlags(update)

	bindings := accessBindingCommands(a, bindable[*rm.Cloud]{
		what: "cloud", command: "resource-manager cloud", example: "my-cloud",
		find:    a.resolveCloud,
		id:      func(cl *rm.Cloud) string { return cl.Id },
		service: func(c *client.Client) accessBindings { return c.Clouds },
	})

	return group("cloud", "Manage clouds", `
Manage clouds: the top of the resource hierarchy below an organization.
Commands that act on one cloud take its ID or name as an argument, or --id
or --name.`, nil, append([]*cobra.Command{list, get, create, update, del}, bindings...)...)
}

// organizationID is the organization for a new cloud: the one given, or
// the only one the caller can see.
func (a *app) organizationID(ctx context.Context, c *client.Client, given string) (string, error) {
	if given != "" {
		return given, nil
	}
	resp, err := c.Organizations.List(ctx, &om.ListOrganizationsRequest{PageSize: 2})
	if err != nil {
		return "", err
	}
	switch len(resp.Organizations) {
	case 1:
		return resp.Organizations[0].Id, nil
	case 0:
		return "", errors.New("you can see no organization: give --organization-id")
	}
	return "", errors.New("you can see several organizations: choose one with --organization-id")
}
