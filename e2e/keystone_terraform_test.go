package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The Terraform OpenStack provider against wardend's Keystone: terraform
// init, apply, output and destroy with the provider's identity data
// sources, and a wrong password. Terraform reaches no registry: the
// provider, built from its Go module by .ci/run, is installed from a
// filesystem mirror laid out by the test.

// terraformEnv names the provider binary the test installs:
// terraform-provider-openstack v3.4.0 as `go install` builds it. Unset,
// the test looks where .ci/run builds it (terraformProviderBuilt).
const terraformEnv = "WARDEN_TEST_TF_PROVIDER"

// terraformProviderBuilt is where .ci/run builds the provider, from the
// e2e directory.
const terraformProviderBuilt = "../.ci/cache/terraform-provider-openstack-v" + terraformProviderVersion + "/terraform-provider-openstack"

const (
	terraformProviderSource  = "registry.terraform.io/terraform-provider-openstack/openstack"
	terraformProviderVersion = "3.4.0"
)

// terraformConfig reads the robot's token scope, its project by name, a
// role and the robot itself, through a provider scoped to project
// "default"; a second provider, scoped to the domain (Selectel's account
// token), reads its own scope. The two log in at once: on two busy cores
// the second can find wardend's one password-hashing slot taken past its
// wait and be answered 429 with Retry-After, which max_retries makes the
// provider honour (it gives up on the first 429 otherwise).
const terraformConfig = `
terraform {
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "` + terraformProviderVersion + `"
    }
  }
}

variable "auth_url" { type = string }
variable "domain" { type = string }
variable "password" {
  type      = string
  sensitive = true
}

provider "openstack" {
  auth_url            = var.auth_url
  user_name           = "robot"
  password            = var.password
  user_domain_name    = var.domain
  tenant_name         = "default"
  project_domain_name = var.domain
  max_retries         = 5
}

provider "openstack" {
  alias            = "account"
  auth_url         = var.auth_url
  user_name        = "robot"
  password         = var.password
  user_domain_name = var.domain
  domain_name      = var.domain
  max_retries      = 5
}

data "openstack_identity_auth_scope_v3" "project" { name = "project" }

data "openstack_identity_auth_scope_v3" "account" {
  provider = openstack.account
  name     = "account"
}

data "openstack_identity_project_v3" "default" { name = "default" }

data "openstack_identity_role_v3" "editor" { name = "editor" }

data "openstack_identity_user_v3" "robot" { name = "robot" }

output "scope" {
  value = {
    user_id           = data.openstack_identity_auth_scope_v3.project.user_id
    user_name         = data.openstack_identity_auth_scope_v3.project.user_name
    user_domain_id    = data.openstack_identity_auth_scope_v3.project.user_domain_id
    project_id        = data.openstack_identity_auth_scope_v3.project.project_id
    project_name      = data.openstack_identity_auth_scope_v3.project.project_name
    project_domain_id = data.openstack_identity_auth_scope_v3.project.project_domain_id
    domain_id         = data.openstack_identity_auth_scope_v3.project.domain_id
    roles             = [for r in data.openstack_identity_auth_scope_v3.project.roles : r.role_name]
    identity_urls     = flatten([for s in data.openstack_identity_auth_scope_v3.project.service_catalog : [for e in s.endpoints : e.url] if s.type == "identity"])
  }
}

output "account" {
  value = {
    domain_id   = data.openstack_identity_auth_scope_v3.account.domain_id
    domain_name = data.openstack_identity_auth_scope_v3.account.domain_name
    project_id  = data.openstack_identity_auth_scope_v3.account.project_id
  }
}

output "project" {
  value = {
    id        = data.openstack_identity_project_v3.default.id
    domain_id = data.openstack_identity_project_v3.default.domain_id
    enabled   = data.openstack_identity_project_v3.default.enabled
  }
}

output "role_id" { value = data.openstack_identity_role_v3.editor.id }

output "user" {
  value = {
    id        = data.openstack_identity_user_v3.robot.id
    domain_id = data.openstack_identity_user_v3.robot.domain_id
    enabled   = data.openstack_identity_user_v3.robot.enabled
  }
}
`

// terraformTools returns terraform and the provider binary, skipping the
// test with what to do when either is missing.
func terraformTools(t *testing.T) (cli, provider string) {
	t.Helper()
	terraformCLI, err := exec.LookPath("terraform")
	if err != nil {
		t.Skipf("terraform is not on PATH: the Terraform test needs Terraform 1.x (%v)", err)
	}
	provider = os.Getenv(terraformEnv)
	if provider == "" {
		abs, err := filepath.Abs(terraformProviderBuilt)
		if _, statErr := os.Stat(abs); err != nil || statErr != nil {
			t.Skipf("%s is unset and %s is missing: build the provider as .ci/run does "+
				"(cd / && GOBIN=<dir> go install github.com/terraform-provider-openstack/terraform-provider-openstack/v3@v%s) and set %s to the binary",
				terraformEnv, terraformProviderBuilt, terraformProviderVersion, terraformEnv)
		}
		provider = abs
	}
	if _, err := os.Stat(provider); err != nil {
		t.Fatalf("%s=%s: %v", terraformEnv, provider, err)
	}
	return terraformCLI, provider
}

// terraformWorkspace lays out a working directory with the configuration,
// a CLI configuration that installs the provider from a filesystem mirror
// holding only the given binary (and from nowhere else), and returns the
// directory and the environment for terraform.
func terraformWorkspace(t *testing.T, provider, config string) (dir string, env []string) {
	t.Helper()
	root := t.TempDir()
	mirror := filepath.Join(root, "mirror")
	pkg := filepath.Join(mirror, terraformProviderSource, terraformProviderVersion, "linux_amd64")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(provider, filepath.Join(pkg, "terraform-provider-openstack_v"+terraformProviderVersion)); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(root, "terraformrc")
	cliConfig := `disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "` + mirror + `"
    include = ["` + terraformProviderSource + `"]
  }
}
`
	dir = filepath.Join(root, "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{rc: cliConfig, filepath.Join(dir, "main.tf"): config} {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing of the runner's own OS_* settings, clouds.yaml or plugin
	// cache reaches terraform or the provider.
	env = []string{"HOME=" + root, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TF_CLI_CONFIG_FILE=" + rc,
		"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1"}
	return dir, env
}

// terraform runs a terraform command in dir and returns its standard
// output and error, and whether it succeeded.
func terraform(t *testing.T, cli, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, args...)
	cmd.Dir, cmd.Env = dir, env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// mustTerraform is terraform failing the test when the command fails.
func mustTerraform(t *testing.T, cli, dir string, env []string, args ...string) string {
	t.Helper()
	out, errOut, err := terraform(t, cli, dir, env, args...)
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// TestKeystoneTerraform: the Terraform OpenStack provider, unchanged,
// authenticates to wardend with a password (project and domain scope) and
// reads the token's scope, roles and catalog, the project by name, a role
// and the user; a wrong password fails cleanly; destroy succeeds.
func TestKeystoneTerraform(t *testing.T) {
	cli, provider := terraformTools(t)
	n := start(t, t.TempDir(), "")
	w := newKSWorld(t, n)
	dir, env := terraformWorkspace(t, provider, terraformConfig)
	vars := []string{"-var", "auth_url=http://" + n.addr + "/identity/v3", "-var", "domain=" + w.cloudName}

	mustTerraform(t, cli, dir, env, "init", "-no-color")
	mustTerraform(t, cli, dir, env, append([]string{"apply", "-auto-approve", "-no-color", "-var", "password=" + ksPassword}, vars...)...)

	var outputs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(mustTerraform(t, cli, dir, env, "output", "-json")), &outputs); err != nil {
		t.Fatal(err)
	}
	value := func(name string, into any) {
		t.Helper()
		if err := json.Unmarshal(outputs[name].Value, into); err != nil {
			t.Fatalf("output %s: %v (%s)", name, err, outputs[name].Value)
		}
	}
	var scope struct {
		UserID, UserName, UserDomainID, ProjectID, ProjectName, ProjectDomainID, DomainID string
		Roles, IdentityURLs                                                               []string
	}
	var scopeRaw map[string]json.RawMessage
	value("scope", &scopeRaw)
	for k, into := range map[string]any{"user_id": &scope.UserID, "user_name": &scope.UserName, "user_domain_id": &scope.UserDomainID,
		"project_id": &scope.ProjectID, "project_name": &scope.ProjectName, "project_domain_id": &scope.ProjectDomainID,
		"domain_id": &scope.DomainID, "roles": &scope.Roles, "identity_urls": &scope.IdentityURLs} {
		if err := json.Unmarshal(scopeRaw[k], into); err != nil {
			t.Fatalf("output scope.%s: %v (%s)", k, err, outputs["scope"].Value)
		}
	}
	// The project token: the robot in its domain, on folder A, with the
	// editor role it holds on the cloud, and no domain scope of its own.
	if scope.UserID != w.robot || scope.UserName != "robot" || scope.UserDomainID != w.cloud ||
		scope.ProjectID != w.folderA || scope.ProjectName != "default" || scope.ProjectDomainID != w.cloud || scope.DomainID != "" {
		t.Errorf("auth scope (project): %s", outputs["scope"].Value)
	}
	if !slices.Contains(scope.Roles, "editor") {
		t.Errorf("auth scope roles: %v, want editor among them", scope.Roles)
	}
	if !slices.Contains(scope.IdentityURLs, "http://"+n.addr+"/identity") {
		t.Errorf("catalog identity endpoints: %v, want http://%s/identity", scope.IdentityURLs, n.addr)
	}

	var account map[string]string
	value("account", &account)
	if account["domain_id"] != w.cloud || account["domain_name"] != w.cloudName || account["project_id"] != "" {
		t.Errorf("auth scope (account): %v, want domain %s (%s) and no project", account, w.cloud, w.cloudName)
	}
	var project map[string]any
	value("project", &project)
	if project["id"] != w.folderA || project["domain_id"] != w.cloud || project["enabled"] != true {
		t.Errorf("project data source: %v, want %s in %s, enabled", project, w.folderA, w.cloud)
	}
	var roleID string
	value("role_id", &roleID)
	if roleID != "editor" {
		t.Errorf("role data source: %q, want editor", roleID)
	}
	var user map[string]any
	value("user", &user)
	if user["id"] != w.robot || user["domain_id"] != w.cloud || user["enabled"] != true {
		t.Errorf("user data source: %v, want %s in %s, enabled", user, w.robot, w.cloud)
	}

	// A wrong password: terraform fails with Keystone's 401, the one answer
	// to any credential failure, and neither it nor wardend echoes the
	// password.
	const wrong = "not-the-robot-password"
	out, errOut, err := terraform(t, cli, dir, env, append([]string{"plan", "-no-color", "-var", "password=" + wrong}, vars...)...)
	if err == nil {
		t.Fatalf("terraform plan with a wrong password succeeded:\n%s", out)
	}
	if !strings.Contains(errOut, "got 401") || !strings.Contains(errOut, "The request you have made requires authentication.") {
		t.Errorf("terraform plan with a wrong password: want an authentication failure, got\n%s%s", out, errOut)
	}
	if strings.Contains(out+errOut, wrong) || strings.Contains(n.logs.String(), wrong) {
		t.Errorf("the wrong password is echoed:\n%s%s", out, errOut)
	}
	if strings.Contains(errOut, "panic") || strings.Contains(errOut, "crash") {
		t.Errorf("the provider crashed on a wrong password:\n%s", errOut)
	}

	mustTerraform(t, cli, dir, env, append([]string{"destroy", "-auto-approve", "-no-color", "-var", "password=" + ksPassword}, vars...)...)
	after := mustTerraform(t, cli, dir, env, "output", "-json")
	var left map[string]any
	if err := json.Unmarshal([]byte(after), &left); err != nil || len(left) != 0 {
		t.Errorf("outputs after destroy: %s (%v); want none", after, err)
	}
}
