package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
)

const openstackCLI = "/usr/bin/openstack"

// openstackEnv is the environment of the OpenStack tools for the robot by
// name in its domain, scoped to project "default", with nothing of the
// test runner's own OS_* settings or caches.
func (w *ksWorld) openstackEnv(t *testing.T, authURL string) []string {
	env := []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return append(env,
		"OS_AUTH_URL="+authURL, "OS_IDENTITY_API_VERSION=3", "OS_AUTH_TYPE=password", "OS_INTERFACE=public",
		"OS_USERNAME=robot", "OS_PASSWORD="+ksPassword, "OS_USER_DOMAIN_NAME="+w.cloudName,
		"OS_PROJECT_NAME=default", "OS_PROJECT_DOMAIN_NAME="+w.cloudName,
	)
}

// openstack runs the CLI and returns its standard output.
func runOpenstack(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openstackCLI, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// TestKeystoneOpenStackCLI: openstack token issue, project list and token
// revoke against wardend, with OS_AUTH_URL ending in /v3 and in
// /identity/v3.
func TestKeystoneOpenStackCLI(t *testing.T) {
	if _, err := os.Stat(openstackCLI); err != nil {
		t.Skipf("%s is missing (apt-get install python3-openstackclient)", openstackCLI)
	}
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	for _, suffix := range []string{"/v3", "/identity/v3"} {
		t.Run(strings.TrimPrefix(suffix, "/"), func(t *testing.T) {
			env := w.openstackEnv(t, "http://"+n.addr+suffix)
			var tok map[string]string
			if err := json.Unmarshal([]byte(runOpenstack(t, env, "token", "issue", "-f", "json")), &tok); err != nil {
				t.Fatal(err)
			}
			if tok["project_id"] != w.folderA || tok["user_id"] != w.robot || !strings.HasPrefix(tok["id"], "k1.") {
				t.Errorf("token issue: %v", tok)
			}
			var projects []map[string]string
			if err := json.Unmarshal([]byte(runOpenstack(t, env, "project", "list", "-f", "json")), &projects); err != nil {
				t.Fatal(err)
			}
			// The project token sees its own project only, though the
			// robot holds editor on the whole cloud.
			if len(projects) != 1 || projects[0]["ID"] != w.folderA || projects[0]["Name"] != "default" {
				t.Errorf("project list: %v", projects)
			}
			// The catalog as services and endpoints: Warden's identity
			// service, its three interfaces at this prefix's root.
			var services, endpoints []map[string]any
			if err := json.Unmarshal([]byte(runOpenstack(t, env, "service", "list", "-f", "json")), &services); err != nil {
				t.Fatal(err)
			}
			if len(services) != 1 || services[0]["Type"] != "identity" {
				t.Errorf("service list: %v", services)
			}
			if err := json.Unmarshal([]byte(runOpenstack(t, env, "endpoint", "list", "--interface", "public", "-f", "json")), &endpoints); err != nil {
				t.Fatal(err)
			}
			if len(endpoints) != 1 || endpoints[0]["Service Type"] != "identity" || endpoints[0]["URL"] != "http://"+n.addr+strings.TrimSuffix(suffix, "/v3") {
				t.Errorf("endpoint list --interface public: %v", endpoints)
			}
			if len(endpoints) == 1 {
				id, _ := endpoints[0]["ID"].(string)
				runOpenstack(t, env, "endpoint", "show", id, "-f", "json")
			}
			runOpenstack(t, env, "token", "revoke", tok["id"])
			keystoneError(t, "the revoked token", n.ks("GET", "/v3/auth/projects", map[string]string{"X-Auth-Token": tok["id"]}, ""), 401)
		})
	}
}

// keystoneauthScript opens a keystoneauth1 session with a password for a
// project, reads the token and lists the user's projects through the
// identity endpoint the catalog names (found by version discovery).
const keystoneauthScript = `
import json, os
from keystoneauth1 import session
from keystoneauth1.identity import v3
auth = v3.Password(auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
    password=os.environ["OS_PASSWORD"], user_domain_name=os.environ["OS_USER_DOMAIN_NAME"],
    project_name=os.environ["OS_PROJECT_NAME"], project_domain_name=os.environ["OS_PROJECT_DOMAIN_NAME"])
s = session.Session(auth=auth)
token = s.get_token()
r = s.get("/auth/projects", endpoint_filter={"service_type": "identity", "interface": "public", "version": (3, 0)})
print(json.dumps({"token": token, "project_id": s.get_project_id(), "user_id": s.get_user_id(),
    "projects": [p["id"] for p in r.json()["projects"]]}))
`

// TestKeystoneKeystoneauth: a keystoneauth1 session, as every OpenStack
// Python client opens one.
func TestKeystoneKeystoneauth(t *testing.T) {
	if out, err := exec.Command(python, "-c", "import keystoneauth1").CombinedOutput(); err != nil {
		t.Skipf("keystoneauth1 is missing (apt-get install python3-keystoneauth1): %s", out)
	}
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	for _, suffix := range []string{"/v3", "/identity/v3"} {
		t.Run(strings.TrimPrefix(suffix, "/"), func(t *testing.T) {
			cmd := exec.Command(python, "-c", keystoneauthScript)
			cmd.Env = w.openstackEnv(t, "http://"+n.addr+suffix)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("keystoneauth: %v\n%s", err, out)
			}
			var got struct {
				Token, ProjectID, UserID string
				Projects                 []string
			}
			var raw map[string]any
			if err := json.Unmarshal(out, &raw); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got.Token, got.ProjectID, got.UserID = str(raw, "token"), str(raw, "project_id"), str(raw, "user_id")
			for _, p := range raw["projects"].([]any) {
				got.Projects = append(got.Projects, p.(string))
			}
			if !strings.HasPrefix(got.Token, "k1.") || got.ProjectID != w.folderA || got.UserID != w.robot || len(got.Projects) != 2 {
				t.Errorf("keystoneauth session: %s", out)
			}
		})
	}
}

// TestKeystoneGophercloud: gophercloud v2 authenticates, validates with
// HEAD (tokens.Validate) and revokes (tokens.Revoke).
func TestKeystoneGophercloud(t *testing.T) {
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, suffix := range []string{"/v3", "/identity/v3"} {
		t.Run(strings.TrimPrefix(suffix, "/"), func(t *testing.T) {
			provider, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
				IdentityEndpoint: "http://" + n.addr + suffix, Username: "robot", Password: ksPassword, DomainName: w.cloudName,
				Scope: &gophercloud.AuthScope{ProjectName: "default", DomainName: w.cloudName},
			})
			if err != nil {
				t.Fatalf("authenticate: %v", err)
			}
			client, err := openstack.NewIdentityV3(provider, gophercloud.EndpointOpts{})
			if err != nil {
				t.Fatal(err)
			}
			tok := provider.Token()
			if ok, err := tokens.Validate(ctx, client, tok); err != nil || !ok {
				t.Fatalf("validate: %v, %v", ok, err)
			}
			user, err := tokens.Get(ctx, client, tok).ExtractUser()
			if err != nil || user.ID != w.robot {
				t.Errorf("get: %+v, %v", user, err)
			}
			// Revoke the token with another one: the provider's own would
			// be refused once revoked.
			other, err := tokens.Create(ctx, client, &tokens.AuthOptions{
				UserID: w.robot, Password: ksPassword, Scope: tokens.Scope{DomainID: w.cloud},
			}).ExtractToken()
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if err := tokens.Revoke(ctx, client, other.ID).Err; err != nil {
				t.Fatalf("revoke: %v", err)
			}
			if ok, err := tokens.Validate(ctx, client, other.ID); err != nil || ok {
				t.Errorf("validate the revoked token: %v, %v; want false, nil", ok, err)
			}
		})
	}
}
