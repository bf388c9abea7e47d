package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"

	"warden/api/analyzerpb"
	"warden/client"
)

func (a *app) accessAnalyzerCommand() *cobra.Command {
	return group("access-analyzer", "Show who can reach what", `
Show who can reach what, for audits: every access binding that applies to a
subject (directly, through a group, or through a system group) and every
role held on a resource (bound there or on an ancestor).`, nil,
		a.listSubjectBindingsCommand(), a.listResourceBindingsCommand())
}

var subjectBindingColumns = []column[*iam.SubjectAccessBinding]{
	{"ROLE", func(b *iam.SubjectAccessBinding) string { return b.RoleId }},
	{"RESOURCE TYPE", func(b *iam.SubjectAccessBinding) string { return b.GetResource().GetType() }},
	{"RESOURCE ID", func(b *iam.SubjectAccessBinding) string { return b.GetResource().GetId() }},
	{"BOUND TO", func(b *iam.SubjectAccessBinding) string { return b.SubjectId }},
}

// analyzedSubject names the subject of list-subject-bindings.
type analyzedSubject struct {
	id, saName, userName string
}

func (s *analyzedSubject) resolve(ctx context.Context, a *app, c *client.Client) (string, error) {
	given := 0
	for _, v := range []string{s.id, s.saName, s.userName} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return "", errors.New("give one subject: --subject-id, --service-account-name or --user-account-name")
	}
	switch {
	case s.saName != "":
		folder, err := a.folderID(ctx, c)
		if err != nil {
			return "", err
		}
		sa, err := findServiceAccount(ctx, c, folder, s.saName)
		if err != nil {
			return "", err
		}
		return sa.Id, nil
	case s.userName != "":
		acct, err := iam.NewYandexPassportUserAccountServiceClient(c.Conn()).GetByLogin(ctx, &iam.GetUserAccountByLoginRequest{Login: s.userName})
		if err != nil {
			return "", fmt.Errorf("user %q: %w", s.userName, err)
		}
		return acct.Id, nil
	}
	return s.id, nil
}

func (a *app) listSubjectBindingsCommand() *cobra.Command {
	var (
		sub   analyzedSubject
		org   string
		limit int
	)
	cmd := &cobra.Command{
		Use:     "list-subject-bindings",
		Aliases: []string{"list-subject-access-bindings"},
		Short:   "List every access binding that applies to a subject",
		Long: `List every access binding that applies to a subject within the organization:
those naming it, those naming a group it belongs to, and those naming a system
group (system:allUsers, system:allAuthenticatedUsers). BOUND TO is the subject
the binding names. Needs iam.accessAnalyzer.listSubjectAccessBindings on the
organization (role auditor).`,
		Example: `  warden iam access-analyzer list-subject-bindings --service-account-name my-robot
  warden iam access-analyzer list-subject-bindings --user-account-name alice@default --format json
  warden iam access-analyzer list-subject-bindings --subject-id ajeexample0000000000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			id, err := sub.resolve(ctx, a, c)
			if err != nil {
				return err
			}
			orgID, err := a.organizationID(ctx, c, org)
			if err != nil {
				return err
			}
			analyzer := iam.NewAccessAnalyzerServiceClient(c.Conn())
			bs, err := listAll(ctx, limit, func(ctx context.Context, size int64, tok string) ([]*iam.SubjectAccessBinding, string, error) {
				resp, err := analyzer.ListSubjectAccessBindings(ctx, &iam.ListSubjectAccessBindingsRequest{
					SubjectId: id, OrganizationId: orgID, PageSize: size, PageToken: tok,
				})
				return resp.GetSubjectAccessBindings(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, bs, subjectBindingColumns)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sub.id, "subject-id", "", "ID of the subject: a user account, service account or group")
	f.StringVar(&sub.saName, "service-account-name", "", "the service account with this name, in the selected folder")
	f.StringVar(&sub.userName, "user-account-name", "", "the user with this login (name@domain)")
	f.StringVar(&org, "organization-id", "", "organization to look in (default: the only one you can see)")
	f.IntVar(&limit, "limit", 0, "list at most this many bindings (0: all)")
	return cmd
}

var resourceBindingColumns = []column[*analyzerpb.ResourceAccessBinding]{
	{"ROLE", func(b *analyzerpb.ResourceAccessBinding) string { return b.RoleId }},
	{"SUBJECT", func(b *analyzerpb.ResourceAccessBinding) string {
		return b.GetSubject().GetType() + ":" + b.GetSubject().GetId()
	}},
	{"BOUND ON", func(b *analyzerpb.ResourceAccessBinding) string {
		return b.GetBoundOn().GetType() + ":" + b.GetBoundOn().GetId()
	}},
	{"THROUGH", func(b *analyzerpb.ResourceAccessBinding) string {
		switch {
		case b.ViaGroup != nil && b.Inherited:
			return "group " + b.ViaGroup.Id + ", inherited"
		case b.ViaGroup != nil:
			return "group " + b.ViaGroup.Id
		case b.Inherited:
			return "inherited"
		}
		return "direct"
	}},
}

func (a *app) listResourceBindingsCommand() *cobra.Command {
	var (
		expand bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "list-resource-bindings RESOURCE-ID",
		Short: "List who holds which role on a resource, and through what",
		Long: `List every role held on a resource: the bindings set on it and on each of its
ancestors (inherited), and with --expand-groups every member of a group that
holds one. Needs iam.accessAnalyzer.listResourceAccessBindings on the resource
(role auditor).`,
		Example: `  warden iam access-analyzer list-resource-bindings b1gexample0000000000
  warden iam access-analyzer list-resource-bindings b1gexample0000000000 --expand-groups --format yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			svc := analyzerpb.NewResourceAccessServiceClient(c.Conn())
			bs, err := listAll(ctx, limit, func(ctx context.Context, size int64, tok string) ([]*analyzerpb.ResourceAccessBinding, string, error) {
				resp, err := svc.ListResourceAccessBindings(ctx, &analyzerpb.ListResourceAccessBindingsRequest{
					ResourceId: args[0], ExpandGroups: expand, PageSize: size, PageToken: tok,
				})
				return resp.GetResourceAccessBindings(), resp.GetNextPageToken(), err
			})
			if err != nil {
				return err
			}
			return printList(a, bs, resourceBindingColumns)
		},
	}
	cmd.Flags().BoolVar(&expand, "expand-groups", false, "also list each member of a group that holds a role")
	cmd.Flags().IntVar(&limit, "limit", 0, "list at most this many (0: all)")
	return cmd
}
