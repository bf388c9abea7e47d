package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	om "github.com/yandex-cloud/go-genproto/yandex/cloud/organizationmanager/v1"

	"warden/client"
)

var groupColumns = []column[*om.Group]{
	{"ID", func(g *om.Group) string { return g.Id }},
	{"NAME", func(g *om.Group) string { return g.Name }},
	{"DESCRIPTION", func(g *om.Group) string { return g.Description }},
	{"LABELS", func(g *om.Group) string { return formatLabels(g.Labels) }},
}

var groupMemberColumns = []column[*om.GroupMember]{
	{"SUBJECT ID", func(m *om.GroupMember) string { return m.SubjectId }},
	{"SUBJECT TYPE", func(m *om.GroupMember) string { return m.SubjectType }},
}

func groups(c *client.Client) om.GroupServiceClient { return om.NewGroupServiceClient(c.Conn()) }

const groupOrgHelp = `

Names are looked up in the organization of --organization-id, else the only
organization you can see.`

// groupCommands holds what the group commands share: the organization a
// name is looked up in.
type groupCommands struct {
	a   *app
	org string
}

// resolveGroup resolves a group named by ID, or by name in the organization.
func (g *groupCommands) resolveGroup(ctx context.Context, c *client.Client, t *target) (*om.Group, error) {
	return resolve(ctx, t,
		func(ctx context.Context, id string) (*om.Group, error) {
			return groups(c).Get(ctx, &om.GetGroupRequest{GroupId: id})
		},
		func(ctx context.Context, name string) (*om.Group, error) {
			org, err := g.a.organizationID(ctx, c, g.org)
			if err != nil {
				return nil, err
			}
			f, err := nameFilter(name)
			if err != nil {
				return nil, err
			}
			resp, err := groups(c).List(ctx, &om.ListGroupsRequest{OrganizationId: org, Filter: f, PageSize: pageSize})
			if err != nil {
				return nil, err
			}
			return exactlyOne(resp.Groups, "group", name, " in organization "+org)
		})
}

// memberFlags name the subjects of add-members and remove-members.
type memberFlags struct {
	ids, logins, saNames []string
}

func (m *memberFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVar(&m.ids, "subject-id", nil, "ID of a user or service account (repeat, or separate with commas)")
	f.StringSliceVar(&m.logins, "user-account-name", nil, "login of a user, name@domain (repeat, or separate with commas)")
	f.StringSliceVar(&m.saNames, "service-account-name", nil, "name of a service account in the selected folder (repeat, or separate with commas)")
}

// subjects resolves the flags to subject IDs, in the order given.
func (m *memberFlags) subjects(ctx context.Context, a *app, c *client.Client) ([]string, error) {
	if len(m.ids)+len(m.logins)+len(m.saNames) == 0 {
		return nil, errors.New("name the members: --subject-id, --user-account-name or --service-account-name")
	}
	out := append([]string(nil), m.ids...)
	for _, login := range m.logins {
		acct, err := iam.NewYandexPassportUserAccountServiceClient(c.Conn()).GetByLogin(ctx, &iam.GetUserAccountByLoginRequest{Login: login})
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", login, err)
		}
		out = append(out, acct.Id)
	}
	if len(m.saNames) > 0 {
		folder, err := a.folderID(ctx, c)
		if err != nil {
			return nil, err
		}
		for _, name := range m.saNames {
			sa, err := findServiceAccount(ctx, c, folder, name)
			if err != nil {
				return nil, err
			}
			out = append(out, sa.Id)
		}
	}
	return out, nil
}

func (a *app) groupCommand() *cobra.Command {
	g := &groupCommands{a: a}
	one := func(verb, short, example string, do func(context.Context, *client.Client, *om.Group) error) *cobra.Command {
		cmd := targetCommand(a, "group", g.resolveGroup, verb, short, example, do)
		cmd.Long = short + ", named by ID or by name." + groupOrgHelp
		return cmd
	}

	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List the groups of an organization",
		Long:  "List the groups of an organization." + groupOrgHelp,
		Example: `  warden organization-manager group list
  warden organization-manager group list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			org, err := a.organizationID(cmd.Context(), c, g.org)
			if err != nil {
				return err
			}
			gs, err := listAll(cmd.Context(), limit, func(ctx context.Context, size int64, tok string) ([]*om.Group, string, error) {
				resp, err := groups(c).List(ctx, &om.ListGroupsRequest{OrganizationId: org, PageSize: size, PageToken: tok})
				return resp.GetGroups(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, gs, groupColumns)
		},
	}
	list.Flags().IntVar(&limit, "limit", 0, "list at most this many groups (0: all)")

	get := one("get", "Show a group", `  warden organization-manager group get team-a
  warden organization-manager group get --id ajgexample0000000000 --format yaml`,
		func(ctx context.Context, c *client.Client, gr *om.Group) error { return a.printOne(gr) })

	var cm, um mutation
	create := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create a group",
		Long: `Create a group in an organization. Bind roles to it (add-access-binding
... --group-name NAME on a folder, cloud or organization) and add users and
service accounts to it (add-members): each member holds what the group is
bound. A group cannot be a member of a group.` + groupOrgHelp,
		Example: `  warden organization-manager group create team-a --description "Team A"
  warden organization-manager group create --name ops --labels team=ops --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cm.takeName(args); err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			org, err := a.organizationID(cmd.Context(), c, g.org)
			if err != nil {
				return err
			}
			op, err := groups(c).Create(cmd.Context(), &om.CreateGroupRequest{OrganizationId: org, Name: cm.name, Description: cm.description, Labels: cm.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(cmd.Context(), c, op, &om.Group{})
		},
	}
	cm.createFlags(create, "group")

	update := one("update", "Change a group's name, description or labels", `  warden organization-manager group update team-a --new-name team-alpha
  warden organization-manager group update team-a --description ""`,
		func(ctx context.Context, c *client.Client, gr *om.Group) error {
			mask, err := um.mask()
			if err != nil {
				return err
			}
			op, err := groups(c).Update(ctx, &om.UpdateGroupRequest{GroupId: gr.Id, UpdateMask: mask, Name: um.name, Description: um.description, Labels: um.labels.m})
			if err != nil {
				return err
			}
			return a.printResult(ctx, c, op, &om.Group{})
		})
	um.updateFlags(update)

	del := one("delete", "Delete a group: its members lose what it was bound, everywhere", `  warden organization-manager group delete team-a`,
		func(ctx context.Context, c *client.Client, gr *om.Group) error {
			op, err := groups(c).Delete(ctx, &om.DeleteGroupRequest{GroupId: gr.Id})
			if err != nil {
				return err
			}
			if _, err := c.Wait(ctx, op); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stderr, "Group %s (%s) deleted\n", gr.Name, gr.Id)
			return nil
		})

	listMembers := one("list-members", "List the members of a group", `  warden organization-manager group list-members team-a
  warden organization-manager group list-members team-a --format json`,
		func(ctx context.Context, c *client.Client, gr *om.Group) error {
			ms, err := listAll(ctx, 0, func(ctx context.Context, size int64, tok string) ([]*om.GroupMember, string, error) {
				resp, err := groups(c).ListMembers(ctx, &om.ListGroupMembersRequest{GroupId: gr.Id, PageSize: size, PageToken: tok})
				return resp.GetMembers(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, ms, groupMemberColumns)
		})

	return group("group", "Manage groups", `
Manage groups of users and service accounts, subjects of access bindings
whose members hold what the group is bound. Commands that act on one group
take its ID or name as an argument, or --id or --name.`+groupOrgHelp,
		[]string{"groups"}, g.withOrg(list, get, create, update, del,
			g.membersCommand(om.MemberDelta_ADD), g.membersCommand(om.MemberDelta_REMOVE), listMembers)...)
}

// withOrg gives each command the --organization-id flag names are looked up in.
func (g *groupCommands) withOrg(cmds ...*cobra.Command) []*cobra.Command {
	for _, cmd := range cmds {
		cmd.Flags().StringVar(&g.org, "organization-id", "", "organization of the group (default: the only one you can see)")
	}
	bindings := accessBindingCommands(g.a, bindable[*om.Group]{
		what: "group", command: "organization-manager group", example: "team-a", help: groupOrgHelp,
		find:    g.resolveGroup,
		id:      func(gr *om.Group) string { return gr.Id },
		service: func(c *client.Client) accessBindings { return groups(c) },
	})
	for _, cmd := range bindings {
		cmd.Long = strings.Replace(cmd.Long, "on a group,", "on a group (who may manage it; not what its members hold),", 1)
		cmd.Flags().StringVar(&g.org, "organization-id", "", "organization of the group (default: the only one you can see)")
	}
	return append(cmds, bindings...)
}

// membersCommand is add-members or remove-members.
func (g *groupCommands) membersCommand(action om.MemberDelta_MemberAction) *cobra.Command {
	var m memberFlags
	verb, short, past := "add-members", "Add users and service accounts to a group", "Added to"
	if action == om.MemberDelta_REMOVE {
		verb, short, past = "remove-members", "Remove members from a group", "Removed from"
	}
	cmd := targetCommand(g.a, "group", g.resolveGroup, verb, short,
		fmt.Sprintf(`  warden organization-manager group %s team-a --user-account-name alice@default
  warden organization-manager group %[1]s team-a --service-account-name my-robot --subject-id ajuexample0000000000`, verb),
		func(ctx context.Context, c *client.Client, gr *om.Group) error {
			ids, err := m.subjects(ctx, g.a, c)
			if err != nil {
				return err
			}
			var deltas []*om.MemberDelta
			for _, id := range ids {
				deltas = append(deltas, &om.MemberDelta{Action: action, SubjectId: id})
			}
			op, err := groups(c).UpdateMembers(ctx, &om.UpdateGroupMembersRequest{GroupId: gr.Id, MemberDeltas: deltas})
			if err != nil {
				return err
			}
			if _, err := c.Wait(ctx, op); err != nil {
				return err
			}
			fmt.Fprintf(g.a.env.Stderr, "%s group %s: %s\n", past, gr.Name, strings.Join(ids, ", "))
			return nil
		})
	cmd.Long = short + `.

The group is named by ID or by name; each member by --subject-id,
--user-account-name (a login) or --service-account-name (in the folder of
--folder-id or --folder-name, else the selected folder). Adding a member
hands it all the group holds: you must hold it too.` + groupOrgHelp
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if len(m.ids)+len(m.logins)+len(m.saNames) == 0 {
			return errors.New("name the members: --subject-id, --user-account-name or --service-account-name")
		}
		return nil
	}
	m.register(cmd)
	return cmd
}
