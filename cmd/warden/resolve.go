package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	rm "github.com/yandex-cloud/go-genproto/yandex/cloud/resourcemanager/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden/client"
)

// pageSize is the largest page the list methods accept.
const pageSize = 1000

// listAll fetches pages until the last, or until limit items (0: all).
func listAll[T any](ctx context.Context, limit int, page func(ctx context.Context, size int64, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	token := ""
	for {
		size := int64(pageSize)
		if limit > 0 {
			size = int64(min(pageSize, limit-len(all)))
		}
		items, next, err := page(ctx, size, token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || (limit > 0 && len(all) >= limit) {
			return all, nil
		}
		token = next
	}
}

// target is how a command names the resource it acts on: a positional ID
// or name (as yc takes it), --id or --name.
type target struct {
	what     string // "service account", for messages
	arg      string
	id, name string
}

func (t *target) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.id, "id", "", "ID of the "+t.what)
	cmd.Flags().StringVar(&t.name, "name", "", "name of the "+t.what)
}

// parse takes the positional argument and checks that exactly one way of
// naming the resource was used.
func (t *target) parse(args []string) error {
	if len(args) > 0 {
		t.arg = args[0]
	}
	n := 0
	for _, s := range []string{t.arg, t.id, t.name} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return fmt.Errorf("name the %s: give its ID or name as an argument, or --id or --name", t.what)
	case n > 1:
		return fmt.Errorf("name the %s once: an argument, --id or --name", t.what)
	}
	return nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9]{20}$`)

// resolve finds the resource: by ID, by name, or — for a positional
// argument — by ID when it looks like one, else (or when there is no such
// ID) by name. byName is called only when a name lookup is needed.
func resolve[T any](ctx context.Context, t *target, byID func(context.Context, string) (T, error), byName func(context.Context, string) (T, error)) (T, error) {
	switch {
	case t.id != "":
		return byID(ctx, t.id)
	case t.name != "":
		return byName(ctx, t.name)
	case idPattern.MatchString(t.arg):
		r, err := byID(ctx, t.arg)
		if status.Code(err) != codes.NotFound {
			return r, err
		}
		if r2, err2 := byName(ctx, t.arg); err2 == nil {
			return r2, nil
		}
		return r, err
	default:
		return byName(ctx, t.arg)
	}
}

// nameFilter is the list filter that selects by name.
func nameFilter(name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `"\`) {
		return "", fmt.Errorf("invalid name %q", name)
	}
	return fmt.Sprintf("name=%q", name), nil
}

// exactlyOne returns the single item found by name.
func exactlyOne[T any](items []T, what, name, where string) (T, error) {
	var zero T
	switch len(items) {
	case 0:
		return zero, fmt.Errorf("%s %q not found%s", what, name, where)
	case 1:
		return items[0], nil
	}
	return zero, fmt.Errorf("%d %ss are named %q%s: use the ID", len(items), what, name, where)
}

func findCloud(ctx context.Context, c *client.Client, name string) (*rm.Cloud, error) {
	f, err := nameFilter(name)
	if err != nil {
		return nil, err
	}
	resp, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{Filter: f, PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	return exactlyOne(resp.Clouds, "cloud", name, "")
}

func findFolder(ctx context.Context, c *client.Client, cloudID, name string) (*rm.Folder, error) {
	f, err := nameFilter(name)
	if err != nil {
		return nil, err
	}
	resp, err := c.Folders.List(ctx, &rm.ListFoldersRequest{CloudId: cloudID, Filter: f, PageSize: pageSize})
	if err != nil {
		return nil, err
	}
	return exactlyOne(resp.Folders, "folder", name, " in cloud "+cloudID)
}

// cloudID is the cloud a command works in: --cloud-id, --cloud-name,
// WARDEN_CLOUD_ID, the profile's cloud-id, or the only cloud the caller can
// see.
func (a *app) cloudID(ctx context.Context, c *client.Client) (string, error) {
	if a.flags.cloudID != "" {
		return a.flags.cloudID, nil
	}
	if a.flags.cloudName != "" {
		cl, err := findCloud(ctx, c, a.flags.cloudName)
		if err != nil {
			return "", err
		}
		return cl.Id, nil
	}
	if v := a.env.getenv(envCloudID); v != "" {
		return v, nil
	}
	p, _, err := a.profile()
	if err != nil {
		return "", err
	}
	if p.CloudID != "" {
		return p.CloudID, nil
	}
	resp, err := c.Clouds.List(ctx, &rm.ListCloudsRequest{PageSize: 2})
	if err != nil {
		return "", err
	}
	switch len(resp.Clouds) {
	case 1:
		return resp.Clouds[0].Id, nil
	case 0:
		return "", errors.New("you can see no cloud: give --cloud-id")
	}
	return "", errors.New("you can see several clouds: choose one with --cloud-id or --cloud-name, or `warden config set cloud-id ID`")
}

// folderID is the folder a command works in: --folder-id, --folder-name
// (in the cloud of cloudID), WARDEN_FOLDER_ID, the profile's folder-id, or
// the folder named "default".
func (a *app) folderID(ctx context.Context, c *client.Client) (string, error) {
	if a.flags.folderID != "" {
		return a.flags.folderID, nil
	}
	name := a.flags.folderName
	if name == "" {
		if v := a.env.getenv(envFolderID); v != "" {
			return v, nil
		}
		p, _, err := a.profile()
		if err != nil {
			return "", err
		}
		if p.FolderID != "" {
			return p.FolderID, nil
		}
		name = "default"
	}
	cloud, err := a.cloudID(ctx, c)
	if err != nil {
		return "", err
	}
	f, err := findFolder(ctx, c, cloud, name)
	if err != nil {
		if a.flags.folderName == "" {
			return "", fmt.Errorf("no folder given and %w: use --folder-id or --folder-name, or `warden config set folder-id ID`", err)
		}
		return "", err
	}
	return f.Id, nil
}
