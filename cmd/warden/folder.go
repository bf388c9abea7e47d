package main

import (
	"context"

	"github.com/spf13/cobra"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"

	"warden/client"
)

var folderColumns = []column[*rm.Folder]{
	{"ID", func(f *rm.Folder) string { return f.Id }},
	{"NAME", func(f *rm.Folder) string { return f.Name }},
	{"LABELS", func(f *rm.Folder) string { return formatLabels(f.Labels) }},
	{"STATUS", func(f *rm.Folder) string { return f.Status.String() }},
}

// resolveFolder resolves a folder named by ID, or by name in the selected
// cloud.
func (a *app) resolveFolder(ctx context.Context, c *client.Client, t *target) (*rm.Folder, error) {
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*rm.Folder, error) {
			return c.Folders.Get(ctx, &rm.GetFolderRequest{FolderId: id})
		},
		func(ctx context.Context, name string) (*rm.Folder, error) {
			cloud, err := a.cloudID(ctx, c)
			if err != nil {
				return nil, err
			}
			return findFolder(ctx, c, cloud, name)
		})
}

const folderCloudHelp = `

The cloud is --cloud-id or --cloud-name, else WARDEN_CLOUD_ID, else the
profile's cloud-id, else the only cloud you can see.`

func (a *app) folderCommand() *cobra.Command {
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the folders of a cloud",
		Long:  "List the folders of a cloud." + folderCloudHelp,
		Example: `  warden resource-manager folder list
  warden resource-manager folder list --cloud-name default --format yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			cloud, err := a.cloudID(cmd.Context(), c)
			if err != nil {
				return err
			}
			folders, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*rm.Folder, string, error) {
				resp, err := c.Folders.List(ctx, &rm.ListFoldersRequest{CloudId: cloud, PageSize: size, PageToken: tok})
				return resp.GetFolders(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, folders, folderColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many folders (0: all)")

	get := targetCommand(a, "folder", a.resolveFolder, "get", "Show a folder", `  warden resource-manager folder get default
  warden resource-manager folder get --id b1fexample0000000000 --format json`,
		func(ctx context.Context, c *client.Client, f *rm.Folder) error { return a.printOne(f) })
	get.Long = "Show a folder, named by ID or by name." + folderCloudHelp

	del := targetCommand(a, "folder", a.resolveFolder, "delete", "Delete a folder; it must be empty", `  warden resource-manager folder delete my-folder`,
		func(ctx context.Context, c *client.Client, f *rm.Folder) error {
			op, err := c.Folders.Delete(ctx, &rm.DeleteFolderRequest{FolderId: f.Id})
			if err != nil {
				return err
			}
			_, err = c.Wait(ctx, op)
			return err
		})

	var cm, um mutation
	create := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a folder",
		Long:  "Create a folder in a cloud." + folderCloudHelp,
		Example: `  warden resource-manager folder create --name my-folder
  warden resource-manager folder create my-folder --cloud-name default --labels env=dev`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cm.takeName(args); err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			cloud, err := a.cloudID(cmd.Context(), c)
			if err != nil {
				return err
			}
			op, err := c.Folders.Create(cmd.Context(), &rm.CreateFolderRequest{CloudId: cloud, Name: cm.name, Description: cm.description, Labels: cm.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(cmd.Context(), c, op, &rm.Folder{})
		},
	}
	cm.createFlags(create, "folder")

	update := targetCommand(a, "folder", a.resolveFolder, "update", "Change a folder's name, description or labels", `  warden resource-manager folder update my-folder --new-name team-folder
  warden resource-manager folder update --id b1fexample0000000000 --description ""`,
		func(ctx context.Context, c *client.Client, f *rm.Folder) error {
			mask, err := um.mask()
			if err != nil {
				return err
			}
			op, err := c.Folders.Update(ctx, &rm.UpdateFolderRequest{FolderId: f.Id, UpdateMask: mask, Name: um.name, Description: um.description, Labels: um.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &rm.Folder{})
		})
	um.updateFlags(update)

	bindings := accessBindingCommands(a, bindable[*rm.Folder]{
		what: "folder", command: "resource-manager folder", example: "my-folder", help: folderCloudHelp,
		find:    a.resolveFolder,
		id:      func(f *rm.Folder) string { return f.Id },
		service: func(c *client.Client) accessBindings { return c.Folders },
		folder:  func(f *rm.Folder) string { return f.Id },
	})

	return group("folder", "Manage folders", `
Manage folders: they hold service accounts and other resources. Commands
that act on one folder take its ID or name as an argument, or --id or
--name; names are looked up in the selected cloud.`+folderCloudHelp, nil,
		append([]*cobra.Command{list, get, create, update, del}, bindings...)...)
}
