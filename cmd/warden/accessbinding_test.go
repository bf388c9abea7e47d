package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/access"
	iam "github.com/yandex-cloud/go-genproto/yandex/cloud/iam/v1"
	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc"

	"warden/client"
)

// binding is one access binding as the CLI prints it.
type binding struct{ role, subjectType, subjectID string }

func (b binding) String() string { return b.role + "@" + b.subjectType + ":" + b.subjectID }

// listBindings runs list-access-bindings on the resource called name in the
// command group and returns the bindings it printed in format.
func listBindings(t *testing.T, c *cli, format, name string, group ...string) []binding {
	t.Helper()
	out := c.ok(append(append([]string{}, group...), "list-access-bindings", name, "--format", format)...)
	if format == "text" {
		var bs []binding
		for _, r := range parseTable(t, out) {
			bs = append(bs, binding{r["ROLE ID"], r["SUBJECT TYPE"], r["SUBJECT ID"]})
		}
		return bs
	}
	var list []struct {
		RoleID  string `json:"role_id" yaml:"role_id"`
		Subject struct {
			Type string `json:"type" yaml:"type"`
			ID   string `json:"id" yaml:"id"`
		} `json:"subject" yaml:"subject"`
	}
	decode(t, format, out, &list)
	var bs []binding
	for _, b := range list {
		bs = append(bs, binding{b.RoleID, b.Subject.Type, b.Subject.ID})
	}
	return bs
}

func hasBinding(bs []binding, b binding) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

// deltas parses the AccessBindingsOperationResult printed in json or yaml.
func deltas(t *testing.T, format, out string) []string {
	t.Helper()
	var res struct {
		EffectiveDeltas []struct {
			Action        string `json:"action" yaml:"action"`
			AccessBinding struct {
				RoleID  string `json:"role_id" yaml:"role_id"`
				Subject struct {
					Type string `json:"type" yaml:"type"`
					ID   string `json:"id" yaml:"id"`
				} `json:"subject" yaml:"subject"`
			} `json:"access_binding" yaml:"access_binding"`
		} `json:"effective_deltas" yaml:"effective_deltas"`
	}
	decode(t, format, out, &res)
	var got []string
	for _, d := range res.EffectiveDeltas {
		b := d.AccessBinding
		got = append(got, d.Action+" "+binding{b.RoleID, b.Subject.Type, b.Subject.ID}.String())
	}
	return got
}

func TestAccessBindingsOnEachResource(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var sa map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "robot", "--format", "json"), &sa)
	robot := binding{"viewer", "serviceAccount", sa["id"].(string)}

	for _, r := range []struct {
		name     string
		resource []string // the command group and the resource's name
	}{
		{"folder", []string{"resource-manager", "folder", "default"}},
		{"cloud", []string{"resource-manager", "cloud", "default"}},
		{"service account", []string{"iam", "service-account", "robot"}},
		{"organization", []string{"organization-manager", "organization", "default"}},
	} {
		for _, format := range []string{"json", "yaml", "text"} {
			t.Run(r.name+"/"+format, func(t *testing.T) {
				// The verb goes between the group and the resource's name.
				group, name := r.resource[:len(r.resource)-1], r.resource[len(r.resource)-1]
				cmd := func(verb string, args ...string) []string {
					return append(append(append(append([]string{}, group...), verb, name), args...), "--format", format)
				}
				res := c.run(cmd("add-access-binding", "--role", "viewer", "--service-account-name", "robot")...)
				if res.code != 0 {
					t.Fatalf("add: exit %d: %s", res.code, res.stderr)
				}
				checkChange(t, format, res, "ADD "+robot.String(), "Granted role viewer to serviceAccount:"+robot.subjectID)

				if got := listBindings(t, c, format, name, group...); !hasBinding(got, robot) {
					t.Errorf("after add: bindings = %v, want %v among them", got, robot)
				}
				// Adding again changes nothing, and says so.
				again := c.run(cmd("add-access-binding", "--role", "viewer", "--subject", "serviceAccount:"+robot.subjectID)...)
				checkChange(t, format, again, "", "already has role viewer")

				res = c.run(cmd("remove-access-binding", "--role", "viewer", "--service-account-id", robot.subjectID)...)
				checkChange(t, format, res, "REMOVE "+robot.String(), "Revoked role viewer from serviceAccount:"+robot.subjectID)
				if got := listBindings(t, c, format, name, group...); hasBinding(got, robot) {
					t.Errorf("after remove: bindings = %v, want no %v", got, robot)
				}
			})
		}
	}

	t.Run("organization holds the bootstrap admin", func(t *testing.T) {
		got := listBindings(t, c, "json", "default", "organization-manager", "organization")
		if want := (binding{"admin", "userAccount", w.adminID}); !hasBinding(got, want) {
			t.Errorf("organization bindings = %v, want %v", got, want)
		}
	})
}

// checkChange checks the output of add or remove: the effective delta in
// json and yaml (none when wantDelta is empty), a line on stderr in text.
func checkChange(t *testing.T, format string, res result, wantDelta, wantLine string) {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if format == "text" {
		if res.stdout != "" || !strings.Contains(res.stderr, wantLine) || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("stdout %q, stderr %q; want one line containing %q on stderr", res.stdout, res.stderr, wantLine)
		}
		return
	}
	var want []string
	if wantDelta != "" {
		want = []string{wantDelta}
	}
	if diff := cmp.Diff(want, deltas(t, format, res.stdout)); diff != "" {
		t.Errorf("effective deltas (-want +got):\n%s", diff)
	}
}

func TestAccessBindingSubjects(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var f map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "create", "apps", "--format", "json"), &f)
	var sa map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "worker", "--folder-name", "apps", "--format", "json"), &sa)
	worker := sa["id"].(string)

	for _, tc := range []struct {
		name string
		args []string
		want binding
	}{
		{"subject service account", []string{"--subject", "serviceAccount:" + worker}, binding{"editor", "serviceAccount", worker}},
		{"subject user account", []string{"--subject", "userAccount:" + w.adminID}, binding{"editor", "userAccount", w.adminID}},
		{"subject system", []string{"--subject", "system:allUsers"}, binding{"editor", "system", "allUsers"}},
		{"service account id", []string{"--service-account-id", worker}, binding{"editor", "serviceAccount", worker}},
		// The name is looked up in the folder of --folder-name, not in the
		// folder the binding is on.
		{"service account name", []string{"--service-account-name", "worker", "--folder-name", "apps"}, binding{"editor", "serviceAccount", worker}},
		{"user account id", []string{"--user-account-id", w.adminID}, binding{"editor", "userAccount", w.adminID}},
		{"all authenticated users", []string{"--all-authenticated-users"}, binding{"editor", "system", "allAuthenticatedUsers"}},
		{"all users", []string{"--all-users"}, binding{"editor", "system", "allUsers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := c.ok(append([]string{"resource-manager", "folder", "add-access-binding", "default", "--role", "editor", "--format", "json"}, tc.args...)...)
			if got, want := deltas(t, "json", out), []string{"ADD " + tc.want.String()}; !cmp.Equal(got, want) {
				t.Errorf("deltas = %v, want %v", got, want)
			}
			if got := listBindings(t, c, "json", "default", "resource-manager", "folder"); !hasBinding(got, tc.want) {
				t.Errorf("bindings = %v, want %v among them", got, tc.want)
			}
			c.ok(append([]string{"resource-manager", "folder", "remove-access-binding", "default", "--role", "editor"}, tc.args...)...)
			if got := listBindings(t, c, "json", "default", "resource-manager", "folder"); hasBinding(got, tc.want) {
				t.Errorf("after remove: bindings = %v", got)
			}
		})
	}
}

func TestAccessBindingErrors(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	add := []string{"resource-manager", "folder", "add-access-binding", "default"}
	// A binding already there must not confuse the messages about the new one.
	c.ok(append(add, "--role", "viewer", "--all-authenticated-users")...)
	for _, tc := range []struct {
		name string
		args []string
		want string // a part of the message
	}{
		{"unknown role", []string{"--role", "no-such-role", "--all-users"}, `role "no-such-role" does not exist`},
		{"no subject", []string{"--role", "viewer"}, "give the subject: --subject TYPE:ID, --service-account-id, --service-account-name, --user-account-id, --user-account-name, --group-id, --group-name, --all-authenticated-users or --all-users"},
		{"empty subject", []string{"--role", "viewer", "--subject", ""}, "give the subject: "},
		{"two subjects", []string{"--role", "viewer", "--all-users", "--user-account-id", w.adminID}, "give one subject, not --user-account-id and --all-users"},
		{"no role", []string{"--all-users"}, "give the role with --role"},
		{"malformed subject", []string{"--role", "viewer", "--subject", "allUsers"}, `--subject "allUsers" is not TYPE:ID`},
		{"unknown subject type", []string{"--role", "viewer", "--subject", "robot:x"}, "subject.type: must be"},
		{"no such service account", []string{"--role", "viewer", "--service-account-id", "ajenosuchaccount0000"}, "serviceAccount ajenosuchaccount0000 does not exist"},
		{"no such service account name", []string{"--role", "viewer", "--service-account-name", "nope"}, `service account "nope" not found in folder b1f`},
		{"unknown flag", []string{"--role", "viewer", "--federated-user-id", "x"}, "unknown flag: --federated-user-id"},
		{"no such group", []string{"--role", "viewer", "--group-id", "ajgnosuchgroup000000"}, "group ajgnosuchgroup000000 does not exist"},
		{"no such group name", []string{"--role", "viewer", "--group-name", "nope"}, `group "nope" not found in organization bpf`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := c.fail(append(append([]string{}, add...), tc.args...)...); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q, want it to contain %q", msg, tc.want)
			}
		})
	}
	if msg := c.fail("resource-manager", "folder", "list-access-bindings", "nope"); !strings.HasPrefix(msg, `folder "nope" not found`) {
		t.Errorf("unknown folder: %q", msg)
	}
	if msg := c.fail("organization-manager", "organization", "remove-access-binding", "--role", "viewer", "--all-users"); !strings.HasPrefix(msg, "name the organization") {
		t.Errorf("no organization: %q", msg)
	}
}

// TestPermissionsThroughCLI checks that wardend enforces what the binding
// commands grant: a service account sees nothing until it holds viewer.
func TestPermissionsThroughCLI(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	var f map[string]any
	decode(t, "json", c.ok("resource-manager", "folder", "get", "default", "--format", "json"), &f)
	folder := f["id"].(string)
	var sa map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "robot", "--format", "json"), &sa)

	admin, err := client.Dial(context.Background(), client.Config{Endpoint: w.addr, OAuthToken: w.adminToken(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	tok, err := admin.IamTokens.CreateForServiceAccount(context.Background(), &iam.CreateIamTokenForServiceAccountRequest{ServiceAccountId: sa["id"].(string)})
	if err != nil {
		t.Fatalf("token for the service account: %v", err)
	}

	asRobot := []string{"--iam-token", tok.IamToken, "iam", "service-account", "list", "--folder-id", folder, "--format", "json"}
	if msg := c.fail(asRobot...); !strings.HasPrefix(msg, "permission denied") || !strings.Contains(msg, "iam.serviceAccounts.list") {
		t.Errorf("without a binding: %q, want permission denied for iam.serviceAccounts.list", msg)
	}
	c.ok("resource-manager", "folder", "add-access-binding", "default", "--role", "viewer", "--service-account-name", "robot")
	var list []map[string]any
	decode(t, "json", c.ok(asRobot...), &list)
	if got := names(list); !contains(got, "robot") {
		t.Errorf("with viewer: service accounts = %v, want robot", got)
	}
	// viewer does not allow changes.
	if msg := c.fail("--iam-token", tok.IamToken, "iam", "service-account", "create", "other", "--folder-id", folder); !strings.Contains(strings.ToLower(msg), "permission") {
		t.Errorf("create as viewer: %q, want permission denied", msg)
	}
	c.ok("resource-manager", "folder", "remove-access-binding", "default", "--role", "viewer", "--service-account-name", "robot")
	if msg := c.fail(asRobot...); !strings.Contains(strings.ToLower(msg), "permission") {
		t.Errorf("after remove: %q, want permission denied", msg)
	}
}

// pagedBindings serves ListAccessBindings in pages of two.
type pagedBindings struct {
	all   []*access.AccessBinding
	calls int
}

func (p *pagedBindings) ListAccessBindings(_ context.Context, in *access.ListAccessBindingsRequest, _ ...grpc.CallOption) (*access.ListAccessBindingsResponse, error) {
	p.calls++
	start := 0
	if in.PageToken != "" {
		start, _ = strconv.Atoi(in.PageToken)
	}
	end := min(start+2, len(p.all))
	resp := &access.ListAccessBindingsResponse{AccessBindings: p.all[start:end]}
	if end < len(p.all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

func (p *pagedBindings) UpdateAccessBindings(context.Context, *access.UpdateAccessBindingsRequest, ...grpc.CallOption) (*operation.Operation, error) {
	panic("not called")
}

func TestListAccessBindingsFollowsPages(t *testing.T) {
	p := &pagedBindings{}
	for i := range 5 {
		p.all = append(p.all, &access.AccessBinding{RoleId: "viewer", Subject: &access.Subject{Type: "serviceAccount", Id: fmt.Sprint("sa", i)}})
	}
	got, err := listAccessBindings(context.Background(), p, "b1fexample0000000000")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || p.calls != 3 {
		t.Errorf("got %d bindings in %d calls, want 5 in 3", len(got), p.calls)
	}
}

// A service account name given to add-access-binding on a folder is looked
// up in that folder, not in the default one: an account of the same name in
// the default folder must not receive the role.
func TestAccessBindingServiceAccountNameInTargetFolder(t *testing.T) {
	w := startServer(t)
	c := loggedIn(t, w)
	c.ok("resource-manager", "folder", "create", "team-a")
	var inDefault, inTeam map[string]any
	decode(t, "json", c.ok("iam", "service-account", "create", "my-robot", "--format", "json"), &inDefault)
	decode(t, "json", c.ok("iam", "service-account", "create", "my-robot", "--folder-name", "team-a", "--format", "json"), &inTeam)

	c.ok("resource-manager", "folder", "add-access-binding", "team-a", "--role", "viewer", "--service-account-name", "my-robot")
	got := listBindings(t, c, "json", "team-a", "resource-manager", "folder")
	if want := (binding{"viewer", "serviceAccount", inTeam["id"].(string)}); !hasBinding(got, want) {
		t.Errorf("bindings on team-a = %v, want %v among them", got, want)
	}
	if other := (binding{"viewer", "serviceAccount", inDefault["id"].(string)}); hasBinding(got, other) {
		t.Errorf("bindings on team-a = %v: the default folder's my-robot was bound", got)
	}

	// On a service account, the name is looked up in its own folder.
	c.ok("iam", "service-account", "add-access-binding", inTeam["id"].(string), "--role", "editor", "--service-account-name", "my-robot")
	got = listBindings(t, c, "json", inTeam["id"].(string), "iam", "service-account")
	if want := (binding{"editor", "serviceAccount", inTeam["id"].(string)}); !hasBinding(got, want) {
		t.Errorf("bindings on the service account = %v, want %v among them", got, want)
	}
}
