package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc"

	"warden/client"
)

// accessBindings is the part of a resource service that manages the
// resource's access bindings: the folder, cloud, service account and
// organization clients all have it.
type accessBindings interface {
	ListAccessBindings(ctx context.Context, in *access.ListAccessBindingsRequest, opts ...grpc.CallOption) (*access.ListAccessBindingsResponse, error)
	UpdateAccessBindings(ctx context.Context, in *access.UpdateAccessBindingsRequest, opts ...grpc.CallOption) (*operation.Operation, error)
}

// bindable says how the access binding commands reach one kind of
// resource.
type bindable[T any] struct {
	what    string // "folder", for messages and flag help
	command string // "resource-manager folder", for examples
	example string // an argument naming such a resource, for examples
	help    string // how the resource is named, appended to Long
	find    func(context.Context, *client.Client, *target) (T, error)
	id      func(T) string
	service func(*client.Client) accessBindings
	// folder is the folder a --service-account-name is looked up in when
	// no --folder-id or --folder-name is given: the folder itself, or a
	// service account's folder. Nil for resources above folders, where
	// the selected folder is used.
	folder func(T) string
}

var accessBindingColumns = []column[*access.AccessBinding]{
	{"ROLE ID", func(b *access.AccessBinding) string { return b.RoleId }},
	{"SUBJECT TYPE", func(b *access.AccessBinding) string { return b.GetSubject().GetType() }},
	{"SUBJECT ID", func(b *access.AccessBinding) string { return b.GetSubject().GetId() }},
}

const bindingOutputHelp = `

In text format a line on stderr says what changed, if anything; json and
yaml print the effective deltas that the server reports.`

const subjectHelp = `

The subject is exactly one of --subject TYPE:ID (serviceAccount:ID,
userAccount:ID, group:ID, system:allUsers, system:allAuthenticatedUsers,
system:group:organization:ORGANIZATION_ID:users for every user of an
organization), --service-account-id, --service-account-name (looked up in
the folder of --folder-id or --folder-name if given, else in the folder the
binding is on or the service account's own folder, else the selected
folder), --user-account-id, --user-account-name, --group-id, --group-name
(in the only organization you can see), --all-authenticated-users or
--all-users.`

// accessBindingCommands are add-access-binding, remove-access-binding and
// list-access-bindings for the resources r describes.
func accessBindingCommands[T any](a *app, r bindable[T]) []*cobra.Command {
	list := targetCommand(a, r.what, r.find, "list-access-bindings", "List the access bindings of a "+r.what,
		fmt.Sprintf("  warden %s list-access-bindings %s\n  warden %[1]s list-access-bindings %[2]s --format json", r.command, r.example),
		func(ctx context.Context, c *client.Client, res T) error {
			bs, err := listAccessBindings(ctx, r.service(c), r.id(res))
			if err != nil {
				return err
			}
			return printList(a, bs, accessBindingColumns)
		})
	list.Long = "List the access bindings set directly on a " + r.what + ": who holds which role on it." + r.help
	return []*cobra.Command{
		updateBindingCommand(a, r, access.AccessBindingAction_ADD),
		updateBindingCommand(a, r, access.AccessBindingAction_REMOVE),
		list,
	}
}

// updateBindingCommand is add-access-binding or remove-access-binding.
func updateBindingCommand[T any](a *app, r bindable[T], action access.AccessBindingAction) *cobra.Command {
	var b bindingFlags
	verb, short := "add-access-binding", "Grant a role on a "+r.what
	if action == access.AccessBindingAction_REMOVE {
		verb, short = "remove-access-binding", "Revoke a role on a "+r.what
	}
	cmd := targetCommand(a, r.what, r.find, verb, short,
		fmt.Sprintf("  warden %s %s %s --role viewer --service-account-name my-robot\n  warden %[1]s %[2]s %[3]s --role editor --subject userAccount:ajuexample0000000000\n  warden %[1]s %[2]s --id %[4]s --role viewer --all-authenticated-users --format json",
			r.command, verb, r.example, exampleID(r.what)),
		func(ctx context.Context, c *client.Client, res T) error {
			folder := ""
			if r.folder != nil {
				folder = r.folder(res)
			}
			binding, err := b.binding(ctx, a, c, folder)
			if err != nil {
				return err
			}
			id := r.id(res)
			op, err := r.service(c).UpdateAccessBindings(ctx, &access.UpdateAccessBindingsRequest{
				ResourceId:          id,
				AccessBindingDeltas: []*access.AccessBindingDelta{{Action: action, AccessBinding: binding}},
			})
			if err != nil {
				return err
			}
			result := &access.AccessBindingsOperationResult{}
			if err := c.Result(ctx, op, result); err != nil {
				return err
			}
			if a.flags.format != "text" {
				return a.printOne(result)
			}
			_, err = fmt.Fprintln(a.env.Stderr, bindingConfirmation(action, binding, r.what+" "+id, len(result.EffectiveDeltas) > 0))
			return err
		})
	cmd.Long = short + ", named by ID or by name." + bindingOutputHelp + r.help + subjectHelp
	// The subject is checked before the resource is looked up, so that a
	// mistyped command fails without a round trip.
	cmd.PreRunE = func(*cobra.Command, []string) error { return b.check() }
	b.register(cmd)
	return cmd
}

// bindingConfirmation is the text-format report of an add or remove.
func bindingConfirmation(action access.AccessBindingAction, b *access.AccessBinding, on string, changed bool) string {
	subject := b.Subject.Type + ":" + b.Subject.Id
	switch {
	case action == access.AccessBindingAction_ADD && changed:
		return fmt.Sprintf("Granted role %s to %s on %s", b.RoleId, subject, on)
	case action == access.AccessBindingAction_ADD:
		return fmt.Sprintf("%s already has role %s on %s; nothing changed", subject, b.RoleId, on)
	case changed:
		return fmt.Sprintf("Revoked role %s from %s on %s", b.RoleId, subject, on)
	}
	return fmt.Sprintf("%s has no binding of role %s on %s; nothing changed", subject, b.RoleId, on)
}

// exampleID is a made-up ID of the right shape for a kind of resource.
func exampleID(what string) string {
	switch what {
	case "cloud":
		return "b1gexample0000000000"
	case "service account":
		return "ajeexample0000000000"
	case "organization":
		return "bpfexample0000000000"
	case "group":
		return "ajgexample0000000000"
	}
	return "b1fexample0000000000"
}

// listAccessBindings fetches every binding set on a resource, page by page.
func listAccessBindings(ctx context.Context, svc accessBindings, id string) ([]*access.AccessBinding, error) {
	return listAll(ctx, 0, func(ctx context.Context, size int64, tok string) ([]*access.AccessBinding, string, error) {
		resp, err := svc.ListAccessBindings(ctx, &access.ListAccessBindingsRequest{ResourceId: id, PageSize: size, PageToken: tok})
		return resp.GetAccessBindings(), resp.GetNextPageToken(), err
	})
}

// bindingFlags are the flags naming the role and the subject of a binding.
type bindingFlags struct {
	role                  string
	subject               string
	saID, saName, userID  string
	userName              string
	groupID, groupName    string
	allAuthenticated, all bool
}

func (b *bindingFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.role, "role", "", "ID of the role to grant or revoke, e.g. viewer (required; \"warden iam role list\" shows them)")
	f.StringVar(&b.subject, "subject", "", "subject as TYPE:ID, e.g. serviceAccount:ajeexample0000000000 or system:allUsers")
	f.StringVar(&b.saID, "service-account-id", "", "subject: the service account with this ID")
	f.StringVar(&b.saName, "service-account-name", "", "subject: the service account with this name, in the selected folder")
	f.StringVar(&b.userID, "user-account-id", "", "subject: the user account with this ID")
	f.StringVar(&b.userName, "user-account-name", "", "subject: the user with this login (name@domain)")
	f.StringVar(&b.groupID, "group-id", "", "subject: the group with this ID (its members hold the role)")
	f.StringVar(&b.groupName, "group-name", "", "subject: the group with this name, in the only organization you can see")
	f.BoolVar(&b.allAuthenticated, "all-authenticated-users", false, "subject: everyone who is authenticated (system:allAuthenticatedUsers)")
	f.BoolVar(&b.all, "all-users", false, "subject: everyone, even unauthenticated callers (system:allUsers)")
}

// check says whether the flags name a role and exactly one subject.
func (b *bindingFlags) check() error {
	if b.role == "" {
		return errors.New("give the role with --role, e.g. --role viewer")
	}
	var given []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"--subject", b.subject != ""}, {"--service-account-id", b.saID != ""}, {"--service-account-name", b.saName != ""},
		{"--user-account-id", b.userID != ""}, {"--user-account-name", b.userName != ""}, {"--group-id", b.groupID != ""}, {"--group-name", b.groupName != ""},
		{"--all-authenticated-users", b.allAuthenticated}, {"--all-users", b.all},
	} {
		if f.set {
			given = append(given, f.name)
		}
	}
	switch len(given) {
	case 0:
		return errors.New("give the subject: --subject TYPE:ID, --service-account-id, --service-account-name, --user-account-id, --user-account-name, --group-id, --group-name, --all-authenticated-users or --all-users")
	case 1:
		return nil
	}
	return fmt.Errorf("give one subject, not %s", strings.Join(given, " and "))
}

// binding is the binding the flags describe, with a service account name
// resolved to its ID: in the folder of --folder-id or --folder-name when
// given, else in folder (the resource's own) when it is not empty, else in
// the selected folder.
func (b *bindingFlags) binding(ctx context.Context, a *app, c *client.Client, folder string) (*access.AccessBinding, error) {
	typ, id := "", ""
	switch {
	case b.subject != "":
		var ok bool
		typ, id, ok = strings.Cut(b.subject, ":")
		if !ok || typ == "" || id == "" {
			return nil, fmt.Errorf("--subject %q is not TYPE:ID, like serviceAccount:ajeexample0000000000 or system:allUsers", b.subject)
		}
	case b.saID != "":
		typ, id = "serviceAccount", b.saID
	case b.saName != "":
		if a.flags.folderID != "" || a.flags.folderName != "" || folder == "" {
			var err error
			if folder, err = a.folderID(ctx, c); err != nil {
				return nil, err
			}
		}
		sa, err := findServiceAccount(ctx, c, folder, b.saName)
		if err != nil {
			return nil, err
		}
		typ, id = "serviceAccount", sa.Id
	case b.userID != "":
		typ, id = "userAccount", b.userID
	case b.userName != "":
		acct, err := iam.NewYandexPassportUserAccountServiceClient(c.Conn()).GetByLogin(ctx, &iam.GetUserAccountByLoginRequest{Login: b.userName})
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", b.userName, err)
		}
		typ, id = "userAccount", acct.Id
	case b.groupID != "":
		typ, id = "group", b.groupID
	case b.groupName != "":
		g, err := (&groupCommands{a: a}).resolveGroup(ctx, c, &target{what: "group", name: b.groupName})
		if err != nil {
			return nil, err
		}
		typ, id = "group", g.Id
	case b.allAuthenticated:
		typ, id = "system", "allAuthenticatedUsers"
	case b.all:
		typ, id = "system", "allUsers"
	default:
		return nil, errors.New("no subject given")
	}
	return &access.AccessBinding{RoleId: b.role, Subject: &access.Subject{Type: typ, Id: id}}, nil
}
